"""A real call with audio: two baresip phones on the controller register and call
through a call server; rtpengine relays the RTP both ways.

The caller's phone plays a 440 Hz tone (ausine) and the callee's a 440 Hz
tone too; each phone records what it decodes (sndfile). The recordings must
hold the tone, and both phones must receive their RTP from the call server's
address (media anchored on rtpengine), not from each other.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import secrets
import shutil
import subprocess
import time
import wave
from pathlib import Path

import pytest
from sniff import Sniffer

pytestmark = pytest.mark.lab

TONE_HZ = 440
SECONDS = 8
SPRAY = Path(__file__).with_name("tools") / "rtp_spray.py"


def phone_dir(root: Path, user, listen: str, rtp_ports: str, *, answer: bool) -> Path:
    """A baresip configuration for ``user``'s phone, listening at ``listen`` (address:port)."""
    conf = root / user.extension
    conf.mkdir()
    (conf / "config").write_text(
        "\n".join([
            "poll_method epoll",
            f"sip_listen {listen}",
            "audio_player aubridge,sink-" + user.extension,
            f"audio_source ausine,{TONE_HZ}",
            "audio_alert aubridge,sink-" + user.extension,
            "ausrc_srate 48000", "auplay_srate 48000", "ausrc_channels 2", "auplay_channels 1",
            f"rtp_ports {rtp_ports}",
            "module_path /usr/lib/baresip/modules",
            "module g711.so", "module ausine.so", "module aubridge.so", "module sndfile.so",
            "module_app account.so", "module_app menu.so",
            f"snd_path {conf}",
            "",
        ])
    )  # fmt: skip
    registration = "regint=300;answermode=auto" if answer else "regint=0"
    (conf / "accounts").write_text(
        f"<sip:{user.extension}@{user.domain};transport=udp>;auth_pass={user.password};"
        f'outbound="sip:{user.server}:5060;transport=udp";{registration};audio_codecs=PCMU\n'
    )
    return conf


