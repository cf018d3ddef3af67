"""The plan of ``voipctl hr-sync``: what differs between the HR export and the directory on a date.

What the plan holds (``employee_id`` is the directory's user ``id``):

* joiner: in HR, started (start_date on or before the date) and not ended,
  not in the directory; added with the next free extension and DID of the
  site and class of service ``internal``;
* future joiner: start_date after the date; reported, not added yet;
* leaver: active in the directory, but with an end_date on or before the
  date (leaves on the end_date) or absent from HR (leaves on the date);
  users already marked leaver are not reported again;
* mover: the site differs; moved with a number of the new site;
* rename: the name or e-mail address differs; set from HR;
* conflict: a leaver of the directory whom HR lists as working (a re-hire);
  reported, never changed (re-activate by hand).

A plan with leavers is a mass leave (``mass_leave``) when

* the export holds no employees at all (a header-only file), or
* it makes more leavers than the larger of 5 and 10% (rounded down) of the
  directory's active users, or
* the export holds no row for a site where it makes leavers (a truncated
  export).

``reconcile`` is pure and O(rows + users) (dict lookups).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voipctl.core.activity import active_users, is_leaver
from voipctl.hrsync_export import HrRow

# A mass leave: more leavers than the larger of these (see mass_leave); --allow-mass-leave overrides.
MASS_LEAVE_MIN = 5
MASS_LEAVE_PERCENT = 10


@dataclass(frozen=True)
class Leaver:
    """An active user to mark leaver on ``on``, and why."""

    uid: str
    name: str
    site: str
    on: datetime.date
    reason: str


@dataclass(frozen=True)
class Mover:
    """An active user whose site in HR is another one."""

    uid: str
    name: str
    old_site: str
    new_site: str


@dataclass(frozen=True)
class Rename:
    """New values of ``name`` and/or ``email``: (field, old, new) each."""

    uid: str
    name: str
    fields: tuple[tuple[str, str | None, str], ...]

    @property
    def summary(self) -> str:
        return ", ".join(f"{key} {old or '(none)'} -> {new}" for key, old, new in self.fields)


@dataclass(frozen=True)
class Conflict:
    """A difference hr-sync reports but does not resolve."""

    uid: str
    name: str
    message: str


@dataclass
class Plan:
    """What differs between HR and the directory on a date; see the module docstring."""

    joiners: list[HrRow] = field(default_factory=list)
    leavers: list[Leaver] = field(default_factory=list)
    movers: list[Mover] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    future_joiners: list[HrRow] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def size(self) -> int:
        """The number of changes --apply makes."""
        return len(self.joiners) + len(self.leavers) + len(self.movers) + len(self.renames)

    def summary(self) -> str:
        """``3 joiners, 2 leavers, 1 mover, 1 rename`` (then what is only reported)."""
        changes = [
            counted(len(self.joiners), "joiner"),
            counted(len(self.leavers), "leaver"),
            counted(len(self.movers), "mover"),
            counted(len(self.renames), "rename"),
        ]
        text = ", ".join(c for c in changes if c) or "no changes"
        noted = [counted(len(self.future_joiners), "future joiner"), counted(len(self.conflicts), "conflict")]
        noted = [n for n in noted if n]
        return text + (f" (and {', '.join(noted)}, not applied)" if noted else "")


def counted(number: int, noun: str) -> str:
    """``3 joiners``, ``1 joiner``; empty for none."""
    return f"{number} {noun}{'' if number == 1 else 's'}" if number else ""


def _text(value: Any) -> str | None:
    """A directory value compared as text (None stays None: an absent e-mail address)."""
    return None if value is None else str(value)


def reconcile(rows: Iterable[HrRow], users: Iterable[Mapping[str, Any]], today: datetime.date) -> Plan:
    """Compare the export with the directory's users (plain data) as on ``today``.

    One pass over each, with a dict of the rows by employee_id: O(rows + users).
    Directory changes come in directory order, joiners in the export's order.
    """
    rows = list(rows)
    by_id = {row.employee_id: row for row in rows}
    plan = Plan()
    known: set[str] = set()
    for user in users:
        if not isinstance(user, Mapping) or user.get("id") is None:
            continue  # `voipctl validate` reports these
        uid = str(user["id"])
        known.add(uid)
        _compare(plan, user, uid, by_id.get(uid), today)
    for row in rows:
        if row.employee_id in known:
            continue
        if not row.started(today):
            plan.future_joiners.append(row)
        elif not row.ended(today):
            plan.joiners.append(row)
    return plan


def _compare(plan: Plan, user: Mapping[str, Any], uid: str, row: HrRow | None, today: datetime.date) -> None:
    """Add to ``plan`` what differs between one directory user and their HR row (or its absence)."""
    name, site = str(user.get("name", "")), str(user.get("site", ""))
    if is_leaver(user):
        if row is not None and row.working(today):
            message = f"a leaver since {user.get('leave_date')}, but working in HR (line {row.line})"
            plan.conflicts.append(Conflict(uid, name, f"{message}; not changed: re-activate by hand"))
        return
    if row is None:
        plan.leavers.append(Leaver(uid, name, site, today, "not in the HR export"))
        return
    if row.ended(today):
        plan.leavers.append(Leaver(uid, name, site, row.end_date, f"HR end_date {row.end_date}"))
        return
    if row.site != site:
        plan.movers.append(Mover(uid, name, site, row.site))
    changed = tuple(
        (key, _text(user.get(key)), new)
        for key, new in (("name", row.name), ("email", row.email))
        if _text(user.get(key)) != new
    )
    if changed:
        plan.renames.append(Rename(uid, name, changed))


def report_rows(plan: Plan) -> list[tuple[str, str, str, str, str]]:
    """The report as (change, user, name, site, detail): the changes, then what is only noted."""
    rows = [("joiner", j.employee_id, j.name, j.site, f"started {j.start_date}") for j in plan.joiners]
    rows += [("leaver", x.uid, x.name, x.site, f"{x.reason}; leaves {x.on}") for x in plan.leavers]
    rows += [("mover", m.uid, m.name, f"{m.old_site} -> {m.new_site}", "a number there") for m in plan.movers]
    rows += [("rename", r.uid, r.name, "", r.summary) for r in plan.renames]
    rows += [
        ("future joiner", f.employee_id, f.name, f.site, f"starts {f.start_date}; not added yet")
        for f in plan.future_joiners
    ]
    rows += [("conflict", c.uid, c.name, "", c.message) for c in plan.conflicts]
    return rows


def mass_leave_limit(active: int) -> int:
    """The most leavers one run may make: the larger of 5 and 10% (rounded down) of ``active``."""
    return max(MASS_LEAVE_MIN, active * MASS_LEAVE_PERCENT // 100)


def mass_leave(plan: Plan, rows: Collection[HrRow], users: Iterable[Mapping[str, Any]]) -> str | None:
    """Why ``plan`` looks like a broken export rather than real leavers; None when it does not.

    ``hr-sync would make 42 of 50 active users leavers (limit: 5, ...)``:
    the message without what to do (the callers add it, see OVERRIDE).

    Only a plan with leavers is suspect, when the export holds no employees,
    or the leavers are more than mass_leave_limit of the active users, or
    the export holds no row for a site where there are leavers (truncated).
    """
    if not plan.leavers:
        return None
    # Active users by site, as reconcile sees them.
    known = (user for user in users if isinstance(user, Mapping) and user.get("id") is not None)
    active = Counter(str(user.get("site", "")) for user in active_users(known))
    total, limit = active.total(), mass_leave_limit(active.total())
    reasons = []
    if not rows:
        reasons.append("the export holds no employees")
    if len(plan.leavers) > limit:
        share = f"the larger of {MASS_LEAVE_MIN} and {MASS_LEAVE_PERCENT}% of the active users"
        reasons.append(f"limit: {limit}, {share}")
    leaving = Counter(leaver.site for leaver in plan.leavers)
    exported = {row.site for row in rows}
    for site in sorted(leaving.keys() - exported) if rows else ():  # no rows: said above
        where = f"where {leaving[site]} of {active.get(site, 0)} active users would leave"
        reasons.append(f"the export holds no row for site {site}, {where}")
    if not reasons:
        return None
    return f"hr-sync would make {len(plan.leavers)} of {total} active users leavers ({'; '.join(reasons)})"
