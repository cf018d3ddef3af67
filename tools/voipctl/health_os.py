"""Health findings of a Linux host's operating system: security updates left waiting, a reboot left pending.

``playbooks/health.yml`` lists each host's updates (module os_updates:
the release manifest's components held; when each update was first seen
is noted on the host) into its measurements as ``os_updates``;
``check_os_updates`` judges them against ``voip_os_updates``:

- ``os-updates``: a warning when a security update (from a repository of
  ``security_origins``) has waited longer than ``pending_days`` (default
  ``PENDING_DAYS``; 0: any); a warning when the host needs a reboot for an
  update it took; else ok with the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from voipctl.health_metrics import sample

# Days a security update may wait before it is a finding (voip_os_updates.pending_days).
PENDING_DAYS = 7


def _waited_days(since: str, now: datetime) -> float:
    try:
        first = datetime.fromisoformat(str(since))
    except ValueError:
        return 0.0
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return max((now - first).total_seconds() / 86400, 0.0)


def check_os_updates(
    judge,
    host: str,
    updates: Mapping[str, Any] | None,
    policy: Mapping[str, Any],
    now: datetime,
    error: str = "",
) -> None:
    """The findings of a host's pending OS updates (``updates``: the os_updates module's result)."""
    if error:
        judge.add("warning", host, "os-updates", "updates", "unknown", "listed",
                  f"the operating-system updates could not be listed: {error}")  # fmt: skip
        return
    if updates is None:
        return
    limit = int(policy.get("pending_days", PENDING_DAYS))
    pending = list(updates.get("updates") or [])
    security = [u for u in pending if u.get("security")]
    waited = {u["name"]: _waited_days(u.get("since", ""), now) for u in security}
    late = sorted(name for name, days in waited.items() if days >= limit)
    reasons = list(updates.get("reboot_reasons") or [])
    samples = [
        sample("voip_os_pending_security_updates", len(security), host=host),
        sample("voip_os_pending_updates", len(pending), host=host),
        sample("voip_os_security_update_wait_seconds", max(waited.values(), default=0.0) * 86400, host=host),
        sample("voip_os_reboot_required", bool(reasons), host=host),
    ]
    if late:
        judge.add("warning", host, "os-updates", "security updates", f"{len(late)} waiting",
                  f"none waiting {limit} days or more",
                  f"{len(late)} security update(s) waiting {limit} days or more: {', '.join(late[:8])}"
                  f"{' ...' if len(late) > 8 else ''}", samples)  # fmt: skip
        samples = []
    if reasons:
        judge.add("warning", host, "os-updates", "reboot", "needed", "not needed",
                  f"the host needs a reboot for updates it took: {'; '.join(reasons)}", samples)  # fmt: skip
        samples = []
    if not late and not reasons:
        judge.add("ok", host, "os-updates", "updates", f"{len(security)} security, {len(pending)} in all",
                  f"none waiting {limit} days or more",
                  "no security update has waited too long and no reboot is pending", samples)  # fmt: skip