def tone_in(recording: Path) -> tuple[float, float]:
    """(RMS level, frequency by zero crossings) of the loudest half of a mono 16-bit WAV."""
    with wave.open(str(recording)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, recording
        rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
    # rtpengine passes media once both sides have sent; judge the second half.
    tail = samples[len(samples) // 2 :]
    if not tail:
        return 0.0, 0.0
    rms = (sum(s * s for s in tail) / len(tail)) ** 0.5
    crossings = sum(1 for a, b in itertools.pairwise(tail) if (a < 0) != (b < 0))
    return rms, crossings / 2 / (len(tail) / rate)


def two_phones(users) -> tuple:
    """(callee, caller): two active ams users a call rings straight through to."""
    site_users = [u for u in users.values() if u.status == "active" and u.site == "ams"]
    plain = [u for u in site_users if not (u.model.get("features") or {}).get("dnd")
             and not (u.model.get("features") or {}).get("call_forward")]  # fmt: skip
    return plain[0], next(
        u for u in site_users if u != plain[0] and not (u.model.get("features") or {}).get("dnd")
    )


@contextlib.contextmanager
def baresip_call(tmp_path, controller, callee, caller, *, base: int, seconds: int):
    """A baresip call from ``caller`` to ``callee``, both phones on the controller (SIP ports
    ``base`` and ``base`` + 20, RTP 31100 + ``base`` % 100 up): yields (caller process,
    callee log, callee's and caller's directories) once the caller dials; ends with the call."""
    if shutil.which("baresip") is None:
        pytest.fail("baresip is not installed (make bootstrap installs baresip-core)")
    rtp = 31100 + base % 100
    callee_dir = phone_dir(tmp_path, callee, f"{controller}:{base}", f"{rtp}-{rtp + 19}", answer=True)
    caller_dir = phone_dir(
        tmp_path, caller, f"{controller}:{base + 20}", f"{rtp + 20}-{rtp + 39}", answer=False
    )
    log_path = tmp_path / "callee.log"
    with log_path.open("w") as callee_log:
        answering = subprocess.Popen(["baresip", "-f", str(callee_dir), "-t", str(seconds + 5)],
                                     stdout=callee_log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while "200 OK" not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "200 OK" in log_path.read_text(), "the callee's phone did not register"
            calling = subprocess.Popen(
                ["baresip", "-f", str(caller_dir), "-e", f"/dial {callee.extension}", "-t", str(seconds)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            yield calling, log_path, callee_dir, caller_dir
        finally:
            answering.wait(timeout=seconds + 20)


def test_call_with_audio_both_ways_through_rtpengine(users, controller, tmp_path):
    callee, caller = two_phones(users)
    with baresip_call(tmp_path, controller, callee, caller, base=5610, seconds=SECONDS) as call:
        calling, callee_log, callee_dir, caller_dir = call
        caller_out, _ = calling.communicate(timeout=SECONDS + 10)
    callee_out = callee_log.read_text()
    assert "Call established" in caller_out, caller_out[-2000:]
    for name, out in (("caller", caller_out), ("callee", callee_out)):
        sources = set(re.findall(r"receiving from ([0-9.]+):", out))
        assert sources == {callee.server}, (
            f"{name} received RTP from {sources}, not only from the call server"
        )
    for name, conf in (("callee", callee_dir), ("caller", caller_dir)):
        recordings = sorted(conf.glob("dump-*-dec.wav"))
        assert recordings, f"the {name}'s phone recorded nothing"
        rms, hz = tone_in(recordings[-1])
        assert rms > 1000, f"the {name} heard silence (RMS {rms:.0f})"
        assert abs(hz - TONE_HZ) < TONE_HZ * 0.1, f"the {name} heard {hz:.0f} Hz, not the {TONE_HZ} Hz tone"


def test_rtp_from_a_stranger_is_not_relayed_into_a_call(users, estate, lab_topology, controller, tmp_path):
    """Two baresip phones are in a call (media through rtpengine, each sending its tone);
    the outsider sprays RTP at every media port of the call server. rtpengine takes
    media only from the endpoints it learnt (strict source): not one injected packet
    reaches a phone."""
    callee, caller = two_phones(users)
    first, last = (int(p) for p in estate.hosts["cs1"]["voip_call_server"]["rtp_ports"].split("-"))
    marker = secrets.token_bytes(8)
    seconds = SECONDS + 6
    with baresip_call(tmp_path, controller, callee, caller, base=5650, seconds=seconds) as call:
        calling = call[0]
        # Answered, both phones sending their tone, and rtpengine's learning
        # (heuristic: the SDP's address and port, confirmed within 3 s) done.
        time.sleep(7)
        sniffer = Sniffer(marker, seconds=4)
        sniffer.start()
        outsider = lab_topology.host("outsider").container(lab_topology.prefix)
        spray = subprocess.run(
            ["podman", "exec", "-i", outsider, "python3", "-", callee.server, str(first), str(last), "5",
             marker.hex()],
            input=SPRAY.read_text(), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        sniffer.join(timeout=15)
        caller_out, _ = calling.communicate(timeout=seconds + 10)
    assert "Call established" in caller_out, caller_out[-2000:]
    assert json.loads(spray.stdout)["sent"] >= 5 * ((last - first) // 2), spray.stdout
    # (source, destination, source port, destination port, length): what reached a phone's RTP port.
    relayed = [
        p for p in sniffer.seen if p[0] == callee.server and p[1] == controller and 31150 <= p[3] <= 31189
    ]
    assert not relayed, f"rtpengine relayed {len(relayed)} injected RTP packets into the call: {relayed[:5]}"
    # The sniffer works: it saw the injected packets on their way to the call server.
    assert any(p[1] == callee.server for p in sniffer.seen), "the sniffer saw none of the sprayed packets"


@contextlib.contextmanager
def lossy_media(podman_exec, host: str, ports: str, loss_pct: int):
    """``loss_pct`` of the media ``host`` sends from its RTP ``ports`` is lost; its signalling is not.

    A random drop by nftables in the host's network namespace (numgen): this
    machine's kernel has no netem or prio qdisc for ``tc``.
    """
    table = "voiplab_loss"
    rules = (
        f"table inet {table} {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n"
        f"    udp sport {ports} numgen random mod 100 < {loss_pct} drop\n  }}\n}}\n"
    )
    try:
        podman_exec(host, "nft", "-f", "-", input=rules)
        yield
    finally:
        podman_exec(host, "nft", "delete", "table", "inet", table, check=False)


def last_call_of(voipctl, caller, since: float) -> dict:
    """The newest answered call of ``caller`` since ``since``, as `voipctl calls` shows it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
    run = voipctl("calls", "--since", stamp, "--user", caller.id, "--format", "json", timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    answered = [c for c in json.loads(run.stdout) if c["code"] == 200 and c["caller_ext"] == caller.extension]
    assert answered, f"no answered call of {caller.id} since {stamp}: {run.stdout[-2000:]}"
    return answered[-1]


def test_a_lossy_link_shows_in_the_call_records_quality(
    users, estate, controller, podman_exec, voipctl, tmp_path
):
    """Two baresip calls of 16 s through cs1, the second while cs1 loses a fifth of the media it
    sends: the call records of both carry rtpengine's MOS and loss (from the phones' RTCP
    reports), and the lossy call's show the loss and a lower MOS than the clean one's."""
    callee, caller = two_phones(users)
    seconds = 16
    quality = {}
    for name, base, loss in (("clean", 5700, 0), ("lossy", 5740, 20)):
        since = time.time() - 1
        (tmp_path / name).mkdir()
        with contextlib.ExitStack() as stack:
            if loss:
                ports = estate.hosts["cs1"]["voip_call_server"]["rtp_ports"]
                stack.enter_context(lossy_media(podman_exec, "cs1", ports, loss))
            calling = stack.enter_context(
                baresip_call(tmp_path / name, controller, callee, caller, base=base, seconds=seconds)
            )[0]
            out, _ = calling.communicate(timeout=seconds + 10)
        assert "Call established" in out, out[-2000:]
        quality[name] = last_call_of(voipctl, caller, since)
    clean, lossy = quality["clean"], quality["lossy"]
    assert clean["mos"] is not None and lossy["mos"] is not None, quality
    assert clean["packets"] and lossy["packets"], quality
    assert lossy["loss_pct"] >= clean["loss_pct"] + 5, quality
    assert lossy["mos"] < clean["mos"], quality
