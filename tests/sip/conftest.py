"""SIP tests against the lab's call servers with SIPp from the controller.

Users, extensions, domains and passwords come from the lab inventory and
its vault (passwords derived from the master secret exactly as the call
servers' HA1 was), never from constants in the tests.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import phone_http
import pytest
import yaml

from voipctl.adapters import inventory
from voipctl.core.passwords import purpose_key, user_sip_password
from voiplab import topology

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).with_name("scenarios")
TOOLS = Path(__file__).with_name("tools")
SIPRAW = TOOLS / "sipraw.py"
LISTENER = TOOLS / "sip_listener.py"
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))
os.environ.setdefault("ANSIBLE_VAULT_PASSWORD_FILE", str(ROOT / "lab" / "vault-password.lab"))

pytestmark = pytest.mark.lab
# SIPp binds several media ports above -mp: keep runs 10 ports apart.
_PORTS = itertools.count(5100, 10)


@dataclass(frozen=True)
class SipUser:
    id: str
    extension: str
    password: str = field(repr=False)
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
def lab_topology() -> topology.Lab:
    return topology.load_lab(ROOT)


@pytest.fixture(scope="session")
def estate(lab_topology):
    inv = inventory.load(lab_topology.inventory_path)
    return inv


@pytest.fixture(scope="session")
def device_login(estate, podman_exec):
    """mac -> the phone's provisioning login (user: the bare MAC), as the provisioning server keeps it.

    The password's generation is the device's ``password_rotation`` in the
    model (``rotation`` overrides it). Phones fetch over HTTPS when the lab
    has TLS on: the certificate each provisioning server made is trusted here.
    """
    from ansible_collections.voip.estate.plugins.module_utils.voip_phone_files import device_http_password

    anyhost = next(iter(estate.hosts.values()))
    secret = purpose_key(anyhost["vault_voip_sip_master_secret"], "phone-http")
    rotations = {
        str(device["mac"]).replace(":", "").lower(): int(device.get("password_rotation", 0))
        for user in anyhost["voip_users"]
        for device in user.get("devices") or []
    }
    for name in estate.hosts_in("provisioning_servers"):
        if estate.hosts[name].get("provisioning_server_tls"):
            certificate = (
                estate.hosts[name].get("provisioning_server_tls_certificate") or "/etc/nginx/provisioning.crt"
            )
            phone_http.trust(podman_exec(name, "cat", certificate).stdout)

    def login(mac: str, rotation: int | None = None) -> tuple[str, str]:
        bare = mac.replace(":", "").lower()
        return bare, device_http_password(
            secret, bare, rotations.get(bare, 0) if rotation is None else rotation
        )

    return login


@pytest.fixture(scope="session")
def users(estate, lab_topology) -> dict[str, SipUser]:
    """Every user of the directory (leavers too), by id."""
    anyhost = next(iter(estate.hosts.values()))
    master = anyhost["vault_voip_sip_master_secret"]
    servers = {}
    for name in sorted(estate.hosts_in("call_servers")):
        # A site's first call server by name is its phones' primary proxy.
        hv = estate.hosts[name]
        servers.setdefault(hv["voip_site"], (hv["voip_call_server"]["sip_domain"], hv["ansible_host"]))
    result = {}
    for user in anyhost["voip_users"]:
        domain, server = servers[user["site"]]
        result[user["id"]] = SipUser(
            id=user["id"],
            extension=str(user["extension"]),
            password=user_sip_password(master, user),
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


class SippRun:
    """A SIPp run in the background: call it to wait for the result, ``kill`` to abandon it."""

    def __init__(self, proc: subprocess.Popen, timeout: int, read_log):
        self.proc = proc
        self.timeout = timeout
        self.read_log = read_log
        self.result: SippResult | None = None

    def __call__(self) -> SippResult:
        if self.result is None:
            try:
                _, stderr = self.proc.communicate(timeout=self.timeout + 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                _, stderr = self.proc.communicate()
            self.result = SippResult(self.proc.returncode, self.read_log() + (stderr or ""))
        return self.result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _sipp_args(scenario: str, server: str, local: str, port: int, timeout: int, log: str, *, calls: int = 1,
               limit: int = 1) -> list[str]:  # fmt: skip
    return [
        "sipp", f"{server}:5060", "-sf", scenario, "-i", local, "-p", str(port), "-mi", local,
        "-mp", str(port + 10000), "-m", str(calls), "-l", str(limit), "-timeout", f"{timeout}s", "-timeout_error",
        "-nostdin", "-trace_logs", "-log_file", log,
    ]  # fmt: skip


@pytest.fixture(scope="session")
def sipp(controller, tmp_path_factory):
    """Run a scenario from the controller; ``background=True`` returns a SippRun."""
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed (make bootstrap installs sip-tester)")
    workdir = tmp_path_factory.mktemp("sipp")

    def run(scenario: str, server: str, fields: list[str], *, port: int | None = None, background: bool = False,
            timeout: int = 20):  # fmt: skip
        port = port or next(_PORTS)
        tag = f"{scenario}-{port}-{time.monotonic_ns()}"
        log = workdir / f"{tag}.log"
        cmd = _sipp_args(str(SCENARIOS / f"{scenario}.xml"), server, controller, port, timeout, str(log))
        if fields:
            csv = workdir / f"{tag}.csv"
            csv.write_text("SEQUENTIAL\n" + ";".join(fields) + ";\n")
            cmd += ["-inf", str(csv)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        handle = SippRun(proc, timeout, lambda: log.read_text() if log.exists() else "")
        return handle if background else handle()

    return run


@pytest.fixture(scope="session")
def sipp_load(controller, tmp_path_factory):
    """Run a scenario from the controller for ``calls`` calls in the background, at ``rate`` new calls
    per second (a caller) or as they come (a called party, ``rate=None``); returns a SippRun whose
    log every call of the run writes to."""
    workdir = tmp_path_factory.mktemp("sipp-load")

    def run(scenario: str, server: str, fields: list[str], *, port: int, calls: int, rate: int | None = None,
            limit: int = 500, timeout: int = 120) -> SippRun:  # fmt: skip
        log = workdir / f"{scenario}-{port}-{time.monotonic_ns()}.log"
        cmd = _sipp_args(str(SCENARIOS / f"{scenario}.xml"), server, controller, port, timeout, str(log),
                         calls=calls, limit=limit)  # fmt: skip
        # What went wrong with a failed call (unexpected answers, timeouts): after the log.
        errors = log.with_suffix(".err")
        cmd += ["-trace_err", "-error_file", str(errors)]
        if rate is not None:
            cmd += ["-r", str(rate), "-rp", "1000"]
        if fields:
            # One row, or a list of rows that the calls take in turn.
            rows = fields if isinstance(fields[0], list) else [fields]
            csv = workdir / f"{scenario}-{port}.csv"
            csv.write_text("SEQUENTIAL\n" + "".join(";".join(row) + ";\n" for row in rows))
            cmd += ["-inf", str(csv)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rate is None:
            _wait_local_listening(port)
        return SippRun(proc, timeout, lambda: "".join(p.read_text() for p in (log, errors) if p.exists()))

    return run


@pytest.fixture(scope="session")
def voipctl():
    """Run ``voipctl ARGS`` from the checkout against the lab, as an operator would: its completed process."""
    from voiplab.lab import ansible_environment

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "voipctl.cli", *args],
            cwd=ROOT, env=ansible_environment(ROOT), capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    return run


@pytest.fixture(scope="session")
def podman_exec(lab_topology):
    """Run a command in a lab container (peers run no SSH; tests drive them this way)."""

    def run(host: str, *command: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        container = lab_topology.host(host).container(lab_topology.prefix)
        interactive = ["-i"] if "input" in kwargs else []
        return subprocess.run(["podman", "exec", *interactive, container, *command], capture_output=True,
                              text=True, check=check, **kwargs)  # fmt: skip

    return run


@pytest.fixture(scope="session")
def peer(lab_topology, podman_exec):
    """Start a scenario on a lab peer (carrier, voicemail, outsider) at its SIP port; returns a SippRun.

    A scenario without ``fields`` is a called party: the call waits until it listens
    (``listening`` says so for one with fields).
    """
    copied = set()

    def start(name: str, scenario: str, *, timeout: int = 20, port: int = 5060, server: str = "127.0.0.1",
              fields: list[str] | None = None, listening: bool | None = None) -> SippRun:  # fmt: skip
        host = lab_topology.host(name)
        container = host.container(lab_topology.prefix)
        if name not in copied:
            subprocess.run(["podman", "cp", f"{SCENARIOS}/.", f"{container}:/tmp/scenarios"], check=True)
            copied.add(name)
        tag = f"/tmp/{scenario}-{time.monotonic_ns()}"
        log = f"{tag}.log"
        cmd = _sipp_args(f"/tmp/scenarios/{scenario}.xml", server, host.address, port, timeout, log)
        if fields:
            podman_exec(name, "sh", "-c", f"cat > {tag}.csv", input="SEQUENTIAL\n" + ";".join(fields) + ";\n")
            cmd += ["-inf", f"{tag}.csv"]
        proc = subprocess.Popen(["podman", "exec", container, *cmd], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        if (not fields) if listening is None else listening:
            # A called party: wait until it listens.
            _wait_listening(podman_exec, name, port, proc)

        def read_log() -> str:
            return podman_exec(name, "cat", log, check=False).stdout

        return SippRun(proc, timeout, read_log)

    return start


def _wait_listening(podman_exec, host: str, port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until SIPp listens on ``port`` of ``host``; a SIPp that exited first fails with what it said.

    20 s: on the 2-core machine under the whole suite, SIPp in a peer once took over 10 s to bind.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if podman_exec(host, "ss", "-Hlun", f"sport = :{port}", check=False).stdout.strip():
            return
        if proc.poll() is not None:
            pytest.fail(
                f"SIPp on lab peer {host} exited ({proc.returncode}) before it listened: {proc.stderr.read()}"
            )
        time.sleep(0.1)
    pytest.fail(f"nothing listens on udp port {port} of lab peer {host} after {timeout:.0f}s")


def _wait_local_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["ss", "-Hlun", f"sport = :{port}"], capture_output=True, text=True, check=False
        )
        if found.stdout.strip():
            return
        time.sleep(0.05)
    pytest.fail(f"SIPp did not listen on udp port {port} within {timeout:.0f}s")


@pytest.fixture(scope="session")
def kamailio_setting(estate):
    """A kamailio role setting as cs1 gets it: the inventory's value, else the role default."""
    defaults = yaml.safe_load(
        (
            ROOT / "collections/ansible_collections/voip/estate/roles" / "kamailio" / "defaults" / "main.yml"
        ).read_text()
    )

    def get(name: str):
        host = estate.hosts["cs1"]
        return host[name] if name in host else defaults[name]

    return get


