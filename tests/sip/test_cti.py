"""CTI links: JSON-RPC over HTTPS on the call servers, per account: credentials,
source networks and the methods of its rights. Sources are real lab
addresses: the controller, the outsider peer and a managed host."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from voiplab.lab import ansible_environment

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("tools") / "jsonrpc_call.py"
# A method no CTI right grants.
UNGRANTED = "core.shmmem"


@pytest.fixture(scope="session")
def cti(estate, kamailio_setting):
    """The CTI accounts of the model with their passwords (from the vault) and allowed methods."""
    host = estate.hosts["cs1"]
    rights = kamailio_setting("kamailio_cti_rights_methods")
    accounts = []
    for account in host["voip_cti_accounts"]:
        methods = sorted({m for right in account["rights"] for m in rights[right]})
        accounts.append({**account, "password": host[account["credentials_ref"]], "methods": methods})
    return accounts


@pytest.fixture(scope="session")
def rpc(lab_topology, cti_endpoint):
    """Call a method on a call server from a source: the controller, or a lab host or peer by name.

    Over HTTPS, the server's certificate pinned (it is the only CA the client trusts).
    """

    def call(source: str, server: str, account: str, password: str, method: str) -> dict:
        url, cafile = cti_endpoint(source, server)
        if source == "controller":
            cmd = [sys.executable, str(CLIENT), url, account, password, method, cafile]
        else:
            container = lab_topology.host(source).container(lab_topology.prefix)
            cmd = ["podman", "exec", "-i", container, "python3", "-", url, account, password, method, cafile]
        done = subprocess.run(
            cmd, input=CLIENT.read_text(), capture_output=True, text=True, timeout=30, check=True
        )
        return json.loads(done.stdout)

    return call


def sources(lab_topology, controller) -> dict[str, str]:
    """Every place a test can send from: name -> address."""
    found = {"controller": controller}
    found.update({h.name: h.address for h in lab_topology.hosts})
    return found


def inside(address: str, networks: list[str]) -> bool:
    return any(ipaddress.ip_address(address) in ipaddress.ip_network(n) for n in networks)


def source_in(lab_topology, controller, networks: list[str]) -> str:
    for name, address in sources(lab_topology, controller).items():
        if inside(address, networks):
            return name
    pytest.fail(f"no lab source inside {networks}")


def server_of(estate, account) -> str:
    return estate.hosts[account.get("call_servers", ["cs1"])[0]]["ansible_host"]


def test_account_calls_the_methods_of_its_rights(cti, estate, rpc, lab_topology, controller):
    for account in cti:
        assert account["methods"], f"{account['name']} has rights with methods"
        source = source_in(lab_topology, controller, account["source_networks"])
        answer = rpc(
            source, server_of(estate, account), account["name"], account["password"], account["methods"][0]
        )
        assert answer["status"] == 200, answer
        assert '"result"' in answer["body"], answer


def test_account_cannot_call_methods_beyond_its_rights(cti, estate, rpc, lab_topology, controller):
    all_methods = {m for a in cti for m in a["methods"]}
    for account in cti:
        source = source_in(lab_topology, controller, account["source_networks"])
        others = [*sorted(all_methods - set(account["methods"])), UNGRANTED]
        for method in others:
            answer = rpc(source, server_of(estate, account), account["name"], account["password"], method)
            assert answer["status"] == 403, (account["name"], method, answer)
            assert "method not allowed" in answer["body"]


def test_account_is_refused_from_another_source(cti, estate, rpc, lab_topology, controller):
    """From a source the firewall lets through for another account: Kamailio itself refuses."""
    cti_networks = [n for a in cti for n in a["source_networks"]]
    tried = 0
    for account in cti:
        for name, address in sources(lab_topology, controller).items():
            if inside(address, cti_networks) and not inside(address, account["source_networks"]):
                answer = rpc(
                    name,
                    server_of(estate, account),
                    account["name"],
                    account["password"],
                    account["methods"][0],
                )
                assert answer["status"] == 403, (account["name"], name, answer)
                assert "source not allowed" in answer["body"]
                tried += 1
    assert tried, "the lab has CTI accounts with different source networks"


def test_wrong_password_is_unauthorised(cti, estate, rpc, lab_topology, controller):
    account = cti[0]
    source = source_in(lab_topology, controller, account["source_networks"])
    answer = rpc(
        source,
        server_of(estate, account),
        account["name"],
        "not-" + account["password"],
        account["methods"][0],
    )
    assert answer["status"] == 401, answer


def test_hosts_outside_every_cti_network_cannot_connect(cti, estate, rpc, lab_topology, controller):
    """The firewall drops the CTI port for everyone else (defence in depth)."""
    cti_networks = [n for a in cti for n in a["source_networks"]]
    outside = next(
        h.name
        for h in lab_topology.hosts
        if h.systemd and not inside(h.address, cti_networks) and "call_servers" not in h.groups
    )
    account = cti[0]
    answer = rpc(
        outside, server_of(estate, account), account["name"], account["password"], account["methods"][0]
    )
    assert answer["status"] is None and answer["error"], answer


def test_a_credential_removed_by_hand_comes_back_and_only_its_table_is_reloaded(
    cti, estate, rpc, lab_topology, controller, podman_exec, kamailio_setting
):
    """users.yml syncs every table in one call; the handlers reload only the tables that changed."""
    account = cti[0]
    host = account.get("call_servers", ["cs1"])[0]
    server, db = server_of(estate, account), kamailio_setting("kamailio_db_path")
    source = source_in(lab_topology, controller, account["source_networks"])
    login = (source, server, account["name"], account["password"], account["methods"][0])
    assert rpc(*login)["status"] == 200
    podman_exec(host, "sqlite3", db, f"delete from htable where key_name = '{account['name']}'")
    podman_exec(host, "kamcmd", "htable.reload", "cti")
    assert rpc(*login)["status"] == 401, "the account still works without its credential"

    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / "playbooks" / "users.yml"),
         "--limit", f"{host}:localhost"],
        cwd=ROOT, env=ansible_environment(ROOT), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    handlers = dict(
        re.findall(
            # profile_tasks' time line comes before the result (linear) or after it (free: users.yml).
            r"RUNNING HANDLER \[voip\.estate\.kamailio : (.+?)\] \**\n(?:\w+day [^\n]*\n)?(\w+): \[" + host,
            run.stdout,
        )
    )
    assert handlers == {
        "Reload kamailio trusted peers": "skipping",
        "Reload kamailio dispatcher": "skipping",
        "Reload kamailio CTI credentials": "changed",
    }, run.stdout[-3000:]
    assert rpc(*login)["status"] == 200, "the restored credential is not in force"


def test_plain_http_gets_no_answer(cti, estate, lab_topology, controller, kamailio_setting):
    """The CTI port speaks HTTPS only: a plain-HTTP request with valid credentials gets nothing."""
    account = cti[0]
    source = source_in(lab_topology, controller, account["source_networks"])
    assert source == "controller", "the lab's first CTI account is allowed from the controller"
    url = f"http://{server_of(estate, account)}:{kamailio_setting('kamailio_cti_port')}/RPC"
    done = subprocess.run(
        [sys.executable, str(CLIENT), url, account["name"], account["password"], account["methods"][0]],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    answer = json.loads(done.stdout)
    assert answer["status"] is None and answer["error"], answer
