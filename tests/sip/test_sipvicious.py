"""SIPVicious OSS, the toolkit of real SIP scans, from the untrusted outsider peer
against the ams call server: what an attacker learns.

svmap learns no software version, svwar no extension (by REGISTER, INVITE and
OPTIONS: every number gets the answer an unknown number gets), svcrack no
password before its source is banned. Each tool runs with the User-Agent it
ships with ("friendly-scanner", which the routing library from 1.1 on leaves
unanswered) and disguised as a desk phone, which the server answers like any
phone: the outcomes are then the server's doing, not the User-Agent filter's.
The toolkit is the pinned package of the controller's venv, copied into the
outsider and run there (tools/sipvicious_ua.py disguises it, and mends
svcrack's digest: as shipped it adds qop=auth to its answer to a challenge
without qop, which the server rejects whatever the password).
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

WRAPPER = Path(__file__).with_name("tools") / "sipvicious_ua.py"
REMOTE = "/tmp/sipvicious-oss"
SCANNER_UA = "friendly-scanner"
PHONE_UA = "Yealink SIP-T54W"
VERSION = re.compile(r"\d+\.\d+")
# The tools bind their own SIP port on the outsider: keep clear of the SIPp ports other tests use there.
_PORTS = itertools.count(5260, 2)


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    domain: str


@dataclass
class ToolRun:
    returncode: int
    output: str

    @property
    def disguise(self) -> dict | None:
        found = re.findall(r"^sipvicious_ua: (\{.*\})$", self.output, re.M)
        return json.loads(found[-1]) if found else None


@pytest.fixture(scope="module")
def target(call_servers, estate) -> Target:
    """The ams call server, as a scanner on the lab network sees it."""
    name = call_servers["ams"]
    host = estate.hosts[name]
    return Target(name, host["ansible_host"], host["voip_call_server"]["sip_domain"])


@pytest.fixture(scope="module")
def outsider(lab_topology):
    return lab_topology.host("outsider")


@pytest.fixture(scope="module")
def toolkit(outsider, lab_topology) -> str:
    """SIPVicious (pure Python, no dependencies) and the disguise wrapper, copied into the outsider."""
    import sipvicious

    container = outsider.container(lab_topology.prefix)
    package = Path(sipvicious.__file__).parent
    subprocess.run(["podman", "exec", container, "rm", "-rf", REMOTE], check=True, timeout=30)
    subprocess.run(["podman", "exec", container, "mkdir", "-p", REMOTE], check=True, timeout=30)
    subprocess.run(["podman", "cp", str(package), f"{container}:{REMOTE}/"], check=True, timeout=60)
    subprocess.run(["podman", "cp", str(WRAPPER), f"{container}:{REMOTE}/"], check=True, timeout=60)
    check = subprocess.run(
        ["podman", "exec", "-e", f"PYTHONPATH={REMOTE}", container, "python3", "-c",
         "import sipvicious.svmap, sipvicious.svwar, sipvicious.svcrack"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    return container


@pytest.fixture
def unbanned(target, outsider, forget_bans):
    """The outsider starts and ends with no ban and no counted failures on the ams call server."""
    forget_bans(target.name, outsider.address)
    yield outsider.address
    forget_bans(target.name, outsider.address)


@pytest.fixture
def sipvicious(toolkit, outsider, unbanned):
    """Run a tool on the outsider: ``useragent=None`` as shipped, else through the disguise wrapper."""

    def run(tool: str, *args: str, useragent: str | None = None, fix_digest: bool = False,
            timeout: int = 60) -> ToolRun:  # fmt: skip
        port = str(next(_PORTS))
        common = ["-b", outsider.address, "-x", outsider.address, "-P", port]
        if useragent is None and not fix_digest:
            program = ["-m", f"sipvicious.{tool}"]
        else:
            wrapper = [f"{REMOTE}/{WRAPPER.name}", *(["--fix-digest"] if fix_digest else [])]
            program = [*wrapper, useragent or SCANNER_UA, tool]
        cmd = [
            "podman", "exec", "-e", f"PYTHONPATH={REMOTE}", toolkit,
            "timeout", "-k", "5", str(timeout), "python3", *program, *common, *args,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30, check=False)
        assert done.returncode != 124, f"{tool} did not finish within {timeout}s: {done.stdout}{done.stderr}"
        result = ToolRun(done.returncode, done.stdout + done.stderr)
        if useragent is not None:
            disguise = result.disguise
            assert disguise and disguise["requests"] > 0, result.output
            assert disguise["disguised"] == disguise["requests"], (
                "not every request was disguised",
                disguise,
            )
        return result

    return run


@pytest.fixture(params=[None, PHONE_UA], ids=["scanner-ua", "phone-ua"])
def useragent(request) -> str | None:
    return request.param


def ban_of(podman_exec, server: str, address: str) -> str | None:
    """The ipban entry of a source (kamcmd answers a missing key with an error text)."""
    out = podman_exec(server, "kamcmd", "htable.get", "ipban", address, check=False).stdout
    return None if "error" in out.lower() or "value" not in out else out


def failures_of(podman_exec, server: str, address: str) -> int:
    out = podman_exec(server, "kamcmd", "htable.get", "authfail", address, check=False).stdout
    found = re.search(r"value:\s*(\d+)", out)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def ams_numbers(users, target) -> dict[str, list[str]]:
    """Numbers to scan: every ams user's extension (active and leavers) and unknown numbers around them."""
    site = [u for u in users.values() if u.server == target.address]
    taken = {u.extension for u in users.values()}
    numeric = sorted(int(u.extension) for u in site)
    span = [str(n) for n in range(numeric[0] - 2, numeric[-1] + 3)]
    numbers = {
        "active": sorted(u.extension for u in site if u.status == "active"),
        "leaver": sorted(u.extension for u in site if u.status != "active"),
        "unknown": [n for n in span if n not in taken],
        "span": span,
    }
    assert numbers["active"] and numbers["leaver"] and numbers["unknown"], numbers
    assert set(numbers["active"] + numbers["leaver"]) <= set(span)
    return numbers