@pytest.fixture(scope="session")
def call_servers(lab_topology, estate) -> dict[str, str]:
    """The primary call server (the first by name) of each site, by site."""
    primary: dict[str, str] = {}
    for name in sorted(estate.hosts_in("call_servers")):
        primary.setdefault(estate.hosts[name]["voip_site"], name)
    return primary


@pytest.fixture(scope="session")
def site_servers(lab_topology, estate) -> dict[str, list[str]]:
    """Every call server of each site (a pair has two), by name, by site."""
    found: dict[str, list[str]] = {}
    for name in sorted(estate.hosts_in("call_servers")):
        found.setdefault(estate.hosts[name]["voip_site"], []).append(name)
    return found


@pytest.fixture(scope="session", autouse=True)
def no_stale_registrations(users, site_servers, podman_exec, controller):
    """Start (and end) with no bindings of directory users: stale contacts would fork calls to nobody
    (not in a restore drill's checks: the registrations there are the site's live ones).

    The controller's authentication failures (the tests make some on
    purpose) are forgotten too, so that repeated test runs do not add up to
    a ban of the controller.
    """

    # The checks of a restore drill (check_restored.py) run while the site goes on: a binding
    # removed on any member of a pair is removed on the others too (DMQ), so they keep them all.
    drill = bool(os.environ.get("VOIP_DRILL_HOST"))

    def clear():
        for user in [] if drill else users.values():
            for server in site_servers[user.site]:
                podman_exec(server, "kamcmd", "ul.rm", "location", f"s:{user.extension}", check=False)
        for server in (name for names in site_servers.values() for name in names):
            for table in ("authfail", "ipban"):
                podman_exec(server, "kamcmd", "htable.delete", table, controller, check=False)

    clear()
    yield
    clear()


