"""A call server's location table as the tests read it (``kamcmd ul.lookup``), and a bounded wait."""

from __future__ import annotations

import time


def contacts(podman_exec, server: str, extension: str) -> list[str]:
    """The contact URIs of ``extension`` in ``server``'s location table (empty when it has none)."""
    done = podman_exec(server, "kamcmd", "ul.lookup", "location", f"s:{extension}", check=False)
    return [
        line.split(":", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.strip().startswith("Address:")
    ]


def wait_for(predicate, seconds: float = 5.0) -> bool:
    """True as soon as ``predicate()`` is; False if it is still not after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()