# -- svmap ---------------------------------------------------------------------------------------


def fingerprints(output: str) -> list[str]:
    """What svmap names a device by: its table's User Agent column and its log lines."""
    rows = re.findall(r"^\|\s*(\S+:\d+)\s*\|\s*(.*?)\s*\|$", output, re.M)
    logged = re.findall(r"^INFO:DrinkOrSip:\S+\t->\t\S+\t->\t(.*)$", output, re.M)
    return [ua for device, ua in rows if device != "SIP Device"] + logged


@pytest.mark.parametrize("method", ["OPTIONS", "REGISTER", "INVITE"])
def test_svmap_learns_no_software_version(sipvicious, target, useragent, method):
    """svmap's fingerprint (the Server or User-Agent of the answer) names no product version.

    Disguised, the scan is answered (the device is found), so the fingerprint
    is really what the server says about itself.
    """
    extra = ["--fromname", "T54W"] if useragent else []
    run = sipvicious("svmap", "-v", "-m", method, *extra, target.address, useragent=useragent, timeout=30)
    found = fingerprints(run.output)
    if useragent:
        assert found, f"the disguised svmap found no device: {run.output}"
    for fingerprint in found:
        assert not VERSION.search(fingerprint), (fingerprint, run.output)
        assert "kamailio" not in fingerprint.lower(), (fingerprint, run.output)
    assert "kamailio" not in run.output.lower(), run.output


# -- svwar ---------------------------------------------------------------------------------------


def extensions_found(output: str) -> list[str]:
    """The extensions svwar reports (its log lines and its result table)."""
    logged = re.findall(r"extension '([^']+)' (?:exists|probably exists)", output)
    rows = re.findall(r"^\|\s*(\S+)\s*\|\s*(?:reqauth|noauth|weird)\s*\|$", output, re.M)
    return sorted(set(logged + rows))