@pytest.fixture(scope="session")
def forget_bans(podman_exec):
    """Forget a source's ban and its counted authentication failures on a call server (by name)."""

    def forget(server: str, address: str) -> None:
        for table in ("ipban", "authfail"):
            podman_exec(server, "kamcmd", "htable.delete", table, address, check=False)

    return forget


@pytest.fixture(scope="session")
def register(sipp):
    """REGISTER ``user`` from ``port``; unless ``keep``, the binding is removed again after a 200."""

    def reg(user: SipUser, password: str | None = None, *, port: int | None = None, keep: bool = False
            ) -> SippResult:  # fmt: skip
        port = port or next(_PORTS)
        result = sipp(
            "register", user.server, [user.extension, user.auth(password), user.domain, "300"], port=port
        )
        if result.final == "200" and not keep:
            unregister(user, port)
        return result

    def unregister(user: SipUser, port: int) -> None:
        result = sipp("register", user.server, [user.extension, user.auth(), user.domain, "0"], port=port)
        assert result.final == "200", f"removing the binding of {user.extension}: {result.log}"

    reg.unregister = unregister
    return reg


@pytest.fixture(scope="session")
def call(sipp):
    def dial(caller: SipUser, number: str, *, domain: str | None = None) -> SippResult:
        """Call ``number`` at the caller's domain (or ``domain``) through the caller's call server."""
        fields = [caller.extension, caller.auth(), caller.domain, number, domain or caller.domain]
        return sipp("call", caller.server, fields)

    return dial


