"""Validate an estate: formats (schema), uniqueness, references and policy.

``validate(source)`` loads the inventory (fast loader), checks every model
variable against its schema, then runs the cross checks in one pass over each
collection with dict/set lookups (O(n) in the number of users). Every finding
names the file, the key path and, where possible, the line. Nothing here
raises on bad data: it all becomes findings.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime
import gc
import ipaddress
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from voipctl.core.activity import COS_RANK, effective_class_of_service
from voipctl.model import loader as fastloader
from voipctl.model.loader import LoadedInventory, Origin, Var
from voipctl.model.problems import ERROR, Problem, Reporter, render_path
from voipctl.model.schema import (
    CTI_RIGHTS,
    ESTATE_VARS,
    GRANTABLE_FEATURES,
    HOST_VARS,
    ITEMS,
    RETIRED_KEYS,
    UNAPPLIED_FEATURES,
    adapter,
)
from voipctl.model.toplevel import (
    missing_directory,
    model_in_inventory_files,
    overridden_derivations,
    unknown_variables,
)
from voipctl.model.types import PATTERNS, did_number, normalise_mac, parse_range, shown
from voipctl.model.yamlfile import VaultValue

_GRANTABLE = frozenset(GRANTABLE_FEATURES)
FORWARD_KINDS = ("unconditional", "busy", "no_answer")
# The widest prefix a CTI account's source networks may span, alone or together, per IP version.
CTI_WIDEST = {4: 8, 6: 32}
# A ring_all group forks to every device of every member at once: a call
# server forks to 30 at most (Kamailio's max_branches). Sequential and round
# robin groups ring one member after the other within the call's ring time.
RING_ALL_DEVICES_AT_MOST = 30
HUNT_MEMBERS_AT_MOST = {"sequential": 50, "round_robin": 50}
CALL_SERVERS, GATEWAYS, SWITCHES, BACKUP_SERVERS = (
    "call_servers",
    "gateways",
    "access_switches",
    "backup_servers",
)


@dataclass
class Result:
    """Findings, plus the validated estate-wide variables (invalid list items are None).

    ``hosts``: each host's validated model variables (``voip_site``,
    ``voip_rack``, ...); ``groups``: each host's groups (ancestors included).
    """

    problems: list[Problem]
    estate: dict[str, Any] = field(default_factory=dict)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != ERROR]


def validate(source: Path, today: datetime.date | None = None) -> Result:
    """Validate the inventory at ``source`` as of ``today`` (default: the current date)."""
    # Loading builds millions of small objects and no cycles: the cyclic
    # collector would only rescan them again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return check(fastloader.load(Path(source)), today)
    finally:
        if enabled:
            gc.enable()


def check(inv: LoadedInventory, today: datetime.date | None = None) -> Result:
    """Validate an inventory already read by ``voipctl.model.loader.load``."""
    return _Checker(inv, today or datetime.date.today()).run()


def pydantic_message(error: dict[str, Any]) -> str:
    """Word one pydantic error for an operator (value named, cut short, no pydantic jargon)."""
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"missing required key '{error['loc'][-1]}'"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        if key in RETIRED_KEYS:
            return f"{key} is no longer part of the model: {RETIRED_KEYS[key]}"
        return f"unknown key {shown(key)}"
    if kind == "string_pattern_mismatch":
        wanted = PATTERNS.get(ctx.get("pattern", ""), f"matching {ctx.get('pattern')}")
        return f"{shown(value)} is not {wanted}"
    if kind == "literal_error":
        return f"{shown(value)} is not one of {ctx.get('expected')}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_type" and isinstance(value, (int, float)):
        return f"{shown(value)} is not a string: quote it"
    if kind in _WANTED:
        return f"{shown(value)} is not {_WANTED[kind]}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"{shown(value)} is too long (at most {ctx.get('max_length')} characters)"
    return f"{error['msg']} (got {shown(value)})"


_WANTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
}


def _loc(error: dict[str, Any]) -> tuple:
    # pydantic adds '[key]' markers for dict keys/values; keep only real keys.
    return tuple(part for part in error["loc"] if part not in ("[key]",))


class _Checker:
    def __init__(self, inv: LoadedInventory, today: datetime.date):
        self.inv = inv
        self.today = today
        self.rep = Reporter(inv.root)
        self.estate: dict[str, Any] = {}
        self.origins: dict[str, Origin] = {}
        self.hosts: dict[str, dict[str, Any]] = {}
        self.host_origins: dict[str, dict[str, Origin]] = {}
        # number -> (description, origin, sub) for every dialable extension
        self.extensions: dict[int, tuple[str, Origin, tuple]] = {}
        self.dids: dict[int, tuple[str, Origin, tuple]] = {}
        self.leaver_extensions: dict[int, str] = {}
        self.user_by_ext: dict[int, dict[str, Any]] = {}
        self.device_macs: dict[str, str] = {}
        # Numbers and MACs of entries that failed their schema: references to
        # them are not reported again (the entry's own error says it all).
        self.uncertain: set[Any] = set()

    # -- plumbing ----------------------------------------------------------

    def run(self) -> Result:
        for file, line, message, path in self.inv.file_errors:
            self.rep.file_error(file, line, message, path)
        if self.inv.file_errors:
            # A file that could not be read leaves its variables out: every
            # cross check would report what is only missing. Its error alone.
            return Result(self.rep.problems(), {}, {}, {})
        self._load_estate()
        self._check_top_level()
        self._load_hosts()
        self._check_sites()
        self._check_numbering()
        self._check_racks_and_patching()
        self._check_hunt_groups_numbers()
        self._check_users()
        self._check_host_models()
        self._check_forward_targets()
        self._check_forward_loops()
        self._check_hunt_group_members()
        self._check_trunks()
        self._check_site_pstn()
        self._check_did_coverage()
        self._check_cti()
        self._check_backup()
        self._check_release()
        self._check_call_server_coverage()
        groups = {host: self.inv.all_groups_of(host) for host in self.inv.hosts}
        return Result(self.rep.problems(), self.estate, self.hosts, groups)

    def err(self, var: str, sub: tuple, message: str) -> None:
        self.rep.error(self.origins[var], sub, message)

    def warn(self, var: str, sub: tuple, message: str) -> None:
        self.rep.warning(self.origins[var], sub, message)

    def host_err(self, host: str, var: str, sub: tuple, message: str) -> None:
        self.rep.error(self.host_origins[host][var], sub, message)

    def _validate(self, schema: Any, item_schema: Any, var: Var) -> Any:
        """Schema-check one variable; report errors; return the value with bad items None/dropped."""
        value = var.value
        try:
            return adapter(schema).validate_python(value)
        except ValidationError as exc:
            for error in exc.errors():
                self.rep.error(var.origin, _loc(error), pydantic_message(error))
        container = getattr(schema, "__origin__", None)
        if item_schema is None or not isinstance(value, container or ()):
            return None
        # Keep the valid items so the cross checks still run on them.
        item = adapter(item_schema)
        if isinstance(value, list):
            kept: list[Any] = []
            for entry in value:
                try:
                    kept.append(item.validate_python(entry))
                except ValidationError:
                    kept.append(None)
            return kept
        if isinstance(value, dict):
            result = {}
            for key, entry in value.items():
                with contextlib.suppress(ValidationError):
                    result[key] = item.validate_python(entry)
            return result
        return None

    def _load_estate(self) -> None:
        all_vars = self.inv.all_vars()
        for name, schema in ESTATE_VARS.items():
            var = all_vars.get(name)
            if var is None:
                continue
            self.origins[name] = var.origin
            self.estate[name] = self._validate(schema, ITEMS.get(name), var)
        if "voip_sites" not in all_vars:
            self.rep.error(
                Origin("group_vars/all"), (), "voip_sites is not defined: every estate needs its sites"
            )
        # Estate-wide variables must not differ per host.
        for host in self.inv.hosts:
            for name, var in self.inv.host_vars(host).items():
                if name in ESTATE_VARS and name in all_vars and var.origin != all_vars[name].origin:
                    self.rep.error(
                        var.origin,
                        (),
                        f"{name} is estate-wide: define it only in group_vars/all (this overrides it for {host})",
                    )
                elif name in ESTATE_VARS and name not in all_vars:
                    self.rep.error(var.origin, (), f"{name} is estate-wide: define it in group_vars/all")

    def _check_top_level(self) -> None:
        """Every variable is read by someone; the estate has its user directory (voipctl.model.toplevel)."""
        inv = self.inv
        for origin, message in (
            *unknown_variables(inv),
            *model_in_inventory_files(inv),
            *overridden_derivations(inv),
        ):
            self.rep.error(origin, (), message)
        missing = missing_directory(self.inv, self.inv.all_vars())
        if missing:
            self.rep.error(self.origins.get("voip_users", Origin("group_vars/all")), (), missing)

    def _load_hosts(self) -> None:
        for host in self.inv.hosts:
            merged = self.inv.host_vars(host)
            values: dict[str, Any] = {}
            origins: dict[str, Origin] = {}
            for name, schema in HOST_VARS.items():
                var = merged.get(name)
                if var is None:
                    continue
                origins[name] = var.origin
                values[name] = self._validate(schema, None, var)
            self.hosts[host] = values
            self.host_origins[host] = origins
            self.host_origins[host]["@host"] = self.inv.host_origins.get(host, Origin("hosts.yml"))

    def get(self, name: str, default: Any) -> Any:
        value = self.estate.get(name)
        return default if value is None else value

    # -- sites and numbering -----------------------------------------------

    def _check_sites(self) -> None:
        sites = self.get("voip_sites", {})
        self.ext_ranges = {n: parse_range(s["extensions"], e164=False) for n, s in sites.items()}
        self.did_ranges = {n: parse_range(s["dids"], e164=True) for n, s in sites.items()}
        _overlaps(self, "voip_sites", self.ext_ranges, "extensions", "extension range")
        _overlaps(self, "voip_sites", self.did_ranges, "dids", "DID range")
        subnets: list[tuple[Any, str, int]] = []
        trunk_names = {t["name"] for t in self.get("voip_trunks", []) if t}
        for name, site in sites.items():
            code = site.get("country_code")
            if code and not site["dids"].startswith("+" + code):
                self.err(
                    "voip_sites", (name, "dids"), f"{shown(site['dids'])} is not in country code +{code}"
                )
            for i, number in enumerate(site["emergency"]):
                for other, (olo, ohi) in self.ext_ranges.items():
                    if olo <= int(number) <= ohi and len(number) == len(str(olo)):
                        self.err(
                            "voip_sites",
                            (name, "emergency", i)
                            if isinstance(site["emergency"], list)
                            else (name, "emergency"),
                            f"emergency number {number} lies in site {other}'s extension range",
                        )
            if not site.get("voice_subnets"):
                self.err(
                    "voip_sites",
                    (name,),
                    "no voice_subnets: the call servers take registrations only from the voice networks, "
                    "so this site's phones could register from nowhere",
                )
            for i, net in enumerate(site.get("voice_subnets", [])):
                subnets.append((ipaddress.ip_network(net), name, i))
            for i, trunk in enumerate(site.get("trunks", [])):
                if trunk not in trunk_names:
                    self.err("voip_sites", (name, "trunks", i), f"unknown trunk {shown(trunk)}")
                elif trunk in site["trunks"][:i]:
                    self.err("voip_sites", (name, "trunks", i), f"trunk {shown(trunk)} is listed twice")
        subnets.sort(key=lambda s: (s[0].version, s[0].network_address))
        for (a, site_a, _ia), (b, site_b, ib) in itertools.pairwise(subnets):
            if a.version == b.version and a.overlaps(b):
                self.err(
                    "voip_sites",
                    (site_b, "voice_subnets", ib),
                    f"voice subnet {b} overlaps {a} of site {site_a}",
                )

    def _check_numbering(self) -> None:
        plan = self.estate.get("voip_numbering")
        if not plan:
            return
        digits = plan["extension_digits"]
        for name, (lo, hi) in self.ext_ranges.items():
            if len(str(lo)) != digits or len(str(hi)) != digits:
                self.err(
                    "voip_sites",
                    (name, "extensions"),
                    f"extensions must have {digits} digits (voip_numbering.extension_digits)",
                )

    # -- numbers: users, hunt groups, FXS ports -----------------------------

    def _claim_extension(self, number: int, what: str, origin: Origin, sub: tuple) -> None:
        first = self.extensions.get(number)
        if first is not None:
            self.rep.error(origin, sub, f"extension {number} is already used by {first[0]}")
        else:
            self.extensions[number] = (what, origin, sub)

    def _claim_did(self, did: str, what: str, origin: Origin, sub: tuple) -> None:
        number = did_number(did)
        first = self.dids.get(number)
        if first is not None:
            self.rep.error(origin, sub, f"DID {did} is already used by {first[0]}")
        else:
            self.dids[number] = (what, origin, sub)

    def _in_site(self, origin: Origin, sub: tuple, site: str, extension: int | None, did: str | None) -> None:
        if site not in self.ext_ranges:
            return
        lo, hi = self.ext_ranges[site]
        if extension is not None and not lo <= extension <= hi:
            self.rep.error(
                origin, (*sub, "extension"), f"extension {extension} is outside site {site}'s range {lo}-{hi}"
            )
        if did is not None:
            dlo, dhi = self.did_ranges[site]
            if not dlo <= did_number(did) <= dhi:
                self.rep.error(
                    origin,
                    (*sub, "did"),
                    f"DID {did} is outside site {site}'s range {self.get('voip_sites', {})[site]['dids']}",
                )

    def _site_ref(self, origin: Origin, sub: tuple, site: str) -> bool:
        if site in self.ext_ranges:
            return True
        known = ", ".join(sorted(self.ext_ranges)) or "none defined"
        self.rep.error(origin, sub, f"unknown site {shown(site)} (sites: {known})")
        return False

    def _check_hunt_groups_numbers(self) -> None:
        self.hunt_groups: dict[str, dict[str, Any]] = {}
        self.hunt_members: dict[str, int] = {}
        self.hunt_devices: dict[str, int] = {}  # devices of the active members
        if "voip_hunt_groups" not in self.origins:
            return
        origin = self.origins["voip_hunt_groups"]
        for i, group in enumerate(self.get("voip_hunt_groups", [])):
            if group is None:
                continue
            if group["id"] in self.hunt_groups:
                self.rep.error(origin, (i, "id"), f"duplicate hunt group id {shown(group['id'])}")
                continue
            self.hunt_groups[group["id"]] = group
            self.hunt_members[group["id"]] = 0
            self.hunt_devices[group["id"]] = 0
            if self._site_ref(origin, (i, "site"), group["site"]):
                self._in_site(origin, (i,), group["site"], group["extension"], group.get("did"))
            self._claim_extension(group["extension"], f"hunt group {group['id']}", origin, (i, "extension"))
            if "did" in group:
                self._claim_did(group["did"], f"hunt group {group['id']}", origin, (i, "did"))

    def _check_users(self) -> None:
        if "voip_users" not in self.origins:
            return
        origin = self.origins["voip_users"]
        models = self.get("voip_phone_models", {})
        ids: dict[str, int] = {}
        macs: dict[str, tuple] = {}  # MAC -> (user id, index, device index) of its first device
        today = self.today
        raw_users = self.inv.all_vars()["voip_users"].value
        # The common case of _site_ref, _in_site, _claim_extension and
        # _claim_did inline (100,000 users); they run as such on a finding.
        ext_ranges, did_ranges = self.ext_ranges, self.did_ranges
        extensions, dids, user_by_ext = self.extensions, self.dids, self.user_by_ext
        for i, user in enumerate(self.get("voip_users", [])):
            if user is None:
                self._remember_uncertain(raw_users[i] if isinstance(raw_users, list) else None)
                continue
            uid = user["id"]
            if uid in ids:
                self.rep.error(
                    origin, (i, "id"), f"duplicate user id {shown(uid)} (first at voip_users[{ids[uid]}])"
                )
            else:
                ids[uid] = i
            site = user["site"]
            extension = user["extension"]
            did = user.get("did")
            ext_range = ext_ranges.get(site)
            if ext_range is None:
                self._site_ref(origin, (i, "site"), site)
            elif not ext_range[0] <= extension <= ext_range[1] or (
                did is not None and not did_ranges[site][0] <= did_number(did) <= did_ranges[site][1]
            ):
                self._in_site(origin, (i,), site, extension, did)
            what = f"user {uid} (voip_users[{i}])"
            if extension in extensions:
                self._claim_extension(extension, what, origin, (i, "extension"))
            else:
                extensions[extension] = (what, origin, (i, "extension"))
            if extension not in user_by_ext:
                user_by_ext[extension] = user
            if did is not None:
                number = did_number(did)
                if number in dids:
                    self._claim_did(did, what, origin, (i, "did"))
                else:
                    dids[number] = (what, origin, (i, "did"))
            leaver = user.get("status") == "leaver"
            if leaver:
                self.leaver_extensions[extension] = uid
                if "leave_date" not in user:
                    self.rep.error(origin, (i, "status"), "a leaver needs a leave_date")
            elif "leave_date" in user and user["leave_date"] < today:
                self.rep.warning(
                    origin,
                    (i, "leave_date"),
                    f"left on {user['leave_date']} but is still active: set status: leaver",
                )
            devices = user.get("devices", ())
            if leaver and devices:
                self.rep.error(
                    origin, (i, "devices"), f"leaver {uid} still holds {len(devices)} device(s); remove them"
                )
            for j, device in enumerate(devices):
                mac = normalise_mac(device["mac"])
                if mac in macs:
                    first_uid, first_i, first_j = macs[mac]
                    self.rep.error(
                        origin,
                        (i, "devices", j, "mac"),
                        f"MAC {device['mac']} is already used by user {first_uid} "
                        f"(voip_users[{first_i}].devices[{first_j}])",
                    )
                else:
                    macs[mac] = (uid, i, j)
                    self.device_macs[mac] = uid
                if device["model"] not in models:
                    self.rep.error(
                        origin, (i, "devices", j, "model"), f"unknown phone model {shown(device['model'])}"
                    )
            features = user.get("features")
            if features:
                for j, group in enumerate(features.get("hunt_groups", ())):
                    if group not in self.hunt_groups:
                        self.rep.error(
                            origin, (i, "features", "hunt_groups", j), f"unknown hunt group {shown(group)}"
                        )
                    elif leaver:
                        self.rep.error(
                            origin,
                            (i, "features", "hunt_groups", j),
                            f"leaver {uid} is still a member of hunt group {shown(group)}",
                        )
                    else:
                        self.hunt_members[group] += 1
                        self.hunt_devices[group] = self.hunt_devices.get(group, 0) + max(
                            1, len(user.get("devices") or ())
                        )
            if "grants" in user:
                self._check_grants(origin, i, user["grants"])

    def _check_grants(self, origin: Origin, i: int, grants: list[dict[str, Any]]) -> None:
        first: dict[str, int] = {}  # feature -> index of its first grant
        for j, grant in enumerate(grants):
            feature = grant["feature"]
            if feature in first:
                self.rep.error(
                    origin,
                    (i, "grants", j, "feature"),
                    f"{feature} is already granted by grants[{first[feature]}]: "
                    "keep one grant per feature (the one with the right until and reason)",
                )
                continue
            first[feature] = j
            if feature in UNAPPLIED_FEATURES:
                self.rep.error(
                    origin,
                    (i, "grants", j, "feature"),
                    f"{feature} cannot be granted: no host would apply it ({UNAPPLIED_FEATURES[feature]}); "
                    f"grantable: {', '.join(GRANTABLE_FEATURES)}",
                )
            elif feature not in _GRANTABLE:
                self.rep.error(
                    origin,
                    (i, "grants", j, "feature"),
                    f"grant for unknown feature {shown(feature)} (known: {', '.join(GRANTABLE_FEATURES)})",
                )
            elif grant["until"] < self.today:
                self.rep.warning(
                    origin,
                    (i, "grants", j, "until"),
                    f"grant of {feature} expired on {grant['until']}; remove it",
                )

    def _remember_uncertain(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        self.uncertain.add(raw.get("extension"))
        for device in raw.get("devices") or ():
            if isinstance(device, dict) and isinstance(device.get("mac"), str):
                self.uncertain.add(normalise_mac(device["mac"]))
        features = raw.get("features")
        if isinstance(features, dict) and isinstance(features.get("hunt_groups"), list):
            for group in features["hunt_groups"]:
                if group in self.hunt_members:
                    self.hunt_members[group] += 1

    # -- forwards, overflow and FXO routes (after every number is known) ----

    def _check_target(
        self,
        origin: Origin,
        sub: tuple,
        target: Any,
        owner: dict[str, Any] | None,
        own: dict[str, Any] | None = None,
    ) -> None:
        """``owner``: the user forwarding (class of service, voicemail); ``own``: the user or
        hunt group whose own numbers are a loop as the target (default: the owner)."""
        own = owner if own is None else own
        if own is not None and (target == own["extension"] or target == own.get("did")):
            number = "extension" if isinstance(target, int) else "DID"
            if owner is not None:
                message = f"forwards to the user's own {number} {target}: the call would come straight back"
            else:
                message = (
                    f"overflows to the hunt group's own {number} {target}: "
                    "unanswered calls would ring it again and again"
                )
            self.rep.error(origin, sub, message)
            return
        if isinstance(target, int):
            if target not in self.extensions:
                if target in self.uncertain:
                    return
                self.rep.error(origin, sub, f"forward target {target} is not an extension in the estate")
            elif target in self.leaver_extensions:
                self.rep.error(
                    origin, sub, f"forward target {target} belongs to leaver {self.leaver_extensions[target]}"
                )
            return
        if target == "voicemail":
            if owner is not None and not owner.get("features", {}).get("voicemail"):
                self.rep.error(origin, sub, "forwards to voicemail but the user's voicemail is off")
            return
        # An external number: the owner's class of service must allow the call.
        if owner is None:
            if own is not None and "strategy" in own:
                self.rep.error(
                    origin,
                    sub,
                    f"overflow to the external number {target}: a hunt group has no class of service to "
                    "call out with; overflow to an extension (a user whose forward goes out) or voicemail",
                )
            return
        site = self.get("voip_sites", {}).get(owner["site"], {})
        code = site.get("country_code")
        needed = "national" if code and target.startswith("+" + code) else "international"
        effective = effective_class_of_service(owner, self.today)
        if COS_RANK[effective] < COS_RANK[needed]:
            self.rep.error(
                origin,
                sub,
                f"forward to {target} needs class of service {needed} (the user's is {effective} on {self.today})",
            )

    def _check_forward_targets(self) -> None:
        if "voip_users" in self.origins:
            origin = self.origins["voip_users"]
            for i, user in enumerate(self.get("voip_users", [])):
                if user is None:
                    continue
                forwards = user.get("features", {}).get("call_forward", {})
                for kind in FORWARD_KINDS:
                    if kind in forwards:
                        self._check_target(
                            origin, (i, "features", "call_forward", kind), forwards[kind], user
                        )
        if "voip_hunt_groups" in self.origins:
            origin = self.origins["voip_hunt_groups"]
            for i, group in enumerate(self.get("voip_hunt_groups", [])):
                if group and "overflow" in group:
                    self._check_target(origin, (i, "overflow"), group["overflow"], None, group)
        for host, values in self.hosts.items():
            gateway = values.get("voip_gateway")
            if not gateway:
                continue
            origin = self.host_origins[host]["voip_gateway"]
            for i, port in enumerate(gateway.get("fxo_ports", ())):
                self._check_target(origin, ("fxo_ports", i, "route_to"), port["route_to"], None)

    def _forward_graph(self) -> dict[tuple, dict[tuple, list[tuple[str, Any]]]]:
        """Who forwards to whom: node -> {next node: [(kind, target), ...]}.

        Nodes are users ``("u", i)`` and hunt groups ``("h", i)`` (indexes in
        their lists); a target reaches one by its extension or by its DID (the
        call leaves by a trunk and comes back in). Voicemail, outside numbers
        and FXS ports end a chain. A node's edge to itself is left out: the
        target checks report it.
        """
        users, groups = self.get("voip_users", []), self.get("voip_hunt_groups", [])
        # Who holds a number: its first claim (self.extensions, self.dids), as the other checks say.
        kinds = {id(self.origins.get("voip_users")): "u", id(self.origins.get("voip_hunt_groups")): "h"}
        edges: dict[tuple, dict[tuple, list[tuple[str, Any]]]] = {}

        def add(node: tuple, kind: str, target: Any) -> None:
            if isinstance(target, int):
                claim = self.extensions.get(target)
            else:
                claim = self.dids.get(did_number(target)) if target.startswith("+") else None
            holder = kinds.get(id(claim[1])) if claim else None
            nxt = (holder, claim[2][0]) if holder else None
            if nxt is not None and nxt != node:
                edges.setdefault(node, {}).setdefault(nxt, []).append((kind, target))

        for i, user in enumerate(users):
            forwards = user.get("features", {}).get("call_forward") if user else None
            for kind in FORWARD_KINDS if forwards else ():
                if kind in forwards:
                    add(("u", i), kind, forwards[kind])
        for i, group in enumerate(groups):
            if group and "overflow" in group:
                add(("h", i), "overflow", group["overflow"])
        return edges

    def _check_forward_loops(self) -> None:
        """A chain of forwards (and hunt group overflows) that comes back to its start."""
        edges = self._forward_graph()
        if not edges:
            return
        rank = {node: (node[0] != "u", node[1]) for node in edges}  # users first, in file order
        for component in _strongly_connected(edges):
            component.sort(key=rank.__getitem__)
            loops, complete = _simple_cycles(component, edges, rank)
            for loop in loops:
                self._report_loop(loop, edges)
            if not complete:
                names = ", ".join(self._node_name(node) for node in component[:10])
                more = f" and {len(component) - 10} more" if len(component) > 10 else ""
                self._node_error(
                    component[0],
                    next(iter(edges[component[0]].values()))[0][0],
                    f"{len(component)} users and hunt groups forward to one another in more loops than "
                    f"listed here: {names}{more}; untangle their forwards",
                )

    def _report_loop(self, loop: list[tuple], edges: dict[tuple, dict[tuple, list[tuple[str, Any]]]]) -> None:
        steps = []
        for node, nxt in zip(loop, [*loop[1:], loop[0]], strict=True):
            label = "/".join(kind if isinstance(t, int) else f"{kind} to {t}" for kind, t in edges[node][nxt])
            steps.append(f"{self._node_name(node)} -{label}->")
        self._node_error(
            loop[0],
            edges[loop[0]][loop[1]][0][0],
            f"forward loop: {' '.join(steps)} {self._node_name(loop[0])}: a call would go round forever",
        )

    def _node_name(self, node: tuple) -> str:
        if node[0] == "u":
            user = self.get("voip_users", [])[node[1]]
            return f"user {user['id']} ({user['extension']})"
        group = self.get("voip_hunt_groups", [])[node[1]]
        return f"hunt group {group['id']} ({group['extension']})"

    def _node_error(self, node: tuple, kind: str, message: str) -> None:
        if node[0] == "u":
            self.err("voip_users", (node[1], "features", "call_forward", kind), message)
        else:
            self.err("voip_hunt_groups", (node[1], "overflow"), message)

    def _check_hunt_group_members(self) -> None:
        for i, group in enumerate(self.get("voip_hunt_groups", [])):
            if group and self.hunt_members.get(group["id"]) == 0:
                self.warn("voip_hunt_groups", (i,), f"hunt group {shown(group['id'])} has no active members")
            if not group:
                continue
            most = HUNT_MEMBERS_AT_MOST.get(group["strategy"])
            if most and self.hunt_members.get(group["id"], 0) > most:
                self.err(
                    "voip_hunt_groups",
                    (i,),
                    f"hunt group {shown(group['id'])} has {self.hunt_members[group['id']]} active members; "
                    f"{group['strategy']} rings at most {most}, one after the other within the call's ring time",
                )
            devices = self.hunt_devices.get(group["id"], 0)
            if group["strategy"] == "ring_all" and devices > RING_ALL_DEVICES_AT_MOST:
                self.err(
                    "voip_hunt_groups",
                    (i,),
                    f"hunt group {shown(group['id'])} rings {devices} devices at once; a call server forks to "
                    f"{RING_ALL_DEVICES_AT_MOST} at most (the others would never ring): split the group",
                )

    # -- hosts: addresses, sites, call servers, gateways, switches ---------

    def _in_group(self, host: str, group: str) -> bool:
        return group in self.inv.all_groups_of(host)

    def _users_by_id(self) -> dict[str, Any]:
        if not hasattr(self, "_by_id"):
            self._by_id = {u["id"]: u for u in self.get("voip_users", []) if u is not None}
        return self._by_id

    def _check_host_models(self) -> None:
        addresses: dict[str, str] = {}
        switch_macs: dict[str, str] = {}
        domains: dict[str, str] = {}
        for host, values in self.hosts.items():
            origins = self.host_origins[host]
            site = values.get("voip_site")
            if site is not None and not self._site_ref(origins["voip_site"], (), site):
                site = None
            if site is None and "voip_site" not in origins:
                for group in (CALL_SERVERS, GATEWAYS, SWITCHES):
                    if self._in_group(host, group):
                        self.rep.error(origins["@host"], (), f"host {host} in {group} needs voip_site")
                        break
            address = values.get("ansible_host")
            if address is not None:
                if address in addresses:
                    self.host_err(
                        host,
                        "ansible_host",
                        (),
                        f"address {address} is also used by host {addresses[address]}",
                    )
                else:
                    addresses[address] = host
            server = values.get("voip_call_server")
            if server:
                if not self._in_group(host, CALL_SERVERS):
                    self.host_err(host, "voip_call_server", (), f"host {host} is not in group {CALL_SERVERS}")
                domain = server["sip_domain"]
                if domain in domains:
                    self.host_err(
                        host,
                        "voip_call_server",
                        ("sip_domain",),
                        f"SIP domain {domain} is also used by {domains[domain]}",
                    )
                domains.setdefault(domain, host)
                for role, uid in (server.get("test_call") or {}).items():
                    user = self._users_by_id().get(uid)
                    if user is None or user.get("status") == "leaver" or user.get("site") != site:
                        # A warning, not an error: a leaver or a move must still go
                        # through; the release gate's test call fails until this is fixed.
                        self.rep.warning(
                            self.host_origins[host]["voip_call_server"],
                            ("test_call", role),
                            f"{shown(uid)} is not an active user of site {site}: the release gate's test call "
                            f"({role}) will fail; name another test user",
                        )
            gateway = values.get("voip_gateway")
            if gateway:
                self._check_gateway(host, site, gateway)
            switch = values.get("voip_switch")
            if switch:
                self._check_switch(host, site, switch, switch_macs)

    def _check_gateway(self, host: str, site: str | None, gateway: dict[str, Any]) -> None:
        origin = self.host_origins[host]["voip_gateway"]
        if not self._in_group(host, GATEWAYS):
            self.rep.error(origin, (), f"host {host} is not in group {GATEWAYS}")
        ports: dict[str, str] = {}
        for kind in ("pri_spans", "fxs_ports", "fxo_ports"):
            for i, port in enumerate(gateway.get(kind, ())):
                name = port["port"]
                if name in ports:
                    self.rep.error(origin, (kind, i, "port"), f"port {name} is already used by {ports[name]}")
                ports.setdefault(name, f"{kind}[{i}]")
        for i, span in enumerate(gateway.get("pri_spans", ())):
            for j, text in enumerate(span.get("did_ranges", ())):
                lo, hi = parse_range(text, e164=True)
                if site is not None:
                    slo, shi = self.did_ranges[site]
                    if lo < slo or hi > shi:
                        self.rep.error(
                            origin,
                            ("pri_spans", i, "did_ranges", j),
                            f"{text} is outside site {site}'s DID range",
                        )
        for i, port in enumerate(gateway.get("fxs_ports", ())):
            if site is not None:
                self._in_site(origin, ("fxs_ports", i), site, port["extension"], None)
            self._claim_extension(
                port["extension"], f"FXS port {host}:{port['port']}", origin, ("fxs_ports", i, "extension")
            )

    def _check_switch(
        self, host: str, site: str | None, switch: dict[str, Any], seen_macs: dict[str, str]
    ) -> None:
        origin = self.host_origins[host]["voip_switch"]
        if not self._in_group(host, SWITCHES):
            self.rep.error(origin, (), f"host {host} is not in group {SWITCHES}")
        if site is not None:
            wanted = self.get("voip_sites", {})[site].get("voice_vlan")
            if wanted is not None and switch["voice_vlan"] != wanted:
                self.rep.error(
                    origin,
                    ("voice_vlan",),
                    f"voice VLAN {switch['voice_vlan']} differs from site {site}'s {wanted}",
                )
        self._check_data_vlan(origin, site, switch)
        names: set[str] = set()
        for i, port in enumerate(switch["ports"]):
            if port["name"] in names:
                self.rep.error(origin, ("ports", i, "name"), f"port {port['name']} is listed twice")
            names.add(port["name"])
            if "phone_mac" in port:
                mac = normalise_mac(port["phone_mac"])
                if mac not in self.device_macs and mac not in self.uncertain:
                    self.rep.error(
                        origin, ("ports", i, "phone_mac"), f"{port['phone_mac']} is not a device of any user"
                    )
                if mac in seen_macs:
                    self.rep.error(
                        origin,
                        ("ports", i, "phone_mac"),
                        f"{port['phone_mac']} is also connected to {seen_macs[mac]}",
                    )
                seen_macs.setdefault(mac, f"{host} port {port['name']}")

    def _check_data_vlan(self, origin: Origin, site: str | None, switch: dict[str, Any]) -> None:
        data = switch.get("data_vlan")
        if data is None:
            return
        site_voice = self.get("voip_sites", {})[site].get("voice_vlan") if site is not None else None
        if data == switch["voice_vlan"]:
            where = "the switch's voice VLAN"
        elif data == site_voice:
            where = f"site {site}'s voice VLAN"
        else:
            return
        self.rep.error(
            origin,
            ("data_vlan",),
            f"data VLAN {data} is {where}: the PCs' data and the phones' voice must be on separate VLANs",
        )

    # -- racks, patch panels, connections ----------------------------------

    def _check_racks_and_patching(self) -> None:
        racks = self.get("voip_racks", {})
        for name, rack in racks.items():
            self._site_ref(self.origins["voip_racks"], (name, "site"), rack["site"])
        occupied: dict[tuple[str, int], str] = {}

        def place(
            origin: Origin, sub: tuple, what: str, rack: str, unit: int, height: int, site: str | None
        ) -> None:
            if rack not in racks:
                self.rep.error(origin, (*sub, "rack"), f"unknown rack {shown(rack)}")
                return
            if site is not None and racks[rack]["site"] != site:
                self.rep.error(
                    origin,
                    (*sub, "rack"),
                    f"rack {rack} is at site {racks[rack]['site']}, {what} at site {site}",
                )
            top = unit + height - 1
            if top > racks[rack]["height"]:
                self.rep.error(
                    origin,
                    (*sub, "unit"),
                    f"units {unit}-{top} do not fit in rack {rack} ({racks[rack]['height']} units)",
                )
            for u in range(unit, min(top, racks[rack]["height"]) + 1):
                other = occupied.get((rack, u))
                if other is not None:
                    self.rep.error(
                        origin, (*sub, "unit"), f"unit {u} of rack {rack} is already used by {other}"
                    )
                    break
            for u in range(unit, top + 1):
                occupied.setdefault((rack, u), what)

        for host, values in self.hosts.items():
            placement = values.get("voip_rack")
            if placement:
                place(
                    self.host_origins[host]["voip_rack"],
                    (),
                    f"host {host}",
                    placement["rack"],
                    placement["unit"],
                    placement.get("height", 1),
                    values.get("voip_site"),
                )
        panels: dict[str, dict[str, Any]] = {}
        for i, panel in enumerate(self.get("voip_patch_panels", [])):
            if panel is None:
                continue
            if panel["name"] in panels or panel["name"] in self.hosts:
                self.err(
                    "voip_patch_panels",
                    (i, "name"),
                    f"{shown(panel['name'])} is already a patch panel or host name",
                )
                continue
            panels[panel["name"]] = panel
            place(
                self.origins["voip_patch_panels"],
                (i,),
                f"patch panel {panel['name']}",
                panel["rack"],
                panel["unit"],
                panel.get("height", 1),
                None,
            )
        used: dict[tuple[str, str], str] = {}
        for i, conn in enumerate(self.get("voip_patch_connections", [])):
            if conn is None:
                continue
            ends = {side: self._patch_end(i, side, conn[side], panels) for side in ("a", "b")}
            a, b = ends["a"], ends["b"]
            if a is not None and a == b:
                self.err("voip_patch_connections", (i, "b"), f"both ends are port {a[0]}:{a[1]}")
                continue
            if a is not None and b is not None:
                self._check_cord(i, a, b, panels, racks)
            for side, end in ends.items():
                if end is None:
                    continue
                if end in used:
                    self.err(
                        "voip_patch_connections",
                        (i, side),
                        f"port {end[0]}:{end[1]} is already patched by {used[end]}",
                    )
                else:
                    used[end] = f"voip_patch_connections[{i}].{side}"
        self._check_unpatched_phones(used)
        self._check_wall_outlets(panels, racks)

    def _check_cord(
        self,
        i: int,
        a: tuple[str, str],
        b: tuple[str, str],
        panels: dict[str, dict[str, Any]],
        racks: dict[str, dict[str, Any]],
    ) -> None:
        """A patch cord joins a panel port to a device port, both at one site."""
        if a[0] in panels and b[0] in panels:
            self.err(
                "voip_patch_connections",
                (i,),
                f"joins two patch panels ({a[0]}:{a[1]} and {b[0]}:{b[1]}); "
                "a cord runs from a panel port to a device port",
            )
            return
        site_a, site_b = (self._end_site(end[0], panels, racks) for end in (a, b))
        if site_a is not None and site_b is not None and site_a != site_b:
            self.err(
                "voip_patch_connections",
                (i,),
                f"{a[0]} is at site {site_a}, {b[0]} at site {site_b}: a patch cord stays within a site",
            )

    def _end_site(
        self, device: str, panels: dict[str, dict[str, Any]], racks: dict[str, dict[str, Any]]
    ) -> str | None:
        if device in panels:
            rack = racks.get(panels[device]["rack"])
            return rack["site"] if rack else None
        return self.hosts.get(device, {}).get("voip_site")

    def _check_unpatched_phones(self, used: dict[tuple[str, str], str]) -> None:
        for host, values in self.hosts.items():
            switch = values.get("voip_switch")
            if not switch:
                continue
            for i, port in enumerate(switch["ports"]):
                if "phone_mac" in port and (host, port["name"]) not in used:
                    self.rep.warning(
                        self.host_origins[host]["voip_switch"],
                        ("ports", i, "phone_mac"),
                        f"phone {port['phone_mac']} on {host}:{port['name']} is patched nowhere "
                        "(no voip_patch_connections entry): its wall outlet is unknown",
                    )

    def _check_wall_outlets(
        self, panels: dict[str, dict[str, Any]], racks: dict[str, dict[str, Any]]
    ) -> None:
        names: dict[str, int] = {}
        ports: dict[tuple[str, int], str] = {}
        for i, outlet in enumerate(self.get("voip_wall_outlets", [])):
            if outlet is None:
                continue
            name = outlet["name"]
            if name in names:
                self.err(
                    "voip_wall_outlets",
                    (i, "name"),
                    f"duplicate wall outlet {shown(name)} (first at voip_wall_outlets[{names[name]}])",
                )
            else:
                names[name] = i
            panel_name, _, number = outlet["panel"].partition(":")
            panel = panels.get(panel_name)
            if panel is None:
                known = ", ".join(sorted(panels)) or "none defined"
                self.err(
                    "voip_wall_outlets",
                    (i, "panel"),
                    f"unknown patch panel {shown(panel_name)} (panels: {known})",
                )
                continue
            port = int(number)
            if not 1 <= port <= panel["ports"]:
                self.err(
                    "voip_wall_outlets",
                    (i, "panel"),
                    f"panel {panel_name} has ports 1-{panel['ports']}, not {port}",
                )
                continue
            if (panel_name, port) in ports:
                self.err(
                    "voip_wall_outlets",
                    (i, "panel"),
                    f"panel port {panel_name}:{port} already ends wall outlet {shown(ports[(panel_name, port)])}",
                )
            else:
                ports[(panel_name, port)] = name
            site = outlet.get("site")
            rack = racks.get(panel["rack"])
            if (
                site is not None
                and self._site_ref(self.origins["voip_wall_outlets"], (i, "site"), site)
                and rack is not None
                and rack["site"] != site
            ):
                self.err(
                    "voip_wall_outlets",
                    (i, "site"),
                    f"outlet at site {site}, but panel {panel_name} is in rack {panel['rack']} at site {rack['site']}",
                )

    def _patch_end(
        self, i: int, side: str, text: str, panels: dict[str, dict[str, Any]]
    ) -> tuple[str, str] | None:
        device, sep, port = text.partition(":")
        if not sep or not port:
            self.err("voip_patch_connections", (i, side), f"{shown(text)} is not DEVICE:PORT")
            return None
        if device in panels:
            if not port.isdigit() or not 1 <= int(port) <= panels[device]["ports"]:
                self.err(
                    "voip_patch_connections",
                    (i, side),
                    f"panel {device} has ports 1-{panels[device]['ports']}, not {shown(port)}",
                )
                return None
            return device, str(int(port))
        if device in self.hosts:
            switch = self.hosts[device].get("voip_switch")
            if switch and port not in {p["name"] for p in switch["ports"]}:
                self.err("voip_patch_connections", (i, side), f"switch {device} has no port {shown(port)}")
                return None
            return device, port
        self.err(
            "voip_patch_connections", (i, side), f"unknown device {shown(device)} (not a patch panel or host)"
        )
        return None

    # -- trunks, DIDs, CTI, backup, call servers ---------------------------

    def _check_trunks(self) -> None:
        names: set[str] = set()
        destinations: dict[tuple, str] = {}
        all_vars = self.inv.all_vars()
        for i, trunk in enumerate(self.get("voip_trunks", [])):
            if trunk is None:
                continue
            if trunk["name"] in names:
                self.err("voip_trunks", (i, "name"), f"duplicate trunk name {shown(trunk['name'])}")
            names.add(trunk["name"])
            self._site_ref(self.origins["voip_trunks"], (i, "site"), trunk["site"])
            ref = trunk["credentials_ref"]
            secret = all_vars.get(ref)
            if trunk.get("transport", "udp") != "tls" and not trunk.get("realm"):
                self.warn(
                    "voip_trunks",
                    (i,),
                    f"trunk {shown(trunk['name'])} has no realm: over {trunk.get('transport', 'udp')} its "
                    "password answers a challenge of any realm (one a party on the path chose); set the "
                    "carrier's digest realm",
                )
            if secret is not None and not isinstance(secret.value, VaultValue):
                # A number is plain text too (and YAML may have changed it: 0044 is 36).
                self.err(
                    "voip_trunks",
                    (i, "credentials_ref"),
                    f"{ref} holds a plain-text value in {secret.origin.file}; vault it",
                )
            if not trunk["classes_of_service"]:
                self.err("voip_trunks", (i, "classes_of_service"), "no class of service may use this trunk")
            where = (str(trunk["address"]).lower(), trunk.get("port", 5060), trunk.get("transport", "udp"))
            if where in destinations:
                self.err(
                    "voip_trunks",
                    (i, "address"),
                    f"{trunk['name']} has the address, port and transport of trunk {destinations[where]}: "
                    "one destination is one trunk (its calls and channels are counted by it)",
                )
            destinations.setdefault(where, trunk["name"])
            if trunk.get("transport") == "tls" and trunk.get("options_ping"):
                self.err(
                    "voip_trunks",
                    (i, "options_ping"),
                    "the health check's SIP OPTIONS speak UDP and TCP, not TLS: "
                    "a TLS trunk cannot be pinged (remove options_ping)",
                )
            if trunk.get("register"):
                self._check_trunk_registration(i, trunk)

    def _check_trunk_registration(self, i: int, trunk: dict) -> None:
        """A registering trunk has a call server that registers it: one of a site that uses the trunk.

        A site uses the trunks of its ``trunks`` list, else the trunks homed
        there (derive.kamailio.site_trunks); only those are trusted for the
        inbound calls the registration asks for.
        """
        served = {
            values.get("voip_site")
            for host, values in self.hosts.items()
            if self._in_group(host, CALL_SERVERS)
        }
        users = []
        for name, site in self.get("voip_sites", {}).items():
            listed = (site or {}).get("trunks")
            if (trunk["name"] in listed) if listed else trunk["site"] == name:
                users.append(name)
        registrars = sorted(
            host
            for host, values in self.hosts.items()
            if self._in_group(host, CALL_SERVERS) and values.get("voip_site") in users
        )
        if not any(site in served for site in users):
            self.err(
                "voip_trunks",
                (i, "register"),
                f"no call server registers trunk {shown(trunk['name'])}: no site with a call server uses it "
                f"(sites using it: {', '.join(users) or 'none'})",
            )
        elif len(registrars) > 1:
            # Each would register the same account with its own Contact: the
            # carrier's inbound calls (a PSAP's callback too) would reach a
            # server that does not have the number.
            self.err(
                "voip_trunks",
                (i, "register"),
                f"trunk {shown(trunk['name'])} would be registered by {len(registrars)} call servers "
                f"({', '.join(registrars)}): one account registers one call server; give each its own trunk",
            )

    def _check_site_pstn(self) -> None:
        """Every site reaches the PSTN for its emergency numbers, and every caller has a caller id.

        The routes (derive.kamailio.pstn_routes): the site's trunks, a
        gateway of the site with PRI spans, another site's trunk that
        carries the site's numbers. A user without a DID calls out (and is
        called back after an emergency call) on the site's main number.
        """
        sites = self.get("voip_sites", {})
        trunks = [t for t in self.get("voip_trunks", []) if t]
        pri_sites = {
            values.get("voip_site")
            for host, values in self.hosts.items()
            if self._in_group(host, GATEWAYS) and (values.get("voip_gateway") or {}).get("pri_spans")
        }
        without_did: dict[str, int] = {}
        for user in self.get("voip_users", []):
            if user is not None and user.get("status") != "leaver" and not user.get("did"):
                without_did[user["site"]] = without_did.get(user["site"], 0) + 1
        users_of: dict[str, list[str]] = {}
        for name, site in sites.items():
            for trunk in site.get("trunks") or [t["name"] for t in trunks if t["site"] == name]:
                users_of.setdefault(trunk, []).append(name)
        for i, trunk in enumerate(trunks):
            sharing = users_of.get(trunk["name"], [])
            if trunk.get("channels") and len(sharing) > 1:
                self.err(
                    "voip_trunks",
                    (i, "channels"),
                    f"{trunk['name']} is a route of sites {', '.join(sharing)}: each call server counts its own "
                    "calls, so together they could exceed the trunk's channels; give each site a trunk of its own",
                )
        for name, site in sites.items():
            lo, hi = self.did_ranges[name]
            main = site.get("main_number")
            if main and not lo <= int(main[1:]) <= hi:
                self.err(
                    "voip_sites", (name, "main_number"), f"{main} is not in the site's DIDs {site['dids']}"
                )
            if not main and without_did.get(name):
                self.err(
                    "voip_sites",
                    (name,),
                    f"{without_did[name]} active user(s) of {name} have no DID and the site has no main_number: "
                    "their calls would reach the PSTN, and an emergency service, without a callback number",
                )
            own = site.get("trunks") or [t["name"] for t in trunks if t["site"] == name]
            carried = [
                t["name"]
                for t in trunks
                if t["name"] not in own
                and any(
                    tlo <= hi and lo <= thi
                    for tlo, thi in (parse_range(r, e164=True) for r in t["did_ranges"])
                )
            ]
            if not own and name not in pri_sites and not carried:
                self.err(
                    "voip_sites",
                    (name, "emergency"),
                    f"site {name} has no route for its emergency numbers: no trunk of its own, no gateway with "
                    "PRI spans, and no other trunk carries its DIDs",
                )

    def _check_did_coverage(self) -> None:
        ranges = [
            parse_range(r, e164=True) for t in self.get("voip_trunks", []) if t for r in t["did_ranges"]
        ]
        for values in self.hosts.values():
            for span in (values.get("voip_gateway") or {}).get("pri_spans", ()):
                ranges.extend(parse_range(r, e164=True) for r in span.get("did_ranges", ()))
        if not ranges:
            return
        ranges = _merge(ranges)  # sorted and disjoint: the one that may hold a number is found by bisection
        starts = [lo for lo, _hi in ranges]
        for number, (what, origin, sub) in self.dids.items():
            at = bisect.bisect_right(starts, number) - 1
            if at < 0 or number > ranges[at][1]:
                self.rep.warning(
                    origin,
                    sub,
                    f"DID +{number} of {what} is on no trunk or PRI span: inbound calls cannot reach it",
                )

    def _check_cti(self) -> None:
        names: set[str] = set()
        rights = set(CTI_RIGHTS)
        for i, account in enumerate(self.get("voip_cti_accounts", [])):
            if account is None:
                continue
            if account["name"] in names:
                self.err("voip_cti_accounts", (i, "name"), f"duplicate CTI account {shown(account['name'])}")
            names.add(account["name"])
            for j, right in enumerate(account["rights"]):
                if right not in rights:
                    self.err(
                        "voip_cti_accounts",
                        (i, "rights", j),
                        f"unknown CTI right {shown(right)} (known: {', '.join(CTI_RIGHTS)})",
                    )
            self._check_cti_networks(i, account["source_networks"])
            for j, host in enumerate(account.get("call_servers", ())):
                if host not in self.hosts or not self._in_group(host, CALL_SERVERS):
                    self.err(
                        "voip_cti_accounts",
                        (i, "call_servers", j),
                        f"{shown(host)} is not a host in {CALL_SERVERS}",
                    )
            for j, site in enumerate(account.get("sites", ())):
                self._site_ref(self.origins["voip_cti_accounts"], (i, "sites", j), site)

    def _check_cti_networks(self, i: int, texts: list[str]) -> None:
        """The networks a CTI client may connect from: each, and all together, at most a /8 (IPv6: /32)."""
        networks = [ipaddress.ip_network(text) for text in texts]
        for j, net in enumerate(networks):
            widest = CTI_WIDEST[net.version]
            if net.prefixlen < widest:
                reason = "lets anyone in" if net.prefixlen == 0 else f"is wider than a /{widest}"
                self.err(
                    "voip_cti_accounts",
                    (i, "source_networks", j),
                    f"{net} {reason}; name the application's own networks",
                )
        for version, widest in CTI_WIDEST.items():
            listed = [net for net in networks if net.version == version]
            union = list(ipaddress.collapse_addresses(listed))
            total = sum(net.num_addresses for net in union)
            # Within the limit, or no wider than one of them (judged on its own above).
            if total <= 2 ** ((32 if version == 4 else 128) - widest) or total == max(
                net.num_addresses for net in listed
            ):
                continue
            together = ", ".join(str(net) for net in union[:4]) + (", ..." if len(union) > 4 else "")
            what = (
                f"every IPv{version} address: that lets anyone in"
                if union[0].prefixlen == 0
                else f"more than a /{widest} ({total} addresses)"
            )
            self.err(
                "voip_cti_accounts",
                (i, "source_networks"),
                f"together these networks make {together}, {what}; name the application's own networks",
            )

    def _check_backup(self) -> None:
        policy = self.estate.get("voip_backup_policy")
        if not policy:
            return
        server = policy["server"]
        if server not in self.hosts or not self._in_group(server, BACKUP_SERVERS):
            self.err("voip_backup_policy", ("server",), f"{shown(server)} is not a host in {BACKUP_SERVERS}")

    def _check_release(self) -> None:
        release = self.estate.get("voip_release")
        if not release:
            return
        for i, site in enumerate(release.get("firmware_sites", ())):
            self._site_ref(self.origins["voip_release"], ("firmware_sites", i), site)
        models = {
            str(values["voip_gateway"].get("model"))
            for values in self.hosts.values()
            if isinstance(values.get("voip_gateway"), dict) and values["voip_gateway"].get("model")
        }
        if release.get("gateway_images"):
            self.warn(
                "voip_release",
                ("gateway_images",),
                "report-only: playbooks/versions.yml and the health check report a gateway whose image differs, "
                "but no playbook installs a gateway image; upgrade the gateways by hand",
            )
        for model in release.get("gateway_images", {}):
            if model not in models:
                known = ", ".join(sorted(models)) or "none"
                self.err(
                    "voip_release",
                    ("gateway_images", model),
                    f"no gateway is a {shown(model)} (models: {known})",
                )
        repos = [r["name"] for r in self.get("voip_apt_repositories", []) if r is not None]
        for name in {n for n in repos if repos.count(n) > 1}:
            self.err(
                "voip_apt_repositories", (repos.index(name), "name"), f"duplicate repository {shown(name)}"
            )

    def _check_call_server_coverage(self) -> None:
        served = {
            values.get("voip_site")
            for host, values in self.hosts.items()
            if self._in_group(host, CALL_SERVERS)
        }
        counts: dict[str, int] = {}
        for user in self.get("voip_users", []):
            if user is not None and user.get("status") != "leaver":
                counts[user["site"]] = counts.get(user["site"], 0) + 1
        for site, count in counts.items():
            if site in self.ext_ranges and site not in served:
                self.err(
                    "voip_sites",
                    (site,),
                    f"site {site} has {count} active user(s) but no call server (a host in {CALL_SERVERS} with voip_site: {site})",
                )


def _strongly_connected(edges: dict[tuple, dict[tuple, Any]]) -> list[list[tuple]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[tuple, int] = {}
    low: dict[tuple, int] = {}
    stack: list[tuple] = []
    on_stack: set[tuple] = set()
    found: list[list[tuple]] = []
    for root in edges:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(edges.get(root, ())))]
        while work:
            node, successors = work[-1]
            nxt = next(successors, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


# Loops listed per tangle of forwards, and the search steps spent finding them.
MAX_LOOPS, MAX_LOOP_STEPS = 10, 20000


def _simple_cycles(
    component: list[tuple], edges: dict[tuple, dict[tuple, Any]], rank: dict[tuple, Any]
) -> tuple[list[list[tuple]], bool]:
    """Each loop of ``component`` once, starting at its first node by ``rank``; and whether all were found.

    A depth-first search from each node through later-ranked nodes only, so
    every loop is found from its first node and never twice. Bounded: a
    dense tangle stops at MAX_LOOPS loops or MAX_LOOP_STEPS steps.
    """
    members = set(component)
    loops: list[list[tuple]] = []
    steps = 0
    for start in component:
        path, on_path = [start], {start}
        work = [iter(edges[start])]
        while work:
            nxt = next(work[-1], None)
            if nxt is None:
                work.pop()
                on_path.discard(path.pop())
                continue
            steps += 1
            if steps > MAX_LOOP_STEPS:
                return loops, False
            if nxt == start:
                if len(loops) == MAX_LOOPS:
                    return loops, False
                loops.append(list(path))
            elif nxt in members and nxt not in on_path and rank[nxt] > rank[start]:
                path.append(nxt)
                on_path.add(nxt)
                work.append(iter(edges.get(nxt, ())))
    return loops, True


def _overlaps(checker: _Checker, var: str, ranges: dict[str, tuple[int, int]], key: str, what: str) -> None:
    ordered = sorted(ranges.items(), key=lambda item: item[1])
    for (name_a, (_lo_a, hi_a)), (name_b, (lo_b, _hi_b)) in itertools.pairwise(ordered):
        if lo_b <= hi_a:
            checker.err(var, (name_b, key), f"{what} overlaps site {name_a}'s")


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


__all__ = ["Result", "check", "pydantic_message", "render_path", "validate"]
