"""Operating-system updates for the lab: newer builds of Debian packages the lab's hosts run.

TEST INFRASTRUCTURE. A good update is Debian's own package, fetched by a
lab host from Debian at the version it runs, rebuilt with a newer version
(``+voiplabN``) and a maintainer script that asks for a reboot, as a kernel
or C library update does. A breaking update is a newer build of a shared
library a service loads, without the library: the service no longer starts.
Both are published in the lab repository's security suite
(``voiplab.aptrepo.publish_security``) and withdrawn afterwards.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from pathlib import Path

REBOOT_POSTINST = """#!/bin/sh
set -e
# voip-estate lab build: ask for a reboot, as Debian's kernel packages do.
touch /run/reboot-required
echo "$DPKG_MAINTSCRIPT_PACKAGE" >> /run/reboot-required.pkgs
"""


def installed(podman_exec, host: str, package: str) -> str:
    done = podman_exec(host, "dpkg-query", "-W", "-f", "${Version}", package, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def newer_version(version: str) -> str:
    """A version newer than ``version`` (and than every earlier lab build of it)."""
    return f"{debian_version(version)}+voiplab{int(time.time())}"


def debian_version(version: str) -> str:
    """``version`` without an earlier lab build's suffix: the version Debian publishes."""
    return re.sub(r"\+voiplab\d+$", "", version)


def fetch(podman_exec, host: str, package: str, version: str, dest: Path) -> Path:
    """Debian's own ``package`` at ``version``, downloaded by lab host ``host``, into ``dest``."""
    work = "/var/tmp/voiplab-fetch"
    podman_exec(host, "sh", "-c", f"rm -rf {work} && mkdir -p {work}")
    podman_exec(host, "sh", "-c", f"cd {work} && apt-get download -q {package}={version}")
    name = podman_exec(host, "sh", "-c", f"ls {work}/*.deb").stdout.strip()
    data = base64.b64decode(podman_exec(host, "base64", "-w0", name).stdout)
    podman_exec(host, "rm", "-rf", work)
    path = dest / Path(name).name
    path.write_bytes(data)
    return path


def rebuild(original: Path, version: str, out: Path, postinst: str = "") -> Path:
    """``original`` with ``version`` (and ``postinst`` run before its own, if any)."""
    root = out / f"{original.stem}-root"
    subprocess.run(["dpkg-deb", "-R", str(original), str(root)], check=True)
    control = root / "DEBIAN" / "control"
    text = control.read_text()
    old = re.search(r"(?m)^Version: (.*)$", text).group(1)
    # Its source's other packages at exactly its version move with it (sqlite3 with libsqlite3-0).
    text = text.replace(f"(= {old})", f"(= {version})")
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", text))
    if postinst:
        script = root / "DEBIAN" / "postinst"
        body = script.read_text() if script.exists() else ""
        script.write_text(postinst + ("\n" + body.split("\n", 1)[1] if body.startswith("#!") else body))
        script.chmod(0o755)
    return _build(root, out)


def without_files(package: str, version: str, arch: str, source: str, out: Path) -> Path:
    """A build of library ``package`` at ``version`` that ships no library (the breaking update)."""
    root = out / f"{package}-broken"
    doc = root / "usr" / "share" / "doc" / package
    doc.mkdir(parents=True)
    (doc / "README.voiplab").write_text("voip-estate lab: a broken build, its library is missing.\n")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nSource: {source}\nVersion: {version}\nArchitecture: {arch}\n"
        "Multi-Arch: same\nMaintainer: voip-estate <voip-estate@lab.invalid>\nSection: libs\n"
        "Priority: optional\nDescription: voip-estate lab: a broken build of a library\n"
    )
    return _build(root, out)


def _build(root: Path, out: Path) -> Path:
    fields = dict(
        line.split(": ", 1) for line in (root / "DEBIAN" / "control").read_text().splitlines() if ": " in line
    )
    deb = out / f"{fields['Package']}_{fields['Version']}_{fields['Architecture']}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)], check=True,
                   capture_output=True)  # fmt: skip
    return deb
