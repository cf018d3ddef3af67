"""Runs of `voipctl release apply` and `voipctl os-updates` under SIP load, and how to judge them.

Shared by tests/sip/test_release.py and tests/sip/test_os_updates.py: both
take the call servers down one at a time behind the same health gate (role
release_host), and both must keep the calls of the Amsterdam pair going.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from pair_load import call_fields, load_calls, soft_stop, within

from voiplab.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[2]
# The load during the good release: new calls per second, per load (the lab's phones share the
# controller's address, which must stay under the flood limit of each call server).
LOAD_RATE = 1
# Answered calls per second during the release, against before it, of the Amsterdam pair (issue #27).
MIN_CAPACITY = 0.8
# A call that fails is the restarting server's when it started this long before the server stopped
# (its BYE went there) or this long after it started again.
CALL_BEFORE_STOP, CALL_AFTER_START = 3.0, 2.0


def voipctl_run(*args: str, on_line=None) -> tuple[int, str]:
    """Run `voipctl ARGS...`; call ``on_line`` with each output line."""
    env = {**ansible_environment(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voipctl.cli", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if on_line:
            on_line(line)
    return proc.wait(timeout=1200), "".join(lines)


def run_records(stdout: str) -> dict[str, dict]:
    run = re.search(r"\(run (\d{8}T\d{6}Z)\)", stdout)
    assert run, stdout[-3000:]
    base = Path(ansible_environment(ROOT)["VOIPLAB_STATE_DIR"]) / "records" / "releases" / run.group(1)
    return {p.stem: json.loads(p.read_text()) for p in base.glob("*.json")}


def everyone_registers_and_calls(users, register, call, answering) -> None:
    active = [u for u in users.values() if u.status == "active"]
    refused = [u.id for u in active if register(u).final != "200"]
    assert not refused, f"cannot register: {refused}"
    for site in sorted({u.site for u in active}):
        here = [u for u in active if u.site == site and not (u.model.get("features") or {}).get("dnd")]
        waiter = answering(here[1])
        result = call(here[0], here[1].extension)
        waiter()
        assert result.final == "200", result.log


@contextlib.contextmanager
def calls_under_load(users, estate, register, sipp_load):
    """Calls at ``LOAD_RATE`` from Amsterdam phones as their files say (cs1, then cs3 on a 503 or
    3 s of silence: scenarios/load_phone.xml) and from Tehran through cs2 (whose dispatcher picks a
    member of the pair), all to one answering SIPp at an Amsterdam phone registered through cs1.
    Yields a dict; once the block ends, its "calls" holds {load: (servers on its path, calls)}."""
    ams = [u for u in users.values() if u.site == "ams" and u.status == "active"
           and not (u.model.get("features") or {}).get("dnd")]  # fmt: skip
    thr = next(u for u in users.values() if u.site == "thr" and u.status == "active")
    # The gate's test callee (svisser) too: the load's answering SIPp is a second device of that
    # user, so a gate call forks to it (the gate hangs that one up after its own call). Calling
    # mjansen instead left a dialog on cs1 that never ended and stopped the next release's drain
    # (two runs of this stop; cause not established).
    caller, callee = ams[0], ams[1]
    address = {h: estate.hosts[h]["ansible_host"] for h in ("cs1", "cs3")}
    assert register(callee, port=6500, keep=True).final == "200"
    answering = sipp_load("answer", callee.server, [], port=6500, calls=100000, timeout=1500)
    loads = {
        "Amsterdam phones (cs1, backup cs3)": ({"cs1", "cs3"}, sipp_load(
            "load_phone", address["cs1"], [*call_fields(caller, callee.extension), address["cs3"]], port=6510,
            calls=100000, rate=LOAD_RATE, timeout=1500)),
        "Tehran through cs2": ({"cs2", "cs1", "cs3"}, sipp_load(
            "load_call", thr.server, call_fields(thr, callee.extension), port=6530, calls=100000, rate=LOAD_RATE,
            timeout=1500)),
    }  # fmt: skip
    state: dict = {}
    try:
        yield state
    finally:
        logs = {name: soft_stop(run) for name, (_, run) in loads.items()}
        answering.kill()
        register.unregister(callee, 6500)
    state["calls"] = {name: (servers, load_calls(logs[name])) for name, (servers, _) in loads.items()}


class DrainWatch:
    """Reads the release's output as it comes: when each call server was told to stop taking new
    calls (its 503s are the restart's, as much as the stopped server's silence)."""

    def __init__(self) -> None:
        self.task, self.drained = "", {}

    def __call__(self, line: str) -> None:
        if line.startswith("TASK ["):
            self.task = line
        elif "Stop taking new calls" in self.task:
            found = re.match(r"(?:changed|ok): \[([\w.-]+)\]", line)
            if found:
                self.drained.setdefault(found.group(1), time.time())

    def widen(self, host: str, windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """``host``'s down windows, the first one from the drain on (when the drain came before it)."""
        drained = self.drained.get(host)
        if drained is None or not windows or drained > windows[0][0]:
            return windows
        return [(drained, windows[0][1]), *windows[1:]]


def judge_load(
    state: dict, windows: dict, baseline: tuple[float, float], during: tuple[float, float]
) -> list[str]:
    """Problems of a load run through a release: calls lost that were not on a restarting server,
    and the Amsterdam pair's answered calls per second during the release against before it.

    A phone moves a new call to its backup, so the phones' load may lose only the calls already in
    progress when a server began to drain; a load through one server (Tehran's cs2) may lose any
    call while a server on its path drains or restarts.
    """
    problems, rate = [], {"before": 0.0, "during": 0.0}
    for name, (servers, calls) in state["calls"].items():
        down = [w for host in servers for w in windows[host]]
        if name.startswith("Amsterdam phones"):
            down, after = [(start, start) for start, _ in down], 0.0
        else:
            after = CALL_AFTER_START
        failed = [n for n, c in calls.items() if not c["ended"]]
        unexplained = [n for n in failed if not within(calls[n]["start"], down, CALL_BEFORE_STOP, after)]
        print(
            f"{name}: {len(calls)} calls, {len(failed)} failed, {len(unexplained)} of them not on a restarting server"
        )
        if not calls:
            problems.append(f"{name}: SIPp placed no call")
        if unexplained:
            print(
                f"{name}: unexplained failures: "
                + ", ".join(
                    f"#{n} started {calls[n]['start']:.1f} answered={calls[n]['answered']}"
                    for n in unexplained
                )
            )
            problems.append(f"{name}: calls {unexplained} failed that were neither in progress on a server "
                            f"when it began to drain nor placed through a draining or restarting server "
                            f"without a backup")  # fmt: skip
        if name.startswith("Amsterdam"):
            for key, (start, end) in (("before", baseline), ("during", during)):
                rate[key] += sum(1 for c in calls.values() if start <= c["start"] < end and c["ended"]) / (
                    end - start
                )
    capacity = rate["during"] / rate["before"] if rate["before"] else 0.0
    print(f"the Amsterdam pair answered {rate['before']:.2f} calls/s before the release and {rate['during']:.2f} "
          f"during it: {capacity:.0%} (at least {MIN_CAPACITY:.0%}); down: {windows}")  # fmt: skip
    print(f"bench: release_capacity={capacity:.4f}")
    if capacity < MIN_CAPACITY:
        problems.append(f"the pair kept {capacity:.0%} of its answered calls per second during the release")
    return problems
