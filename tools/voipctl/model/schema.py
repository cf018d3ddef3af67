"""The estate model: one typed schema per inventory variable.

The schema is written as TypedDicts validated by pydantic: values stay the
plain dicts and lists Ansible hands to roles and filters (no conversion), and
pydantic checks types and formats in its Rust core (100,000 users in well
under a second). Unknown keys are refused everywhere (typos are errors).

Estate-wide variables live in ``group_vars/all``; per-host variables in
``host_vars/<host>`` (or the inventory file). See ``ESTATE_VARS`` and
``HOST_VARS`` for which is which; ``docs`` of each class describe the shape.
"""

from typing import Any, Literal, NotRequired

from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

from voipctl.model.schema_operations import AptRepository, CallRecords, OsUpdates, Release
from voipctl.model.types import (
    E164,
    AbsolutePath,
    BackupStore,
    Clock,
    Date,
    DeviceMac,
    DidRange,
    Digits,
    Email,
    Emergency,
    Extension,
    ExtensionRange,
    ForwardTarget,
    HostAddress,
    HostIP,
    ManagedHost,
    Name,
    Network,
    OutletName,
    PortRange,
    PortRef,
    Realm,
    SipUser,
    Text,
    TimeZone,
    UserId,
    VarName,
    Version,
    Voicemail,
    bounded,
)

CLASSES_OF_SERVICE = ("internal", "national", "international")
VENDORS = ("yealink", "polycom", "cisco", "snom")
# Features a temporary grant may give: a class of service, or a feature the
# call servers apply (voicemail). A grant changes on the hosts what the
# permanent feature changes, from now until its ``until`` day.
GRANTABLE_FEATURES = ("national", "international", "voicemail")
# Once grantable, never applied by any host (no conference bridge, recorder
# or external-forward rule exists in the estate): refused with this reason.
UNAPPLIED_FEATURES = {
    "call_forward_external": "forwards to external numbers are allowed by the class of service alone",
    "conference": "the estate has no conference bridge",
    "recording": "the estate has no call recorder (recording is a CTI right of an application)",
}
CTI_RIGHTS = ("monitor", "call_control", "presence", "cdr_read", "recording")

_STRICT = ConfigDict(extra="forbid")

# Keys the model once accepted that no host ever applied: refused with the
# reason, so that nobody reads them as the estate's behaviour.
RETIRED_KEYS = {
    "feature_codes": "the call servers implement no star codes (self-service DND, forwarding, voicemail "
    "access): a code in the model would be answered 404; remove voip_numbering.feature_codes",
    "outside_prefix": "the call servers take PSTN numbers as dialled (national 0..., international 00...), "
    "with no outside-line prefix; remove voip_numbering.outside_prefix",
}

CoS = Literal["internal", "national", "international"]
Vlan = bounded(1, 4094)


@with_config(_STRICT)
class Site(TypedDict):
    """One site: ``voip_sites: {ams: {...}}``."""

    name: Text
    timezone: TimeZone
    country_code: NotRequired[Digits]
    extensions: ExtensionRange
    dids: DidRange
    emergency: Emergency
    ntp_servers: NotRequired[list[HostIP]]
    voice_vlan: NotRequired[Vlan]
    voice_subnets: NotRequired[list[Network]]
    # The site's trunks, in the order outbound and emergency calls try them
    # (absent: the trunks whose ``site`` is this one, in file order).
    trunks: NotRequired[list[Name]]
    # The site's main number (in its DID range): the caller id towards the
    # PSTN of a user without a DID, and the callback number of their
    # emergency calls. Required when a user of the site has no DID.
    main_number: NotRequired[E164]
    # Premium-rate ranges as dialled at the site ('0900'): the international
    # class of service only; recorded as premium, counted as toll fraud is.
    premium_prefixes: NotRequired[list[Digits]]


@with_config(_STRICT)
class Numbering(TypedDict):
    """The numbering plan: ``voip_numbering``."""

    extension_digits: bounded(2, 8)


