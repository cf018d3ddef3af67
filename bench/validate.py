"""Benchmark: time to validate a generated 100,000-user estate (``make bench``).

Generates the estate once into a cache directory (deterministic, seeded),
then times ``voipctl validate`` end to end in a fresh process, as an operator
or the preflight play would run it, and the validation alone in-process.
Prints figures; the target is at most 5 s on the 2-core controller. Not a
test: the machine's load decides the exact figure.
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


def estate(users: int, sites: int, cache: Path) -> Path:
    """The generated estate for (users, sites), written once under ``cache`` per version of the generator."""
    recipe = hashlib.sha256(Path(generate_module.__file__).read_bytes()).hexdigest()[:12]
    out = cache / f"estate-{users}u-{sites}s-{recipe}"
    if not (out / "hosts.yml").is_file():
        started = time.perf_counter()
        write(generate(users, sites, seed=1), out)
        print(f"generated {users} users, {sites} sites in {time.perf_counter() - started:.1f} s: {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=ROOT / ".lab" / "bench")
    args = parser.parse_args(argv)
    path = estate(args.users, args.sites, args.cache)
    size = (path / "group_vars" / "all" / "users.yml").stat().st_size / 1e6
    voipctl = Path(sys.executable).with_name("voipctl")
    command = [str(voipctl), "validate", "-i", str(path)]
    walls, inner = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:])
            print("bench: the generated estate does not validate")
            return 1
        started = time.perf_counter()
        result = validate(path)
        inner.append(time.perf_counter() - started)
        assert not result.errors
    best, median = min(walls), statistics.median(walls)
    print(f"validate {args.users} users ({size:.1f} MB users.yml), {args.runs} runs:")
    print(f"  voipctl validate (process, wall): best {best:.2f} s, median {median:.2f} s")
    print(
        f"  validation alone (in-process):   best {min(inner):.2f} s, median {statistics.median(inner):.2f} s"
    )
    print(f"  target {TARGET_SECONDS:.1f} s: {'met' if median <= TARGET_SECONDS else 'NOT met'} (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
