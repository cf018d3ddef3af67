"""The estate model's operational variables: the release manifest, the package repositories,
the operating-system updates and how long call records are kept (``voipctl.model.schema``
lists them in ``ESTATE_VARS``)."""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from voipctl.model.types import (
    AbsolutePath,
    AptField,
    DeviceVersion,
    ImageFile,
    Name,
    RepoSuite,
    RepoUri,
    Sha512,
    Text,
    Version,
    bounded,
)

_STRICT = ConfigDict(extra="forbid")


@with_config(_STRICT)
class CallRecords(TypedDict):
    """``voip_call_records``: how long the call servers keep their call records."""

    # Days a call record stays on its call server before the daily purge
    # removes it. Absent: 90 (the kamailio role's default).
    retention_days: NotRequired[bounded(1, 3650)]


@with_config(_STRICT)
class SecurityOrigin(TypedDict, total=False):
    """``voip_os_updates.security_origins`` item: a repository whose updates are security updates,
    by the fields of its Release file (each one named must be equal; at least one)."""

    origin: AptField
    label: AptField
    suite: AptField


@with_config(_STRICT)
class OsUpdates(TypedDict):
    """``voip_os_updates``: the Linux hosts' operating-system updates (``playbooks/os_updates.yml``).

    ``security_origins``: the repositories whose updates are security updates (``voipctl
    os-updates --security-only`` applies only those). ``pending_days``: ``voipctl health`` raises a
    finding for a security update a host has waited for longer than this (absent: 7; 0: any).
    """

    security_origins: Annotated[list[SecurityOrigin], Field(min_length=1)]
    pending_days: NotRequired[bounded(0, 365)]


@with_config(_STRICT)
class DeviceImage(TypedDict):
    """``voip_release.device_images`` value: the software a gateway or switch model runs.

    ``image``: the file name on the device's flash, and in the controller's image store
    (``release_device_image_source``) the provisioning server serves it from. ``version``: what
    ``show version`` reports once it runs. ``sha512``: the file's, checked on the controller before
    it is served and on the device before it is booted.
    """

    version: DeviceVersion
    image: ImageFile
    sha512: Sha512


@with_config(_STRICT)
class Release(TypedDict):
    """The release manifest (``playbooks/release.yml`` applies it).

    ``components``: the target version of each Debian package the estate
    pins (kamailio, rtpengine, nginx, voip-routing) and of each phone model's
    firmware (by model name). ``firmware_sites``: the sites whose phones get
    the manifest's firmware; the others keep their model's version (a
    firmware roll-out site by site); absent: every site. ``device_images``:
    the software image each gateway and switch model (``voip_gateway.model``, ``voip_switch.model``)
    runs; ``playbooks/release.yml`` installs it device by device behind a voice health gate.
    """

    version: Version
    name: NotRequired[Text]
    notes: NotRequired[Annotated[str, StringConstraints(min_length=1, max_length=2000)]]
    components: dict[Name, Version]
    firmware_sites: NotRequired[list[Name]]
    device_images: NotRequired[dict[Text, DeviceImage]]


@with_config(_STRICT)
class AptRepository(TypedDict):
    """``voip_apt_repositories`` item: a package repository of the estate (project-built packages).

    ``suite: ./`` is a flat repository (no components). ``signed_by`` is the
    keyring on the host; ``trusted: true`` accepts an unsigned repository
    (the lab's only).
    """

    name: Name
    uri: RepoUri
    suite: RepoSuite
    components: NotRequired[list[Name]]
    signed_by: NotRequired[AbsolutePath]
    trusted: NotRequired[bool]