@with_config(_STRICT)
class HuntGroup(TypedDict):
    """``voip_hunt_groups`` item; members are users naming it in features.hunt_groups."""

    id: Name
    name: Text
    site: Name
    extension: Extension
    did: NotRequired[E164]
    strategy: Literal["ring_all", "sequential", "round_robin"]
    ring_timeout: NotRequired[bounded(5, 300)]
    overflow: NotRequired[ForwardTarget]


@with_config(_STRICT)
class CallForward(TypedDict):
    unconditional: NotRequired[ForwardTarget]
    busy: NotRequired[ForwardTarget]
    no_answer: NotRequired[ForwardTarget]
    no_answer_timeout: NotRequired[bounded(5, 120)]


@with_config(_STRICT)
class Features(TypedDict):
    voicemail: NotRequired[Voicemail]
    call_forward: NotRequired[CallForward]
    dnd: NotRequired[bool]
    hunt_groups: NotRequired[list[Name]]


@with_config(_STRICT)
class Grant(TypedDict):
    """A temporary feature: ``{feature: international, until: 2026-12-31, reason: ...}``."""

    feature: Name
    until: Date
    reason: Text


@with_config(_STRICT)
class Device(TypedDict):
    mac: DeviceMac
    model: Name
    # The generation of the phone's provisioning login (HTTP password, user
    # the bare MAC): raising it changes that one password (one htpasswd
    # entry, one phone file), nothing else; the user's SIP password has the
    # user's own counter. Absent: 0.
    password_rotation: NotRequired[bounded(0, 1_000_000)]


@with_config(_STRICT)
class User(TypedDict):
    """One ``voip_users`` item (see DESIGN.md section 3)."""

    id: UserId
    name: Text
    email: NotRequired[Email]
    site: Name
    extension: Extension
    did: NotRequired[E164]
    class_of_service: CoS
    features: NotRequired[Features]
    grants: NotRequired[list[Grant]]
    devices: NotRequired[list[Device]]
    status: NotRequired[Literal["active", "leaver"]]
    leave_date: NotRequired[Date]


@with_config(_STRICT)
class PhoneModel(TypedDict):
    """``voip_phone_models: {yealink-t54w: {...}}``."""

    vendor: Literal["yealink", "polycom", "cisco", "snom"]
    family: Name
    line_keys: bounded(1, 64)
    firmware: Version


@with_config(_STRICT)
class Trunk(TypedDict):
    """``voip_trunks`` item. ``credentials_ref`` names a vault variable; never a secret.

    The call servers authenticate towards the carrier as ``username`` (absent:
    the trunk's name) with the password in the vault variable
    ``credentials_ref``: they answer the carrier's digest challenge (401/407)
    to a call once, and with ``register: true`` the call servers of the
    site that uses the trunk register with the carrier (REGISTER to
    ``address``) so that it sends them inbound calls: each member of a pair
    registers the account with its own Contact, so the carrier reaches
    either (validation refuses a trunk the call servers of two sites would
    register). ``realm``: the only digest realm the
    credentials are given to (absent: the realm the carrier's challenge names).
    """

    name: Name
    carrier: Text
    site: Name
    address: HostAddress
    port: NotRequired[bounded(1, 65535)]
    transport: NotRequired[Literal["udp", "tcp", "tls"]]
    credentials_ref: VarName
    username: NotRequired[SipUser]
    realm: NotRequired[Realm]
    register: NotRequired[bool]
    did_ranges: list[DidRange]
    classes_of_service: list[Literal["national", "international"]]
    channels: NotRequired[bounded(1, 10000)]
    # Health checks send the carrier SIP OPTIONS (not every carrier answers them).
    options_ping: NotRequired[bool]


@with_config(_STRICT)
class CtiAccount(TypedDict):
    """``voip_cti_accounts`` item: who (application), from where, which rights."""

    name: Name
    application: Text
    source_networks: list[Network]
    rights: list[Name]
    call_servers: NotRequired[list[Name]]
    sites: NotRequired[list[Name]]
    credentials_ref: NotRequired[VarName]


