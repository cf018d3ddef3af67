"""SIP tests against the lab's call servers with SIPp from the controller.

Users, extensions, domains and passwords come from the lab inventory and
its vault (passwords derived from the master secret exactly as the call
servers' HA1 was), never from constants in the tests.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from voipctl import inventory, lab
from voipctl.derive.secrets import sip_password

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).with_name("scenarios")
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))
os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))

pytestmark = pytest.mark.lab
# SIPp binds several media ports above -mp: keep runs 10 ports apart.
_PORTS = itertools.count(5100, 10)


@dataclass(frozen=True)
class SipUser:
    id: str
    extension: str
    password: str
    site: str
    domain: str
    server: str
    status: str
    model: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def auth(self, password: str | None = None) -> str:
        return f"[authentication username={self.extension} password={password or self.password}]"


@dataclass
class SippResult:
    returncode: int
    log: str

    @property
    def final(self) -> str | None:
        lines = [line.split()[1] for line in self.log.splitlines() if line.startswith("FINAL ")]
        return lines[-1] if lines else None

    def value(self, key: str) -> str | None:
        lines = [
            line.split(" ", 1)[1].strip() for line in self.log.splitlines() if line.startswith(f"{key} ")
        ]
        return lines[-1] if lines else None


@pytest.fixture(scope="session")
def lab_topology() -> lab.Lab:
    return lab.load_lab(ROOT)


@pytest.fixture(scope="session")
def estate(lab_topology):
    inv = inventory.load(lab_topology.inventory_path)
    return inv


@pytest.fixture(scope="session")
def users(estate, lab_topology) -> dict[str, SipUser]:
    """Every user of the directory (leavers too), by id."""
    anyhost = next(iter(estate.hosts.values()))
    master = anyhost["vault_voip_sip_master_secret"]
    servers = {}
    for name in estate.hosts_in("call_servers"):
        hv = estate.hosts[name]
        servers[hv["voip_site"]] = (hv["voip_call_server"]["sip_domain"], hv["ansible_host"])
    result = {}
    for user in anyhost["voip_users"]:
        domain, server = servers[user["site"]]
        result[user["id"]] = SipUser(
            id=user["id"],
            extension=str(user["extension"]),
            password=sip_password(master, user["id"], int(user.get("password_rotation", 0))),
            site=user["site"],
            domain=domain,
            server=server,
            status=user.get("status", "active"),
            model=user,
        )
    return result


@pytest.fixture(scope="session")
def controller(lab_topology) -> str:
    """The controller's address on the lab network (where SIPp sends from)."""
    return lab_topology.gateway


@pytest.fixture(scope="session")
def sipp(controller, tmp_path_factory):
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed (make bootstrap installs sip-tester)")
    workdir = tmp_path_factory.mktemp("sipp")

    def run(scenario: str, server: str, fields: list[str], *, port: int | None = None, background: bool = False,
            timeout: int = 20):  # fmt: skip
        port = port or next(_PORTS)
        tag = f"{scenario}-{port}-{time.monotonic_ns()}"
        csv = workdir / f"{tag}.csv"
        csv.write_text("SEQUENTIAL\n" + ";".join(fields) + ";\n")
        log = workdir / f"{tag}.log"
        cmd = [
            "sipp", f"{server}:5060", "-sf", str(SCENARIOS / f"{scenario}.xml"), "-inf", str(csv),
            "-i", controller, "-p", str(port), "-mi", controller, "-mp", str(port + 10000),
            "-m", "1", "-l", "1", "-timeout", f"{timeout}s", "-timeout_error", "-nostdin",
            "-trace_logs", "-log_file", str(log), "-trace_err", "-error_file", str(workdir / f"{tag}.err"),
        ]  # fmt: skip
        if not fields:
            # The answering side needs no injection file.
            cmd = [c for c in cmd if c not in ("-inf", str(csv))]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def finish() -> SippResult:
            try:
                _, stderr = proc.communicate(timeout=timeout + 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr = proc.communicate()
            text = log.read_text() if log.exists() else ""
            return SippResult(proc.returncode, text + stderr)

        if background:
            return finish
        return finish()

    return run


@pytest.fixture(scope="session")
def register(sipp):
    def reg(user: SipUser, password: str | None = None, *, port: int | None = None) -> SippResult:
        return sipp("register", user.server, [user.extension, user.auth(password), user.domain], port=port)

    return reg


@pytest.fixture(scope="session")
def call(sipp):
    def dial(caller: SipUser, number: str) -> SippResult:
        return sipp("call", caller.server, [caller.extension, caller.auth(), caller.domain, number])

    return dial


@pytest.fixture(scope="session")
def answering(sipp, register):
    """Register ``user`` from a port and answer the next call there; returns a waiter for the result."""

    def start(user: SipUser):
        port = next(_PORTS)
        result = register(user, port=port)
        assert result.final == "200", result.log
        return sipp("answer", user.server, [], port=port, background=True)

    return start
