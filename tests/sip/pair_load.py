"""SIPp call loads through the call servers (scenarios/load_call.xml), read back call by call,
and the windows in which a call server was down."""

from __future__ import annotations

import signal


def call_fields(caller, number: str) -> list[str]:
    """The CSV fields of load_call.xml: ``caller`` dials ``number`` at the caller's own domain."""
    return [caller.extension, caller.auth(), caller.domain, number, caller.domain]


def load_calls(log: str) -> dict[int, dict]:
    """Per call of a load_call.xml run: when it started (epoch seconds), whether it was answered and ended."""
    calls: dict[int, dict] = {}
    for line in log.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("START", "ANSWERED", "ENDED") and words[1].isdigit():
            call = calls.setdefault(int(words[1]), {"start": None, "answered": False, "ended": False})
            if words[0] == "START":
                call["start"] = float(words[2]) + float(words[3]) / 1e6
            else:
                call[words[0].lower()] = True
    return calls


def soft_stop(run) -> str:
    """Stop a SIPp load as its 'q' key does (no new call, the calls in progress finish); its log."""
    if run.proc.poll() is None:
        run.proc.send_signal(signal.SIGUSR1)
    return run().log


def downtime(podman_exec, host: str, since: float) -> list[tuple[float, float]]:
    """The windows (epoch seconds) since ``since`` from systemd's "Stopping" of kamailio on ``host``
    (or, after a reboot whose shutdown left no line, its "Starting") to its next "Started" (the end
    is infinite while it has not started again)."""
    out = podman_exec(host, "journalctl", "-u", "kamailio", "-o", "short-unix", "--no-pager",
                      "--since", f"@{int(since)}", check=False).stdout  # fmt: skip
    windows, stopping = [], None
    for line in out.splitlines():
        stamp, _, text = line.partition(" ")
        if "systemd[" not in text:
            continue
        if "Stopping kamailio" in text and stopping is None:
            stopping = float(stamp)
        elif "Starting kamailio" in text and stopping is None:
            # A reboot: the shutdown's lines never reached the journal; down from the start at least.
            stopping = float(stamp)
        elif "Started kamailio" in text and stopping is not None:
            windows.append((stopping, float(stamp)))
            stopping = None
    if stopping is not None:
        windows.append((stopping, float("inf")))
    return windows


def within(start: float, windows: list[tuple[float, float]], before: float, after: float) -> bool:
    """Whether a call started at ``start`` overlaps a window (``before`` seconds of call ahead of it,
    ``after`` seconds of it behind)."""
    return any(down - before <= start <= up + after for down, up in windows)
