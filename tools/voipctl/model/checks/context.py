"""What every area of the checks shares: the inventory, the reporter, and what earlier checks learnt.

``Context`` holds the loaded inventory and the validated variables, reports
findings against a variable's origin, and keeps the lookups one area fills
for the next (site ranges, claimed numbers, devices, hunt groups). The
number helpers (``claim_extension``, ``in_site``, ...) report in the words
every area uses, so a clash reads the same wherever it is found.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voipctl.core.activity import active_users
from voipctl.model.loader import LoadedInventory, Origin
from voipctl.model.problems import ERROR, Problem, Reporter
from voipctl.model.types import did_number, shown
from voipctl.model.yamlfile import find_lines

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


class Context:
    """One validation run: the inventory as of ``today``, its findings, and the shared lookups."""

    def __init__(self, inv: LoadedInventory, today: datetime.date):
        self.inv = inv
        self.today = today
        self.rep = Reporter(inv.root)
        self.estate: dict[str, Any] = {}
        self.origins: dict[str, Origin] = {}
        self.hosts: dict[str, dict[str, Any]] = {}
        self.host_origins: dict[str, dict[str, Origin]] = {}
        # site -> (first, last) of its extensions and of its DIDs (filled by the site checks)
        self.ext_ranges: dict[str, tuple[int, int]] = {}
        self.did_ranges: dict[str, tuple[int, int]] = {}
        # number -> (description, origin, sub) for every dialable extension
        self.extensions: dict[int, tuple[str, Origin, tuple]] = {}
        self.dids: dict[int, tuple[str, Origin, tuple]] = {}
        self.leaver_extensions: dict[int, str] = {}
        self.device_macs: dict[str, str] = {}
        # Numbers and MACs of entries that failed their schema: references to
        # them are not reported again (the entry's own error says it all).
        self.uncertain: set[Any] = set()
        # hunt group id -> the group, its active members, the devices of those members
        self.hunt_groups: dict[str, dict[str, Any]] = {}
        self.hunt_members: dict[str, int] = {}
        self.hunt_devices: dict[str, int] = {}
        self._by_id: dict[str, Any] | None = None
        self._active: list[Mapping[str, Any]] | None = None
        self._lines: dict[tuple[str, tuple], int | None] = {}

    # -- reporting ---------------------------------------------------------

    def err(self, var: str, sub: tuple, message: str) -> None:
        """An error at ``sub`` of the estate-wide variable ``var``."""
        self.rep.error(self.origins[var], sub, message)

    def warn(self, var: str, sub: tuple, message: str) -> None:
        """A warning at ``sub`` of the estate-wide variable ``var``."""
        self.rep.warning(self.origins[var], sub, message)

    def host_err(self, host: str, var: str, sub: tuple, message: str) -> None:
        """An error at ``sub`` of ``host``'s variable ``var``."""
        self.rep.error(self.host_origins[host][var], sub, message)

    def where(self, origin: Origin, sub: tuple = ()) -> str:
        """``file:line`` of ``sub`` under ``origin`` (its nearest known ancestor), for naming a second place in a message."""
        path = (*origin.path, *sub)
        key = (origin.file, path)
        if key not in self._lines:
            found = find_lines(self.inv.root / origin.file, {path})
            line = next((found[path[:cut]] for cut in range(len(path), 0, -1) if path[:cut] in found), None)
            self._lines[key] = line if line is not None else origin.line
        line = self._lines[key]
        return origin.file if line is None else f"{origin.file}:{line}"

    def name_once(self, var: str, i: int, name: str, seen: set[str], what: str) -> None:
        """Report item ``i`` of ``var`` if its ``name`` is in ``seen`` (a duplicate ``what``); add it."""
        if name in seen:
            self.err(var, (i, "name"), f"duplicate {what} {shown(name)}")
        seen.add(name)

    # -- lookups -----------------------------------------------------------

    def get(self, name: str, default: Any) -> Any:
        """The validated estate-wide variable ``name``, or ``default`` when absent or invalid."""
        value = self.estate.get(name)
        return default if value is None else value

    def in_group(self, host: str, group: str) -> bool:
        return group in self.inv.all_groups_of(host)

    def users_by_id(self) -> dict[str, Any]:
        """Every valid user by id (of users sharing an id, the last)."""
        if self._by_id is None:
            self._by_id = {u["id"]: u for u in self.get("voip_users", []) if u is not None}
        return self._by_id

    def active_users(self) -> list[Mapping[str, Any]]:
        """The valid users who are not leavers (core.activity.active_users), in file order."""
        if self._active is None:
            self._active = active_users(u for u in self.get("voip_users", []) if u is not None)
        return self._active

    def call_server_sites(self) -> set[Any]:
        """The sites that have a call server (``voip_site`` of each host in call_servers)."""
        return {
            values.get("voip_site")
            for host, values in self.hosts.items()
            if self.in_group(host, CALL_SERVERS)
        }

    def call_servers_by_site(self) -> dict[Any, list[str]]:
        """Each site's call servers (hosts in call_servers with that ``voip_site``), by host name.

        The first is the phones' primary proxy, the others its backups.
        """
        by_site: dict[Any, list[str]] = {}
        for host in sorted(self.hosts):
            if self.in_group(host, CALL_SERVERS):
                by_site.setdefault(self.hosts[host].get("voip_site"), []).append(host)
        return by_site

    # -- numbers and sites ---------------------------------------------------

    def claim_extension(self, number: int, what: str, origin: Origin, sub: tuple) -> None:
        """Record ``what`` as the holder of extension ``number``, or report that another holds it."""
        first = self.extensions.get(number)
        if first is not None:
            self.rep.error(origin, sub, f"extension {number} is already used by {first[0]}")
        else:
            self.extensions[number] = (what, origin, sub)

    def claim_did(self, did: str, what: str, origin: Origin, sub: tuple) -> None:
        """Record ``what`` as the holder of ``did``, or report that another holds it."""
        number = did_number(did)
        first = self.dids.get(number)
        if first is not None:
            self.rep.error(origin, sub, f"DID {did} is already used by {first[0]}")
        else:
            self.dids[number] = (what, origin, sub)

    def in_site(self, origin: Origin, sub: tuple, site: str, extension: int | None, did: str | None) -> None:
        """Report an extension or DID outside ``site``'s ranges (nothing for an unknown site)."""
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

    def site_ref(self, origin: Origin, sub: tuple, site: str) -> bool:
        """Whether ``site`` is a site of the estate; report it when not."""
        if site in self.ext_ranges:
            return True
        known = ", ".join(sorted(self.ext_ranges)) or "none defined"
        self.rep.error(origin, sub, f"unknown site {shown(site)} (sites: {known})")
        return False