@with_config(_STRICT)
class Rack(TypedDict):
    site: Name
    room: NotRequired[Text]
    height: bounded(1, 60)


@with_config(_STRICT)
class PatchPanel(TypedDict):
    name: Name
    rack: Name
    unit: bounded(1, 60)
    height: NotRequired[bounded(1, 4)]
    ports: bounded(1, 96)


@with_config(_STRICT)
class PatchConnection(TypedDict):
    """``{a: "ams-r1-pp1:1", b: "sw1:Gi1/0/1"}``: panel or host, a colon, a port."""

    a: Text
    b: Text
    cable: NotRequired[Text]


@with_config(_STRICT)
class WallOutlet(TypedDict):
    """``voip_wall_outlets`` item: a wall socket and the panel port its fixed cable ends on.

    ``{name: ams-1.14, panel: "ams-r2-pp1:14", room: "1.14"}``. The cable
    from the socket to the back of the panel port is part of the building
    and does not change; the patch cord from the front of that port to a
    switch port is a ``voip_patch_connections`` entry. ``site``, when given,
    must be the site of the panel's rack.
    """

    name: OutletName
    panel: PortRef
    site: NotRequired[Name]
    room: NotRequired[Text]
    description: NotRequired[Text]


@with_config(_STRICT)
class Retention(TypedDict):
    daily: bounded(1, 366)
    weekly: NotRequired[bounded(0, 104)]
    monthly: NotRequired[bounded(0, 120)]


@with_config(_STRICT)
class BackupPolicy(TypedDict):
    server: Name
    time: Clock
    retention: Retention
    # site.yml and users.yml first take a point of the hosts they converge
    # (playbooks/backup_before_change.yml).
    before_change: NotRequired[bool]
    # Directory of the backup store on the server (<host>/<UTC stamp>/ below).
    store: NotRequired[BackupStore]
    # Per inventory group: the paths (directories or files) of its hosts to
    # back up, and the sqlite databases to snapshot consistently.
    paths: NotRequired[dict[Name, list[AbsolutePath]]]
    databases: NotRequired[dict[Name, list[AbsolutePath]]]
    # Per inventory group: the services a restore restarts and checks.
    services: NotRequired[dict[Name, list[Text]]]


@with_config(_STRICT)
class DirectoryPolicy(TypedDict):
    """How the user directory is kept (``voipctl user``)."""

    # Days a leaver's entry, and with it their extension and DID, stays in the
    # directory after the leave date before ``voipctl user purge`` removes it:
    # the numbers' quarantine before they can be issued again.
    leaver_grace_days: NotRequired[bounded(0, 3650)]
    # Days a MAC gone from the directory (a leaver's or a replaced phone)
    # keeps its unassigned profile and its provisioning login, counted from
    # the day the provisioning server first found it gone; then both go.
    # Absent: 30 (the provisioning_server role's default).
    retired_device_grace_days: NotRequired[bounded(0, 3650)]


@with_config(_STRICT)
class Threshold(TypedDict):
    """A health threshold: at or beyond ``warning``/``critical`` (below, for the minimum kinds)."""

    warning: float
    critical: float


@with_config(_STRICT)
class HealthThresholds(TypedDict, total=False):
    disk_used_pct: Threshold
    memory_available_pct: Threshold
    load_per_cpu: Threshold
    time_offset_ms: Threshold
    sip_latency_ms: Threshold
    registered_ratio: Threshold
    banned_sources: Threshold
    auth_failure_sources: Threshold
    certificate_days: Threshold
    backup_age_hours: Threshold
    # From the call records of the last hour (voipctl.health_traffic).
    trunk_asr: Threshold
    poor_mos_share: Threshold
    international_calls_per_hour: Threshold
    after_hours_international_calls: Threshold


@with_config(_STRICT)
class WorkingHours(TypedDict):
    """The working day in each site's own time zone: international calls outside it are suspicious."""

    start: Clock
    end: Clock
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]


