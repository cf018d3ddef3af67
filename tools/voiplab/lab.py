"""The lab: the estate of inventory/lab as podman containers on this machine.

The topology is read from the lab inventory (``voiplab.topology``), so
`voipctl lab`, molecule and the end-to-end tests share one definition. Every
operation is idempotent: ``up`` creates what is missing, starts what is
stopped, recreates what is outdated and leaves the rest alone; ``down``
removes every lab container and the lab network. The steps live beside
this module: keys and certificates (``voiplab.keys``), the network and the
containers (``voiplab.containers``), readiness and status
(``voiplab.readiness``); the commands in ``voiplab.cli``.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from voipctl.console import err
from voipctl.core.stamps import stamp_us
from voiplab import aptrepo, containers, deviceimages, images, keys, readiness
from voiplab.podman import Podman
from voiplab.topology import Lab, LabHost

# Converge outputs kept under <state dir>/runs.
RUN_LOGS = 20
# The lab state subdirectory that holds the built package repository.
APT_VOLUME = "apt"


def up(lab: Lab, podman: Podman, fresh: bool = False, only: list[str] | None = None) -> list[tuple[str, str]]:
    """Create or repair the whole lab, or the hosts named in ``only``; return (object, action) rows.

    With ``fresh`` every host's container (of ``only``: those) is recreated
    from its image (images and network are kept), so that a converge starts
    from bare hosts. Keys and known_hosts always cover every host.
    """
    rows: list[tuple[str, str]] = []
    recipes = images.load_recipes(lab.root / "lab" / "images")
    chosen = lab.hosts if only is None else [lab.host(name) for name in only]
    wanted = {h.image for h in chosen}
    image_ids = images.ensure_images(podman, recipes, wanted, lab.build_dir, lambda m: err.print(f"  {m}"))
    keys.ensure_keys(lab)
    rows += keys.ensure_certificates(lab)
    if any(source == APT_VOLUME for host in lab.hosts for source, _ in host.volumes):
        # The packages the repository peer serves (built only when their recipes changed).
        rows.append(
            ("apt repository", aptrepo.build(lab.root / "lab" / "packages", lab.state_dir / APT_VOLUME))
        )
    # The images the release manifest names for the gateway and the switch (release_device serves them).
    rows.append(("device images", deviceimages.ensure(lab.root, lab.state_dir)))
    rows.append((f"network {lab.network_name}", containers.ensure_network(podman, lab)))
    existing = _kept_containers(lab, podman, chosen, only is not None, fresh, rows)
    for host in chosen:
        ref = recipes[host.image].ref
        action = _ensure_host(lab, podman, host, ref, image_ids[host.image], existing.get(host.name))
        rows.append((host.container(lab.prefix), action))
    _, silent = readiness.poll_ready(chosen, readiness.READY_TIMEOUT / 2)
    if silent:
        rows += _recreate_silent(lab, podman, silent, recipes, image_ids)
    return rows


def _kept_containers(
    lab: Lab, podman: Podman, chosen: list[LabHost], only: bool, fresh: bool, rows: list[tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """The lab containers ``up`` keeps, by host (only the ``chosen`` hosts' with ``only``; none with ``fresh``).

    Removes those of ``fresh`` and those of hosts no longer in the inventory (a row each in ``rows``).
    """
    existing = containers.lab_containers(podman)
    if only:
        existing = {name: c for name, c in existing.items() if name in {h.name for h in chosen}}
    if fresh:
        for name, container in sorted(existing.items()):
            podman.run(["rm", "-f", "-t", "5", container.get("Names", [name])[0]], what=f"removing {name}")
        existing = {}
    for name in sorted(set(existing) - {h.name for h in lab.hosts}):
        cname = existing[name].get("Names", [name])[0]
        podman.run(["rm", "-f", "-t", "5", cname], what=f"removing container {cname}")
        rows.append((cname, "removed (no longer in the inventory)"))
    return existing


def _ensure_host(
    lab: Lab, podman: Podman, host: LabHost, ref: str, image_id: str, existing: dict[str, Any] | None
) -> str:
    """Bring one host's container up (a dead peer recreated) with its administrator; return what was done."""
    action = containers.ensure_container(podman, lab, host, ref, image_id, existing)
    if (
        action == "running"
        and not host.ssh
        and not containers.answers_exec(podman, host.container(lab.prefix))
    ):
        # Reported running, processes gone (after a reboot of this machine): a peer
        # has no SSH to poll, so it is asked to run a command instead.
        podman.run(["rm", "-f", "-t", "5", host.container(lab.prefix)], what=f"removing dead {host.name}")
        containers.ensure_container(podman, lab, host, ref, image_id, None)
        action = "recreated (reported running, but no process answered)"
    if host.systemd:
        # Every time (the script is idempotent): a container whose first
        # attempt failed gets its administrator on the next `lab up`.
        containers.bootstrap_login(podman, lab, host)
    return action


def _recreate_silent(
    lab: Lab, podman: Podman, silent: list[str], recipes: dict[str, Any], image_ids: dict[str, str]
) -> list[tuple[str, str]]:
    """Recreate once the hosts that gave no SSH answer, then wait until they answer; return the rows."""
    rows = []
    # Podman can report a container as running whose processes are gone
    # (seen here after an image build): recreate those once.
    for host in (lab.host(name) for name in silent):
        cname = host.container(lab.prefix)
        podman.run(["rm", "-f", "-t", "5", cname], what=f"removing unresponsive container {cname}")
        containers.ensure_container(podman, lab, host, recipes[host.image].ref, image_ids[host.image], None)
        if host.systemd:
            containers.bootstrap_login(podman, lab, host)
        rows.append((cname, "recreated (no SSH answer although it was reported running)"))
    readiness.wait_ready(lab, hosts=[lab.host(name) for name in silent])
    return rows


def down(lab: Lab, podman: Podman, remove_images: bool = False) -> list[tuple[str, str]]:
    """Remove every lab container and the lab network (and the lab images); return (object, action) rows."""
    rows = []
    for name, container in sorted(containers.lab_containers(podman).items()):
        cname = container.get("Names", [name])[0]
        podman.run(["rm", "-f", "-t", "5", cname], what=f"removing container {cname}")
        rows.append((cname, "removed"))
    if podman.network(lab.network_name) is not None:
        podman.run(["network", "rm", "-f", lab.network_name], what=f"removing network {lab.network_name}")
        rows.append((f"network {lab.network_name}", "removed"))
    if remove_images:
        for recipe in images.load_recipes(lab.root / "lab" / "images").values():
            if podman.image_id(recipe.ref):
                podman.run(["rmi", "-f", recipe.ref], what=f"removing image {recipe.ref}")
                rows.append((recipe.ref, "removed"))
    return rows


def ansible_environment(root: Path, **extra: str) -> dict[str, str]:
    """Environment for running Ansible against the lab from another checkout or a copy of its inventory.

    The repository's ansible.cfg and venv, no colours, the lab's state
    directory (SSH keys) even for an inventory copied elsewhere, the lab's
    vault password unless one is set; ``extra`` on top.
    """
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(root / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        CONTAINERS_CONF=str(root / "lab" / "containers.conf"),
        VOIPLAB_STATE_DIR=str(root / ".lab"),
        PATH=f"{root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    env.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    env.update(extra)
    return env


def keep_run_log(
    directory: Path, started: datetime, playbook_path: str, output: str, keep: int = RUN_LOGS
) -> Path:
    """Store a run's output as ``<UTC start>-<playbook>.log``; keep the newest ``keep`` logs.

    The end-to-end tests scan these logs for secrets (none may appear).
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{stamp_us(started)}-{Path(playbook_path).stem}.log"
    path = directory / name
    path.write_text(output)
    path.chmod(0o600)
    for old in sorted(directory.glob("*.log"))[:-keep]:
        old.unlink()
    return path
