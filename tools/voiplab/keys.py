"""The lab's SSH keys (controller key, pinned host keys) and its TLS certificates (lab CA)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from voipctl.errors import LabError
from voiplab import labcerts
from voiplab.topology import Lab


def ensure_keys(lab: Lab) -> None:
    """Controller key and per-host SSH host keys (generated once), and a pinned known_hosts.

    Every host that answers SSH gets a host key: the Linux hosts' sshd and the
    network device simulators (``--host-key``) read it from the same mount, so
    a recreated container presents the key the known_hosts file pins.
    """
    if shutil.which("ssh-keygen") is None:
        raise LabError("ssh-keygen is not installed", hint="apt-get install openssh-client")
    lab.ssh_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(lab.ssh_dir, 0o700)
    _keygen(lab.ssh_dir / "id_ed25519", "voiplab-controller")
    lines = []
    for host in lab.hosts:
        if not host.ssh:
            continue
        key = lab.ssh_dir / "hosts" / host.name / "ssh_host_ed25519_key"
        key.parent.mkdir(parents=True, exist_ok=True)
        _keygen(key, f"root@{host.name}")
        kind, blob = key.with_suffix(".pub").read_text().split()[:2]
        lines.append(f"{host.name},{host.address} {kind} {blob}")
    text = "\n".join(lines) + "\n"
    known_hosts = lab.ssh_dir / "known_hosts"
    if not known_hosts.is_file() or known_hosts.read_text() != text:
        tmp = known_hosts.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, known_hosts)


def _keygen(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.unlink(missing_ok=True)
    result = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise LabError(f"ssh-keygen for {path} failed: {result.stderr.strip()}")


def ensure_certificates(lab: Lab) -> list[tuple[str, str]]:
    """The lab CA (always: the lab's call servers trust it) and each TLS peer's certificate."""
    certs = lab.state_dir / "certs"
    labcerts.ensure_ca(certs)
    rows = []
    for host in lab.hosts:
        if host.certificate and labcerts.ensure_peer_certificate(certs, host.name, host.address):
            rows.append((f"certificate of {host.name}", "issued by the lab CA"))
    return rows