@with_config(_STRICT)
class HealthPolicy(TypedDict):
    """``voip_health_policy``: what ``voipctl health`` checks and its thresholds (defaults in voipctl.health)."""

    services: NotRequired[dict[Name, list[Name]]]
    thresholds: NotRequired[HealthThresholds]
    # Absent: 07:00-19:00, Monday to Friday.
    working_hours: NotRequired[WorkingHours]


# --- per-host variables ---------------------------------------------------


@with_config(_STRICT)
class RackPlacement(TypedDict):
    """``voip_rack: {rack: ams-r1, unit: 10, height: 2}``: units 10 and 11."""

    rack: Name
    unit: bounded(1, 60)
    height: NotRequired[bounded(1, 10)]


@with_config(_STRICT)
class ReleaseTestCall(TypedDict):
    """Two users of the call server's site the release health gate calls between.

    Keep them for tests: their bindings live only for the call, but a real
    phone registered to the callee would ring too.
    """

    caller: UserId
    callee: UserId


@with_config(_STRICT)
class CallServer(TypedDict):
    """``voip_call_server`` of a host in call_servers.

    A site's call servers are the hosts of call_servers with its
    ``voip_site``, by host name: the first is the phones' primary proxy,
    the others its backups. They must share ``sip_domain`` (the realm of
    the users' HA1 digests and the phones' domain, byte for byte) and
    ``sip_port``; ``rtp_ports`` and ``test_call`` are each host's own. Two
    sites never share a domain (compared case-blind).
    """

    sip_domain: HostAddress
    sip_port: NotRequired[bounded(1, 65535)]
    rtp_ports: NotRequired[PortRange]
    test_call: NotRequired[ReleaseTestCall]


@with_config(_STRICT)
class PriSpan(TypedDict):
    port: Text
    switchtype: Literal["primary-net5", "primary-qsig", "primary-ni", "primary-5ess", "primary-4ess"]
    channels: bounded(1, 31)
    clock_source: NotRequired[Literal["line", "internal"]]
    did_ranges: NotRequired[list[DidRange]]


@with_config(_STRICT)
class FxsPort(TypedDict):
    port: Text
    extension: Extension
    description: NotRequired[Text]


@with_config(_STRICT)
class FxoPort(TypedDict):
    port: Text
    number: NotRequired[E164]
    route_to: ForwardTarget


@with_config(_STRICT)
class Gateway(TypedDict):
    model: NotRequired[Text]
    pri_spans: NotRequired[list[PriSpan]]
    fxs_ports: NotRequired[list[FxsPort]]
    fxo_ports: NotRequired[list[FxoPort]]


@with_config(_STRICT)
class SwitchPort(TypedDict):
    name: Text
    description: NotRequired[Text]
    phone_mac: NotRequired[DeviceMac]
    poe: NotRequired[bool]


@with_config(_STRICT)
class AccessSwitch(TypedDict):
    model: NotRequired[Text]
    voice_vlan: Vlan
    data_vlan: NotRequired[Vlan]
    ports: list[SwitchPort]


# Variable name -> schema. Estate-wide ones must come from group_vars/all.
ESTATE_VARS: dict[str, Any] = {
    "voip_sites": dict[Name, Site],
    "voip_numbering": Numbering,
    "voip_hunt_groups": list[HuntGroup],
    "voip_users": list[User],
    "voip_phone_models": dict[Name, PhoneModel],
    "voip_trunks": list[Trunk],
    "voip_cti_accounts": list[CtiAccount],
    "voip_racks": dict[Name, Rack],
    "voip_patch_panels": list[PatchPanel],
    "voip_patch_connections": list[PatchConnection],
    "voip_wall_outlets": list[WallOutlet],
    "voip_backup_policy": BackupPolicy,
    "voip_release": Release,
    "voip_apt_repositories": list[AptRepository],
    "voip_health_policy": HealthPolicy,
    "voip_directory_policy": DirectoryPolicy,
    "voip_call_records": CallRecords,
    "voip_os_updates": OsUpdates,
}
HOST_VARS: dict[str, Any] = {
    "voip_site": Name,
    "ansible_host": ManagedHost,
    "voip_rack": RackPlacement,
    "voip_call_server": CallServer,
    "voip_gateway": Gateway,
    "voip_switch": AccessSwitch,
}
# Item schemas of list/dict variables, to validate item by item after a failure.
ITEMS: dict[str, Any] = {
    name: schema.__args__[-1] for name, schema in ESTATE_VARS.items() if hasattr(schema, "__args__")
}

