"""Benchmark: time to validate a generated 100,000-user estate (``make bench``).

Generates the estate once into a cache directory (deterministic, seeded),
then times ``voipctl validate`` end to end in a fresh process, as an operator
or the preflight play would run it, and the validation alone in-process.
Beside each run, interleaved, PyYAML's C safe loader reads the same
users.yml in a fresh process (the load alone is timed): the figure that
travels between machines is the ratio of the two medians, goal 0.1 or
less (issue #26). Prints figures; the absolute target is at most 5 s on
the 2-core controller. Not a test: the machine's load decides the exact
figure.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

from voipctl import generate as generate_module
from voipctl.generate import generate, write
from voipctl.model.checks import validate

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0
TARGET_RATIO = 0.1  # voipctl validate / PyYAML's C loader reading users.yml
# Run in a fresh process: PyYAML's C safe loader reads users.yml, as
# yaml.load(..., Loader=yaml.CSafeLoader); prints the seconds of the load alone.
PYYAML_LOAD = """
import sys, time, yaml
with open(sys.argv[1], "rb") as stream:
    started = time.perf_counter()
    data = yaml.load(stream, Loader=yaml.CSafeLoader)
    print(time.perf_counter() - started)
assert data["voip_users"]
"""


def estate(users: int, sites: int, cache: Path) -> Path:
    """The generated estate for (users, sites), written once under ``cache`` per version of the generator."""
    recipe = hashlib.sha256(Path(generate_module.__file__).read_bytes()).hexdigest()[:12]
    out = cache / f"estate-{users}u-{sites}s-{recipe}"
    if not (out / "hosts.yml").is_file():
        started = time.perf_counter()
        write(generate(users, sites, seed=1), out)
        print(f"generated {users} users, {sites} sites in {time.perf_counter() - started:.1f} s: {out}")
    return out


def pyyaml_load_seconds(users_yml: Path) -> float:
    """Seconds PyYAML's C safe loader takes to read ``users_yml`` (a fresh process, the load alone)."""
    done = subprocess.run(
        [sys.executable, "-c", PYYAML_LOAD, str(users_yml)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=ROOT / ".lab" / "bench")
    args = parser.parse_args(argv)
    path = estate(args.users, args.sites, args.cache)
    users_yml = path / "group_vars" / "all" / "users.yml"
    size = users_yml.stat().st_size / 1e6
    voipctl = Path(sys.executable).with_name("voipctl")
    command = [str(voipctl), "validate", "-i", str(path)]
    walls, inner, pyyaml = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:])
            print("bench: the generated estate does not validate")
            return 1
        pyyaml.append(pyyaml_load_seconds(users_yml))
        started = time.perf_counter()
        result = validate(path)
        inner.append(time.perf_counter() - started)
        assert not result.errors
    best, median = min(walls), statistics.median(walls)
    ratio = median / statistics.median(pyyaml)
    print(f"validate {args.users} users ({size:.1f} MB users.yml), {args.runs} runs:")
    print(f"  voipctl validate (process, wall): best {best:.2f} s, median {median:.2f} s")
    print(
        f"  validation alone (in-process):   best {min(inner):.2f} s, median {statistics.median(inner):.2f} s"
    )
    print(
        f"  PyYAML C load of users.yml:      best {min(pyyaml):.2f} s, median {statistics.median(pyyaml):.2f} s"
    )
    print(f"  target {TARGET_SECONDS:.1f} s: {'met' if median <= TARGET_SECONDS else 'NOT met'} (median)")
    print(
        f"  voipctl validate / PyYAML C load: {ratio:.3f}, target <= {TARGET_RATIO}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'} (medians)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