def answers(output: str) -> dict[str, set[str]]:
    """Status lines of the answers svwar printed (--debug), by the number in their To header."""
    found: dict[str, set[str]] = {}
    for line in output.splitlines():
        if not line.startswith(("b'", 'b"')):
            continue
        try:
            message = ast.literal_eval(line).decode(errors="replace")
        except (ValueError, SyntaxError, AttributeError):
            continue
        to = re.search(r"^(?:To|t):[^<\n]*<sip:([^@>]+)@", message, re.M | re.I)
        if message.startswith("SIP/2.0 ") and to:
            found.setdefault(to.group(1), set()).add(message.split("\r\n", 1)[0])
    return found


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_svwar_finds_no_extension(sipvicious, target, ams_numbers, useragent, method):
    """svwar finds none of the ams numbers: active users, a leaver, unknown numbers.

    svwar first asks for a random number and counts an extension as found
    when its answer differs from that one. As shipped it runs over the whole
    span, as an attacker would. Disguised it asks for each number on its own
    (forced past its initial check, which gives up when even the random
    number is challenged): every number is answered, and exactly as the
    random unknown number is.
    """
    span = ams_numbers["span"]
    common = ["-v", "--debug", "-t", "0.05", "--maximumtime", "5", "-m", method, "--domain", target.domain]
    if useragent is None:
        run = sipvicious("svwar", *common, "--force", "-e", f"{span[0]}-{span[-1]}", target.address)
        assert extensions_found(run.output) == [], run.output
        return
    for number in span:
        run = sipvicious("svwar", *common, "--force", "-e", number, target.address, useragent=useragent)
        assert extensions_found(run.output) == [], (number, run.output)
        seen = answers(run.output)
        assert number in seen, f"{method} for {number} was not answered: {run.output}"
        unknown = [statuses for probed, statuses in seen.items() if probed != number]
        assert unknown, f"svwar's random number was not answered: {run.output}"
        assert seen[number] == unknown[0], (number, seen)


# -- svcrack -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def victim(users, target):
    """A real, active ams user whose password svcrack goes after."""
    return next(u for u in users.values() if u.server == target.address and u.status == "active")


@pytest.fixture
def cracking(victim, target, podman_exec):
    """Should a guess ever succeed, its registration is removed again."""
    yield victim
    podman_exec(target.name, "kamcmd", "ul.rm", "location", f"s:{victim.extension}", check=False)


def guesses(victim, count: int) -> list[str]:
    """A small dictionary of the usual suspects, never the real password."""
    ext = victim.extension
    common = ["1234", "12345", "123456", "password", "secret", "admin", "voip", "sip", "0000", "1111",
              "qwerty", "letmein", "welcome", "changeme", "abc123", "passw0rd", "yealink", "test"]  # fmt: skip
    words = [ext, ext * 2, ext[::-1], f"{ext}{ext[::-1]}", victim.id, *common]
    words = [w for w in dict.fromkeys(words) if w != victim.password]
    assert len(words) >= count, "the dictionary is longer than the ban threshold"
    return words[:count]


@pytest.mark.parametrize("mode", ["dictionary", "range"])
def test_svcrack_is_banned_before_it_finds_a_password(
    sipvicious, target, cracking, useragent, mode, kamailio_setting, podman_exec, outsider
):
    """Guessing a real extension's password ends with the source banned and no password found.

    The dictionary (or number range) is longer than the ban threshold
    (kamailio_auth_failures_before_ban) and does not hold the real password.
    Digests are well formed (tools/sipvicious_ua.py --fix-digest), so every
    answered guess was checked against the password. Disguised, the server
    judges at most the threshold's number of guesses (403 each), then bans the
    source: the rest of the list goes unanswered.
    """
    victim = cracking
    failures = int(kamailio_setting("kamailio_auth_failures_before_ban"))
    tries = failures + 5
    if mode == "dictionary":
        podman_exec("outsider", "sh", "-c", f"cat > {REMOTE}/guesses.txt",
                    input="\n".join(guesses(victim, tries)) + "\n")  # fmt: skip
        source = ["-d", f"{REMOTE}/guesses.txt"]
    else:
        first = 1000
        inside = victim.password.isdigit() and first <= int(victim.password) < first + tries
        assert not inside, "the range holds the real password"
        source = ["-r", f"{first}-{first + tries - 1}"]
    run = sipvicious(
        "svcrack", "-vvv", "-t", "0.2", "--maximumtime", "4", "-u", victim.extension, "--domain", target.domain,
        *source, target.address, useragent=useragent or SCANNER_UA, fix_digest=True, timeout=90,
    )  # fmt: skip
    cracked = victim.password in run.output
    assert not cracked, "svcrack found the password"
    assert "The password for" not in run.output and "cracked users" not in run.output, run.output
    judged = run.output.count("Received response: SIP/2.0 403")
    answered = run.output.count("Received response: SIP/2.0 ")
    banned = ban_of(podman_exec, target.name, outsider.address)
    if useragent is None and answered == 0:
        # The routing library leaves the scanner unanswered: nothing to guess at, nothing to ban.
        assert banned is None
        return
    assert 0 < judged <= failures, f"{judged} guesses judged, threshold {failures}: {run.output}"
    assert banned, f"the outsider is not banned after {judged} failed guesses"
    assert failures_of(podman_exec, target.name, outsider.address) >= failures