_ADAPTERS: dict[Any, TypeAdapter] = {}


def adapter(schema: Any) -> TypeAdapter:
    """A cached pydantic TypeAdapter for ``schema``."""
    found = _ADAPTERS.get(schema)
    if found is None:
        found = _ADAPTERS[schema] = TypeAdapter(schema)
    return found


# --- fields for people ------------------------------------------------------

# Fields that describe the estate for people (the docs, `voipctl user show`,
# the changelog) and deliberately change nothing on a host: field path (see
# voipctl.model.contract) -> why. Every other field is applied by a host
# (voipctl.model.contract.CONSUMERS) or pending (contract.PENDING);
# tests/unit/test_model_contract.py holds the schema to that.
_RACK_DOC = "physical placement, drawn in the docs' rack elevations: nothing on a host depends on it"
_PATCH_DOC = "physical cabling, shown in the docs' patching pages: no device configuration comes from it"
DOCUMENTATION_ONLY: dict[str, str] = {
    "voip_numbering.extension_digits": "a rule the model's own extension ranges must follow (validation "
    "refuses others); the call servers route by the sites' ranges, which it constrains",
    "voip_phone_models.*.family": "the model's product family for people (docs: phone firmware); a phone's "
    "files are chosen by its vendor and model",
    "voip_sites.*.name": "the site's name for people (docs); hosts and files use the site's key",
    "voip_hunt_groups[].name": "the group's name for people (docs, directory); calls reach it by extension "
    "and DID",
    "voip_users[].email": "the user's contact address in the directory (`voipctl user show`, HR sync); "
    "no host sends mail to it (voicemail to e-mail has its own address, features.voicemail)",
    "voip_users[].grants[].reason": "why the grant was given: the audit trail (`voipctl user show`, "
    "changelog)",
    "voip_trunks[].carrier": "the carrier's name for people (docs); calls go by the trunk's address, port "
    "and transport",
    "voip_cti_accounts[].application": "the application behind the account, for people (docs); access "
    "goes by the account's name, source networks and rights",
    "voip_racks.*.site": _RACK_DOC,
    "voip_racks.*.room": _RACK_DOC,
    "voip_racks.*.height": _RACK_DOC,
    "voip_patch_panels[].name": _PATCH_DOC,
    "voip_patch_panels[].rack": _PATCH_DOC,
    "voip_patch_panels[].unit": _PATCH_DOC,
    "voip_patch_panels[].height": _PATCH_DOC,
    "voip_patch_panels[].ports": _PATCH_DOC,
    "voip_patch_connections[].a": _PATCH_DOC,
    "voip_patch_connections[].b": _PATCH_DOC,
    "voip_patch_connections[].cable": "the cable's label, for the people patching: " + _PATCH_DOC,
    "voip_wall_outlets[].name": _PATCH_DOC,
    "voip_wall_outlets[].panel": _PATCH_DOC,
    "voip_wall_outlets[].site": _PATCH_DOC,
    "voip_wall_outlets[].room": _PATCH_DOC,
    "voip_wall_outlets[].description": _PATCH_DOC,
    "voip_release.version": "names the release in the run records (`voipctl release status`), docs and "
    "changelog; hosts get the components' versions",
    "voip_release.name": "the release's name in the run records, docs and changelog",
    "voip_release.notes": "the release notes, for people (docs)",
    "voip_apt_repositories[].name": "names the repository for people and messages; the sources file a host "
    "gets has no names (deb822 stanzas)",
    "voip_rack.rack": _RACK_DOC,
    "voip_rack.unit": _RACK_DOC,
    "voip_rack.height": _RACK_DOC,
}
