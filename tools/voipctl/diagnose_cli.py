"""``voipctl user diagnose ID``: one command for a user's complaint, section by section.

Reads the model's entry of the user, then what the hosts of their site know
(``playbooks/user_diagnose.yml``, read-only: registrations, the journal's
failed authentications and refused registrations, bans, the last week's
calls, the drift of their rows; the provisioning servers' access log of
their phones) and judges it with ``voipctl.diagnose``. Exit code 0 when
nothing is wrong, 1 when a section names a problem.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from voipctl import directory as ops
from voipctl import paths
from voipctl.adapters import inventory, playbook
from voipctl.calls import join
from voipctl.commandline import add_inventory_option
from voipctl.console import err, out
from voipctl.core.activity import effective_class_of_service
from voipctl.core.text import shown
from voipctl.derive.kamailio import voice_networks
from voipctl.derive.phones import PhoneDataError, firmware
from voipctl.diagnose import (
    Section,
    authentication,
    calls_section,
    drift,
    provisioning,
    registration,
)
from voipctl.directory import Directory
from voipctl.errors import VoipctlError

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _user_id(text: str) -> str:
    if not _ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a user id (lower-case letters, digits, . _ -)"
        )
    return text


def register(users: argparse._SubParsersAction) -> None:
    """``voipctl user diagnose`` (under ``voipctl user``)."""
    p = users.add_parser("diagnose", help="what is wrong with a user's phone and calls, section by section")
    p.add_argument("id", type=_user_id)
    add_inventory_option(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_diagnose)


def model_section(user: Mapping[str, Any], today: datetime.date) -> Section:
    section = Section("model")
    section.lines.append(
        f"{user.get('name')} ({user['id']}), site {user['site']}, extension {user['extension']}, "
        f"DID {user.get('did') or 'none'}, class of service today {effective_class_of_service(user, today)}"
    )
    features = user.get("features") or {}
    if features:
        section.lines.append("features: " + json.dumps(features, default=str, sort_keys=True))
    for device in user.get("devices") or []:
        section.lines.append(f"phone {device.get('mac')} ({device.get('model')})")
    if user.get("status", "active") != "active":
        section.problems.append(
            f"a leaver (left {user.get('leave_date', '?')}): no account on the call servers, by design"
        )
    if features.get("dnd"):
        section.problems.append("do not disturb is on: every call to the user gets busy")
    if not user.get("devices"):
        section.problems.append("no phone in the model")
    return section


def _devices(user: Mapping[str, Any], model: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for device in user.get("devices") or []:
        mac = str(device.get("mac", "")).lower().replace(":", "").replace("-", "")
        try:
            version = firmware(str(device.get("model")), model.get("voip_phone_models") or {},
                               model.get("voip_release"), "", user.get("site"))["version"]  # fmt: skip
        except (PhoneDataError, KeyError):
            version = ""
        found.append({"mac": mac, "model": device.get("model"), "firmware": version})
    return found


def gather(
    root: Path, inv_path: Path, hosts: list[str], args: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each host's file of what it knows of the user."""
    with tempfile.TemporaryDirectory(prefix="voip-diagnose-") as tmp:
        extra = Path(tmp) / "args.json"
        extra.write_text(json.dumps({**args, "diagnose_dir": tmp}))
        result = playbook.run(
            root, "playbooks/user_diagnose.yml", inv_path, ["-l", ",".join(["localhost", *hosts]), "-e", f"@{extra}"],
            echo=False,
        )  # fmt: skip
        found = {p.stem: json.loads(p.read_text()) for p in Path(tmp).glob("*.json") if p.name != "args.json"}
    if not found:
        raise VoipctlError(
            f"playbooks/user_diagnose.yml read nothing (exit {result.returncode}): {result.output[-600:]}"
        )
    return found


def sections(user: Mapping[str, Any], model: Mapping[str, Any], found: Mapping[str, Mapping[str, Any]],
             servers: list[str], now: float) -> list[Section]:  # fmt: skip
    """Every section of the diagnosis from the model and what the hosts said."""
    ext = str(user["extension"])
    call_servers = {h: d for h, d in found.items() if d.get("kind") == "call_server"}
    prov = {h: d for h, d in found.items() if d.get("kind") == "provisioning_server"}
    networks = voice_networks(model.get("voip_sites") or {})
    result = [model_section(user, datetime.date.today())]
    unread = [h for h in servers if h not in call_servers]
    reg = registration(call_servers, networks, now)
    if unread:
        reg.problems.append(f"could not read {', '.join(unread)} (unreachable?)")
    result += [reg, authentication(call_servers, ext, networks), provisioning(_devices(user, model), prov)]
    rows = {
        h: (str(model.get("sites_of", {}).get(h, "")), d.get("records") or [])
        for h, d in call_servers.items()
    }
    result.append(calls_section(join(rows), str(user["id"]), ext))
    result.append(drift(f"{h}: {m}" for h, d in sorted(call_servers.items()) for m in d.get("drift") or []))
    return result


def table(user_id: str, found: list[Section]) -> Table:
    view = Table(title=f"diagnosis of {user_id}", title_justify="left", show_lines=True)
    for column in ("section", "", "what the estate says"):
        view.add_column(column)
    for section in found:
        text = Text()
        for problem in section.problems:
            text.append("✘ " + problem + "\n", style="red")
        for line in section.lines:
            text.append(line + "\n")
        text.rstrip()
        view.add_row(
            Text(section.name),
            Text("ok" if section.ok else "problem", style="green" if section.ok else "red"),
            text,
        )
    return view


def cmd_diagnose(args: argparse.Namespace) -> int:
    root = paths.repo_root()
    inv_path = Path(args.inventory).resolve() if args.inventory else root / "inventory" / "lab"
    os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(root / "lab" / "vault-password.lab"))
    directory = Directory(inv_path)
    user = ops.plain(directory.user(args.id))
    model = {name: directory.estate(name) for name in ("voip_sites", "voip_phone_models", "voip_release")}
    inv = inventory.load(inv_path, only=("voip_site",))
    site = user["site"]
    servers = [h for h in inv.hosts_in("call_servers") if inv.hosts[h].get("voip_site") == site]
    hosts = [*servers, *inv.hosts_in("provisioning_servers")]
    model["sites_of"] = {h: inv.hosts[h].get("voip_site") for h in inv.hosts_in("call_servers")}
    devices = _devices(user, model)
    parties = [str(v) for v in (user["id"], user["extension"], user.get("did")) if v]
    err.print(Text(f"diagnose: reading what {', '.join(hosts) or 'no host'} know of {args.id}"))
    found = gather(root, inv_path, hosts, {
        "diagnose_user": user["id"], "diagnose_extension": str(user["extension"]),
        "diagnose_parties": parties, "diagnose_macs": [d["mac"] for d in devices],
    })  # fmt: skip
    result = sections(user, model, found, servers, time.time())
    if args.format == "json":
        out.file.write(
            json.dumps({"user": args.id, "sections": [s.as_dict() for s in result]}, indent=2) + "\n"
        )
    else:
        out.print(table(args.id, result))
    return 0 if all(s.ok for s in result) else 1
