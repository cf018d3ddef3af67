"""Validate an estate: formats (schema), uniqueness, references and policy.

``validate(source)`` loads the inventory (fast loader), checks every model
variable against its schema, then runs the cross checks in one pass over each
collection with dict/set lookups (O(n) in the number of users). Every finding
names the file, the key path and, where possible, the line. Nothing here
raises on bad data: it all becomes findings.

The checks are split by area over one shared ``Context`` (``context``):
the schema pass (``variables``), ``sites``, ``racks`` and patching, ``users``
and hunt groups, ``hosts``, ``forwards`` (with ``graph``), ``trunks`` and
the PSTN, ``cti``, ``release``. ``STEPS`` runs them in order: a later area
reads what an earlier one learnt (site ranges, claimed numbers, devices).
"""

from __future__ import annotations

import datetime
import gc
from pathlib import Path

from voipctl.model import loader as fastloader
from voipctl.model.checks import cti, forwards, hosts, racks, release, sites, trunks, users, variables
from voipctl.model.checks.context import Context, Result
from voipctl.model.checks.variables import pydantic_message
from voipctl.model.loader import LoadedInventory
from voipctl.model.problems import render_path

# Each step takes the context; the order is the order of the findings of equal rank.
STEPS = (
    variables.load_estate,
    variables.check_top_level,
    variables.load_hosts,
    sites.check_sites,
    sites.check_numbering,
    racks.check_racks_and_patching,
    users.check_hunt_group_numbers,
    users.check_users,
    hosts.check_host_models,
    hosts.check_call_server_pairs,
    forwards.check_forward_targets,
    forwards.check_forward_loops,
    users.check_hunt_group_members,
    trunks.check_trunks,
    trunks.check_site_pstn,
    trunks.check_did_coverage,
    cti.check_cti,
    hosts.check_backup,
    hosts.check_health_policy,
    release.check_release,
    hosts.check_call_server_coverage,
)


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
    ctx = Context(inv, today or datetime.date.today())
    for file, line, message, path in inv.file_errors:
        ctx.rep.file_error(file, line, message, path)
    if inv.file_errors:
        # A file that could not be read leaves its variables out: every
        # cross check would report what is only missing. Its error alone.
        return Result(ctx.rep.problems(), {}, {}, {})
    for step in STEPS:
        step(ctx)
    groups = {host: inv.all_groups_of(host) for host in inv.hosts}
    return Result(ctx.rep.problems(), ctx.estate, ctx.hosts, groups)


__all__ = ["Result", "check", "pydantic_message", "render_path", "validate"]
