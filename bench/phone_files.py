"""Benchmark: the provisioning files of N desk phones through the phone_files module (default 10,000).

Derives the phones of a generated estate (``voipctl generate-estate``,
seeded; users without a device are given one until N phones exist), then
runs the module as Ansible would (arguments validated by AnsibleModule,
the JSON result printed and parsed) into a temporary directory, timed:

1. the first run (every file written);
2. a rerun with nothing changed (render + compare only);
3. one user's password rotated (one file written).

Prints seconds and the counts. Not a test: the machine's load decides the
exact figures; the target is a few seconds for the no-change rerun.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from ansible.module_utils.testing import patch_module_args
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from voipctl.core.activity import active_users
from voipctl.derive.phones import phone_common, phone_data
from voipctl.generate import generate

ROOT = Path(__file__).resolve().parents[1]
# The collection's module_utils import through Ansible's collection finder (as in the tests).
_AnsibleCollectionFinder(paths=[str(ROOT / "collections")])._install()

MASTER = "bench-only-master-secret-not-a-secret"


def estate_phones(count: int) -> tuple[list[dict], dict]:
    """``count`` phones of a generated estate (and the common settings), derived as the filters do."""
    files = generate(max(count + count // 10, 20), 2, seed=1)
    users = files["group_vars/all/users.yml"]["voip_users"]
    sites = files["group_vars/all/sites.yml"]["voip_sites"]
    models = files["group_vars/all/phone_models.yml"]["voip_phone_models"]
    release = files["group_vars/all/release.yml"]["voip_release"]
    hosts = files["hosts.yml"]["all"]["children"]["linux"]["children"]["call_servers"]["hosts"]
    servers = [
        {"name": name, "site": host["voip_site"], "address": host["ansible_host"],
         "sip_domain": files[f"host_vars/{name}/call_server.yml"]["voip_call_server"]["sip_domain"]}
        for name, host in hosts.items()
    ]  # fmt: skip
    model_names = sorted(models)
    active = active_users(users)
    have = sum(len(u.get("devices") or []) for u in active)
    for n, user in enumerate(u for u in active if not u.get("devices")):
        if have >= count:
            break
        user["devices"] = [{"mac": f"02:00:{n >> 24 & 255:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
                            "model": model_names[n % len(model_names)]}]  # fmt: skip
        have += 1
    args = dict(sites=sites, phone_models=models, release=release, provisioning_url="http://prov.example")
    phones = phone_data(users=users, call_servers=servers, master_secret=MASTER, **args)[:count]
    return phones, phone_common(**args)


def run_module(args: dict) -> tuple[float, dict]:
    """One module run as Ansible makes it; (seconds, result)."""
    from ansible_collections.voip.estate.plugins.modules.phone_files import main

    out = io.StringIO()
    started = time.perf_counter()
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main()
    seconds = time.perf_counter() - started
    return seconds, json.loads(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=10_000)
    options = parser.parse_args(argv)

    started = time.perf_counter()
    phones, common = estate_phones(options.phones)
    print(f"derived {len(phones)} phones in {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory(prefix="bench-phones-") as dest:
        # The phones as the role passes them: one JSON string.
        args = {"dest": dest, "phones": json.dumps(phones), "common": common, "_ansible_diff": True}
        for label, run_args in (
            ("first run", args),
            ("no-change rerun", args),
            ("one password rotated", {**args, "phones": json.dumps(rotated(phones))}),
        ):
            seconds, result = run_module(copy.deepcopy(run_args))
            if result.get("failed"):
                print(f"{label}: FAILED: {result.get('msg')}")
                return 1
            print(f"{label:22s} {seconds:6.2f} s  changed={result['changed']}  {result['counts']}")
    return 0


def rotated(phones: list[dict]) -> list[dict]:
    changed = copy.deepcopy(phones)
    changed[len(changed) // 2]["account"]["password"] = "rotated-bench-password"
    return changed


if __name__ == "__main__":
    sys.exit(main())