def _phones(sipp, register):
    """Start registered phones (``start``) until the generator resumes; then unregister them all.

    A phone's ``release()`` unregisters it at once (a contact nobody answers
    at any more would hold a later call's CANCEL until tm's timeout).
    """
    started = []

    def start(user: SipUser, scenario: str = "answer") -> SippRun:
        port = next(_PORTS)
        result = register(user, port=port, keep=True)
        assert result.final == "200", result.log
        handle = sipp(scenario, user.server, [], port=port, background=True)
        entry = [user, port, handle, False]

        def release() -> None:
            if not entry[3]:
                entry[3] = True
                handle.kill()
                register.unregister(user, port)

        handle.release = release
        started.append(entry)
        _wait_local_listening(port)
        return handle

    yield start
    for _user, _port, handle, _released in started:
        handle.release()


@pytest.fixture
def phone(sipp, register):
    """A registered phone of ``user`` that plays ``scenario`` (answer, busy, ring) on the next call.

    Returns a SippRun; the phone's binding is removed when the test ends.
    """
    yield from _phones(sipp, register)


@pytest.fixture(scope="module")
def module_phone(sipp, register):
    """``phone`` for a module-scoped fixture: the bindings are removed when the module ends."""
    yield from _phones(sipp, register)


@pytest.fixture
def answering(phone):
    """Register ``user`` and answer the next call there; returns a waiter for the result."""

    def start(user: SipUser) -> SippRun:
        return phone(user, "answer")

    return start


@pytest.fixture(scope="session")
def cti_endpoint(lab_topology, estate, kamailio_setting, podman_exec, tmp_path_factory):
    """(URL, CA file) of a call server's CTI for a source: HTTPS, the server's own certificate pinned.

    The certificate is read from the call server and placed where the
    source (the controller, or a lab container by name) can read it.
    """
    port = kamailio_setting("kamailio_cti_port")
    certificate = kamailio_setting("kamailio_tls_certificate")
    by_address = {estate.hosts[n]["ansible_host"]: n for n in estate.hosts_in("call_servers")}
    workdir = tmp_path_factory.mktemp("cti-ca")
    placed: dict[tuple[str, str], str] = {}

    def endpoint(source: str, server: str) -> tuple[str, str]:
        if (source, server) not in placed:
            pem = podman_exec(by_address[server], "cat", certificate).stdout
            if source == "controller":
                path = workdir / f"{server}.crt"
                path.write_text(pem)
                placed[source, server] = str(path)
            else:
                path = f"/tmp/cti-{server}.crt"
                podman_exec(source, "sh", "-c", f"cat > {path}", input=pem)
                placed[source, server] = path
        return f"https://{server}:{port}/RPC", placed[source, server]

    return endpoint


# --- Crafted SIP requests and SIP listeners (tools/sipraw.py, tools/sip_listener.py) ------------


