"""Benchmark: one joiner applied to the lab's call servers with a generated N-user directory.

For each size N (default 100, 1,000 and 10,000 users) a bench inventory is
made from a generated estate (``voipctl generate-estate``, seeded) whose
call servers and provisioning server are the running lab's cs1, cs2 and prov1. Then, timed end to end, as
an operator or the pipeline would run them:

1. ``playbooks/users.yml`` once to load the N users (the initial sync);
2. ``playbooks/users.yml`` again, changing nothing (the daily no-op);
3. ``voipctl user add`` of one joiner, then ``playbooks/users.yml`` (one joiner end to end).

It prints the times, the tasks each apply ran per host (must not grow with
N) and the ratios to the smallest N. At the end the lab's own directory is
applied again. Needs the running lab (``make lab``). Not a test: the
machine's load decides the exact figures; the target for one joiner at
10,000 users is 10 s.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from voipctl.generate import generate, write
from voiplab.lab import ansible_environment

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "inventory" / "lab"
TARGET_SECONDS = 10.0
TASK = re.compile(r"^TASK \[", re.MULTILINE)
RECAP = re.compile(r"^(cs\d|prov\d)\s+: ok=(\d+)\s+changed=(\d+)", re.MULTILINE)


def bench_inventory(users: int, work: Path) -> Path:
    """A generated N-user estate whose only hosts are the lab's call servers and provisioning server."""
    inv = work / f"estate-{users}"
    write(generate(users, 2, seed=1), inv)
    lab_hosts = yaml.safe_load((LAB / "hosts.yml").read_text())
    linux = lab_hosts["all"]["children"]["linux"]["children"]
    groups = {name: linux[name] for name in ("call_servers", "provisioning_servers")}
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"linux": {"children": groups}}}}))
    hosts = {host for group in groups.values() for host in group["hosts"]}
    for host_dir in (inv / "host_vars").iterdir():
        if host_dir.name not in hosts:
            shutil.rmtree(host_dir)
        else:
            (host_dir / "rack.yml").unlink(missing_ok=True)
    for name in ("patching.yml", "racks.yml", "backup.yml"):
        (inv / "group_vars" / "all" / name).unlink(missing_ok=True)
    # The lab's connection, lab settings and vault; the generated CTI and
    # trunk credentials get bench-only values (nothing secret is involved).
    for group in ("linux", "provisioning_servers"):
        shutil.copytree(LAB / "group_vars" / group, inv / "group_vars" / group, dirs_exist_ok=True)
    for name in ("lab.yml", "vault.yml"):
        shutil.copy(LAB / "group_vars" / "all" / name, inv / "group_vars" / "all" / name)
    refs = set()
    for name in ("cti.yml", "trunks.yml"):
        data = yaml.safe_load((inv / "group_vars" / "all" / name).read_text()) or {}
        for item in next(iter(data.values()), []) or []:
            if item.get("credentials_ref"):
                refs.add(item["credentials_ref"])
    secrets = inv / "group_vars" / "all" / "bench.yml"
    secrets.write_text(yaml.safe_dump({ref: f"bench-only-{ref}" for ref in sorted(refs)}))
    # Vaulted like any credential (validation refuses plain-text ones).
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-vault"), "encrypt", str(secrets)],
        env=environment(), check=True, capture_output=True,
    )  # fmt: skip
    return inv


def environment() -> dict[str, str]:
    return ansible_environment(ROOT)


def timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, env=environment(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-2000:])
        raise SystemExit(f"failed: {' '.join(cmd[:4])} ...")
    return elapsed, run.stdout


def apply(inventory: Path) -> tuple[float, int, dict[str, tuple[int, int]]]:
    """Seconds, tasks run, and (ok, changed) per host of one users.yml run."""
    book = str(ROOT / "playbooks" / "users.yml")
    elapsed, output = timed([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), book])
    recap = {host: (int(ok), int(changed)) for host, ok, changed in RECAP.findall(output)}
    return elapsed, len(TASK.findall(output)), recap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="100,1000,10000", help="comma-separated sizes")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.users.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="voip-bench-") as tmp:
        try:
            for users in sizes:
                inv = bench_inventory(users, Path(tmp))
                initial, _, _ = apply(inv)
                noop, noop_tasks, noop_recap = apply(inv)
                started = time.perf_counter()
                timed([str(ROOT / ".venv" / "bin" / "voipctl"), "user", "add", "benchjoiner", "--name",
                       "Bench Joiner", "--site", "ams", "-i", str(inv)])  # fmt: skip
                add_seconds = time.perf_counter() - started
                joined, tasks, recap = apply(inv)
                rows.append((users, initial, noop, add_seconds, joined, tasks, noop_tasks, recap, noop_recap))
                print(
                    f"{users:>6} users: initial sync {initial:5.1f} s | no-op apply {noop:5.1f} s | "
                    f"joiner: user add {add_seconds:4.1f} s + apply {joined:5.1f} s = {add_seconds + joined:5.1f} s | "
                    f"tasks {tasks} | changed {dict((h, c) for h, (_, c) in recap.items())}",
                    flush=True,
                )
        finally:
            print("restoring the lab's own directory ...", flush=True)
            apply(LAB)
    base = rows[0]
    print()
    print(f"{'users':>6} {'no-op':>7} {'joiner':>7} {'tasks':>5} {'ratio no-op':>11} {'ratio joiner':>12}")
    for users, _, noop, add_seconds, joined, tasks, _, _, _ in rows:
        total = add_seconds + joined
        print(
            f"{users:>6} {noop:6.1f}s {total:6.1f}s {tasks:>5} {noop / base[2]:>11.2f} {total / (base[3] + base[4]):>12.2f}"
        )
    largest = rows[-1]
    total = largest[3] + largest[4]
    verdict = "within" if total <= TARGET_SECONDS else "over"
    print(
        f"one joiner at {largest[0]} users: {total:.1f} s end to end, {verdict} the {TARGET_SECONDS:.0f} s target"
    )
    if len({r[5] for r in rows}) != 1:
        print("tasks per apply grew with the number of users", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
