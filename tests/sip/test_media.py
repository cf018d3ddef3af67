"""A real call with audio: two baresip phones on the controller register and call
through a call server; rtpengine relays the RTP both ways.

The caller's phone plays a 440 Hz tone (ausine) and the callee's a 440 Hz
tone too; each phone records what it decodes (sndfile). The recordings must
hold the tone, and both phones must receive their RTP from the call server's
address (media anchored on rtpengine), not from each other.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import time
import wave
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

TONE_HZ = 440
SECONDS = 8


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


def test_call_with_audio_both_ways_through_rtpengine(users, controller, tmp_path):
    if shutil.which("baresip") is None:
        pytest.fail("baresip is not installed (make bootstrap installs baresip-core)")
    site_users = [u for u in users.values() if u.status == "active" and u.site == "ams"]
    plain = [u for u in site_users if not (u.model.get("features") or {}).get("dnd")
             and not (u.model.get("features") or {}).get("call_forward")]  # fmt: skip
    callee, caller = (
        plain[0],
        next(u for u in site_users if u != plain[0] and not (u.model.get("features") or {}).get("dnd")),
    )
    callee_dir = phone_dir(tmp_path, callee, f"{controller}:5610", "31100-31119", answer=True)
    caller_dir = phone_dir(tmp_path, caller, f"{controller}:5630", "31120-31139", answer=False)
    callee_log = (tmp_path / "callee.log").open("w")
    answering = subprocess.Popen(["baresip", "-f", str(callee_dir), "-t", str(SECONDS + 5)],
                                 stdout=callee_log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while "200 OK" not in (tmp_path / "callee.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "200 OK" in (tmp_path / "callee.log").read_text(), "the callee's phone did not register"
        calling = subprocess.run(
            ["baresip", "-f", str(caller_dir), "-e", f"/dial {callee.extension}", "-t", str(SECONDS)],
            capture_output=True, text=True, timeout=SECONDS + 10,
        )  # fmt: skip
    finally:
        answering.wait(timeout=SECONDS + 20)
        callee_log.close()
    caller_out = calling.stdout + calling.stderr
    callee_out = (tmp_path / "callee.log").read_text()
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