@pytest.fixture(scope="session")
def sipraw(lab_topology):
    """Run tools/sipraw.py from the controller (where="controller") or a lab peer; returns its results."""

    def run(where: str, local: str, server: str, specs: list[dict], *, transport: str = "udp",
            gap: float = 0.25) -> list[dict]:  # fmt: skip
        args = [local, server, json.dumps(specs), "--transport", transport, "--gap", str(gap)]
        limit = sum(float(s.get("timeout", 3)) + 1.5 for s in specs) + gap * len(specs) + 15
        if where == "controller":
            cmd, stdin = [sys.executable, str(SIPRAW), *args], None
        else:
            container = lab_topology.host(where).container(lab_topology.prefix)
            cmd, stdin = ["podman", "exec", "-i", container, "python3", "-", *args], SIPRAW.read_text()
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=limit, check=False)
        assert done.returncode == 0, f"sipraw on {where} failed: {done.stderr}"
        return json.loads(done.stdout)["results"]

    return run


class Listener:
    """tools/sip_listener.py on the controller or a lab peer, until ``stop()`` (its output goes to a file)."""

    def __init__(self, where: str, address: str, port: int, container: str | None, stop_file: str, out: Path,
                 group: list[Listener], extra: tuple[str, ...] = ()):  # fmt: skip
        self.where, self.address, self.port = where, address, port
        self.container, self.stop_file, self.out, self.group = container, stop_file, out, group
        args = [address, str(port), "--tcp", "--duration", "60", "--stop-file", stop_file, *extra]
        if container is None:
            cmd, stdin = [sys.executable, "-u", str(LISTENER), *args], None
        else:
            cmd, stdin = (
                ["podman", "exec", "-i", container, "python3", "-u", "-", *args],
                LISTENER.read_text(),
            )
        with out.open("w") as sink:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT, text=True
            )
        self.proc.stdin.write(stdin or "")
        self.proc.stdin.close()
        self.proc.stdin = None
        self.stopping = False
        self.requests: list[dict] | None = None
        self.other: list[dict] = []
        self.nonces: list[str] = []

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.proc.poll() is None:
            if '"ready"' in self.out.read_text():
                return
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        pytest.fail(
            f"the SIP listener on {self.where} {self.address}:{self.port} did not start: {self.out.read_text()}"
        )

    def request_stop(self) -> subprocess.Popen | None:
        if self.stopping:
            return None
        self.stopping = True
        if self.container is None:
            Path(self.stop_file).touch()
            return None
        return subprocess.Popen(["podman", "exec", self.container, "touch", self.stop_file])

    def stop(self) -> list[dict]:
        """Stop every listener of the test still running (all at once), then read this one's report."""
        if self.requests is not None:
            return self.requests
        touches = [t for t in (listener.request_stop() for listener in self.group) if t is not None]
        for touch in touches:
            touch.wait(timeout=15)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        out = self.out.read_text()
        lines = [line for line in out.splitlines() if line.startswith('{"address"')]
        assert lines, f"the SIP listener on {self.where} gave no report: {out}"
        report = json.loads(lines[-1])
        self.requests, self.other = report["requests"], report["other"]
        self.nonces = report.get("nonces", [])
        return self.requests

    def invites(self) -> list[dict]:
        return [r for r in self.stop() if r["method"] == "INVITE"]

    def seen(self) -> str:
        return "; ".join(f"{r['transport']} {r['method']} {r['uri']} from {r['source'][0]}:{r['source'][1]}"
                         for r in self.stop())  # fmt: skip


@pytest.fixture
def listen(lab_topology, podman_exec, tmp_path):
    """Start SIP listeners (all at once, then wait until each listens); stopped at the end of the test.

    Each is (where, address, port) or (where, address, port, extra arguments of the listener).
    """
    started: list[Listener] = []

    def start(*where: tuple) -> list[Listener]:
        batch = []
        for name, address, port, *extra in where:
            tag = secrets.token_hex(4)
            if name == "controller":
                container, stop_file = None, str(tmp_path / f"stop-{tag}")
            else:
                # The port must be free: another party there would take the calls we watch for.
                held = podman_exec(name, "ss", "-Hlnut", f"sport = :{port}", check=False).stdout.strip()
                assert not held, f"something already holds port {port} on {name}: {held}"
                container = lab_topology.host(name).container(lab_topology.prefix)
                stop_file = f"/tmp/sip-listener-stop-{tag}"
            batch.append(Listener(name, address, port, container, stop_file, tmp_path / f"listener-{tag}.out",
                                  started, tuple(extra[0]) if extra else ()))  # fmt: skip
        started.extend(batch)
        for listener in batch:
            listener.wait_ready()
        return batch

    yield start
    for listener in started:
        listener.stop()
