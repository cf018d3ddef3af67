"""Module netdev_software (module_utils/voip_netdev_software.py): a gateway image copied, checked and booted.

Against the lab's gateway simulator in this process (lab/images/netdev/iosgw.py,
SSH on loopback with a pinned host key) and an HTTP server of images on
loopback: the module's whole path, reload included. The switch's path runs
against its simulator in the lab (tests/lab/test_voiceswitch_sim.py needs
fake-switches, which only the lab image has).
"""

from __future__ import annotations

import hashlib
import socket

import pytest

from ansible_collections.voip.estate.plugins.module_utils import voip_netdev_software as software
from tests.image_server import serving
from tests.unit.test_netdev_security import PASSWORD, USER, iosgw, known_hosts_line, new_key

netflash = iosgw.netflash
NEW = "isr4300-17.09.04.bin"
# What carries voice on the test gateway: a PRI, a voice port and two dial-peers.
VOICE = """isdn switch-type primary-net5
controller E1 0/1/0
 pri-group timeslots 1-31
interface Serial0/1/0:15
 isdn switch-type primary-net5
voice-port 0/2/0
dial-peer voice 100 pots
 destination-pattern 2990
 port 0/2/0
dial-peer voice 200 voip
 destination-pattern 2...
 session target ipv4:10.0.0.1
"""
VOICE_UP = {"PRI Serial0/1/0:15": True, "dial-peer 100": True, "dial-peer 200": True,
            "voice-port 0/1/0:15": True, "voice-port 0/2/0": True}  # fmt: skip


@pytest.fixture
def lab(tmp_path):
    """(gateway server, known_hosts, base URL of the images, image bytes by name)."""
    www = tmp_path / "www"
    www.mkdir()
    images = {
        NEW: netflash.image_bytes("isr4300", "17.9.4", size=150_000),
        "broken.bin": netflash.image_bytes("isr4300", "17.9.5", broken=True),
    }
    for name, data in images.items():
        (www / name).write_bytes(data)
    key = new_key(tmp_path / "gw_host_key")
    gateway = iosgw.Gateway(
        "gw1", USER, PASSWORD, None, tmp_path / "state", host_key=tmp_path / "gw_host_key", reload_seconds=1
    )
    assert gateway.device.load_config(VOICE) == []
    gateway.device.save(None)  # a converged device: its running configuration saved
    server = iosgw.ServerThread(gateway)
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(server.port, key))
    with serving(www) as base:
        yield server, known, base, images
    server.stop()


def args(lab, image=NEW, **extra):
    server, known, base, images = lab
    request = {"host": "127.0.0.1", "port": server.port, "username": USER, "password": PASSWORD,
               "known_hosts": str(known), "timeout": 10, "kind": "gateway", "image": image,
               "voice_timeout": 2}  # fmt: skip
    if image in images:
        request |= {"url": f"{base}/{image}", "sha512": hashlib.sha512(images[image]).hexdigest()}
    return request | extra


def device(lab):
    return lab[0].gateway.device


def test_check_mode_reads_and_changes_nothing(lab, module_runner):
    code, result, _ = module_runner("netdev_software", args(lab, version="17.9.4"), check=True)
    assert code == 0, result
    assert result["changed"] is True and result["copied"] is False and result["reloaded"] is False
    assert result["before"] == {"version": iosgw.VERSION, "image": iosgw.FACTORY_IMAGE}
    assert not device(lab).flash.exists(NEW)


def test_an_image_is_copied_checked_booted_and_a_second_run_changes_nothing(lab, module_runner):
    before = device(lab).execute("show running-config")
    code, result, _ = module_runner("netdev_software", args(lab, version="17.9.4"))
    assert code == 0, result
    assert result["copied"] and result["reloaded"] and result["away_seconds"] >= 0.5
    assert result["after"] == {"version": "17.9.4", "image": NEW}
    gw = device(lab)
    assert gw.version == "17.9.4" and gw.reload_reason == "Reload Command"
    assert software.config_change(before, gw.execute("show running-config")) == []
    assert f"boot system bootflash:{NEW}" in gw.startup_config()
    code, again, _ = module_runner("netdev_software", args(lab, version="17.9.4"))
    assert code == 0 and again["changed"] is False and again["reloaded"] is False


def test_a_wrong_digest_boots_nothing(lab, module_runner):
    code, result, _ = module_runner("netdev_software", args(lab, sha512="0" * 128))
    assert code == 1
    assert "does not have the SHA-512 the release names; nothing was booted" in result["msg"]
    gw = device(lab)
    assert gw.booted[0] == iosgw.FACTORY_IMAGE and "boot system" not in gw.execute("show running-config")


def test_unsaved_changes_are_refused_before_anything_changes(lab, module_runner):
    gw = device(lab)
    gw.execute("configure terminal")
    gw.execute("ntp server 10.9.9.9")
    gw.execute("end")
    code, result, _ = module_runner("netdev_software", args(lab))
    assert code == 1 and "is not the saved one" in result["msg"] and "+ ntp server 10.9.9.9" in result["msg"]
    assert not gw.flash.exists(NEW) and gw.booted[0] == iosgw.FACTORY_IMAGE


def test_a_version_other_than_the_release_names_fails_after_the_boot(lab, module_runner):
    code, result, _ = module_runner("netdev_software", args(lab, version="17.9.9"))
    assert code == 1 and f"booted {NEW} (17.9.4), not {NEW} (17.9.9)" in result["msg"]


def test_a_broken_image_fails_the_voice_gate_and_the_previous_one_is_booted_again_on_rollback(
    lab, module_runner
):
    code, result, _ = module_runner("netdev_software", args(lab, image="broken.bin", version="17.9.5"))
    # The gateway keeps its configuration on the broken image, so the configuration check passes;
    # the voice gate catches it: every PRI, voice port and dial-peer that was up is down.
    assert code == 1, result
    assert "broken.bin came up, but these carried voice before and do not now: PRI Serial0/1/0:15, " \
        "dial-peer 100, dial-peer 200, voice-port 0/1/0:15, voice-port 0/2/0" in result["msg"]  # fmt: skip
    gw = device(lab)
    assert gw.services_down
    previous = {"version": iosgw.VERSION, "image": iosgw.FACTORY_IMAGE}
    code, back, _ = module_runner(
        "netdev_software", args(lab, image=previous["image"], version=previous["version"], rollback=True)
    )
    assert code == 0, back
    assert back["copied"] is False and back["after"] == previous and not device(lab).services_down
    # A rollback reports the voice state and does not judge it: before it, nothing carried voice.
    assert not any(back["voice_before"].values()) and back["voice_after"] == VOICE_UP


def test_the_voice_state_of_a_gateway_and_a_switch_is_read_and_a_loss_named():
    gateway = {
        "show isdn status": "ISDN Serial0/1/0:15 interface\n    Layer 1 Status:\n\tACTIVE\n    Layer 2 Status:\n"
        "\tTEI = 0, Ces = 1, SAPI = 0, State = MULTIPLE_FRAME_ESTABLISHED\nISDN Serial0/1/1:15 interface\n"
        "    Layer 1 Status:\n\tDEACTIVATED\n    Layer 2 Status:\n\tTEI = 0, State = TEI_ASSIGNED\n",
        "show dial-peer voice summary": "TAG TYPE MIN OPER\n100 pots up up 2990\n200 voip up down\n"
        "300 voip down down\n",
        "show voice port summary": "PORT CH SIG ADMIN OPER\n0/2/0 -- fxs-ls up dorm\n0/2/1 -- fxs-ls down down\n",
    }
    state = software.voice_state("gateway", gateway)
    # An administratively down dial-peer or voice port is not voice the gate expects.
    assert state == {"PRI Serial0/1/0:15": True, "PRI Serial0/1/1:15": False, "dial-peer 100": True,
                     "dial-peer 200": False, "voice-port 0/2/0": True}  # fmt: skip
    switch = {"show vlan brief": "VLAN Name Status Ports\n---- ----\n1 default active Gi1/0/1\n"
              "110 VOICE active\n120 X act/lshut\n"}  # fmt: skip
    assert software.voice_state("switch", switch) == {"vlan 1": True, "vlan 110": True, "vlan 120": False}
    after = {"vlan 1": True, "vlan 120": True}
    # Up before, gone or down after: named; down before: not the release's doing.
    assert software.voice_lost(software.voice_state("switch", switch), after) == ["vlan 110"]
    assert software.voice_lost(state, state) == []


def test_an_image_neither_on_flash_nor_given_a_url_is_refused(lab, module_runner):
    code, result, _ = module_runner("netdev_software", args(lab, image="nowhere.bin"))
    assert code == 1 and "nowhere.bin is not on flash and no url names where to copy it from" in result["msg"]


# -- what reaches the device's command line ------------------------------------------

GOOD = {"kind": "gateway", "image": NEW, "url": f"http://10.231.0.20/images/{NEW}", "sha512": "a" * 128,
        "version": "17.9.4"}  # fmt: skip


@pytest.mark.parametrize(
    "field, value",
    [
        ("image", "x.bin\nreload"),
        ("image", "x.bin\rreload"),
        ("image", "x.bin reload"),
        ("image", "../startup-config"),
        ("image", "flash:x.bin"),
        ("image", "x.bin\u2028reload"),
        ("image", "x.bin\x00"),
        ("image", "x.bin\x1a"),
        ("image", "{{ lookup('pipe', 'id') }}"),
        ("image", ""),
        ("url", "http://10.231.0.20/x.bin bootflash:x.bin\nreload"),
        ("url", "http://10.231.0.20/x.bin\r"),
        ("url", "http://10.231.0.20/x'.bin"),
        ("url", 'http://10.231.0.20/x".bin'),
        ("url", "ftp://10.231.0.20/x.bin"),
        ("url", "tftp://10.231.0.20/x.bin"),
        ("url", "http://user:pw@10.231.0.20/x.bin"),
        ("url", "http://10.231.0.20/{{x}}.bin"),
        ("sha512", "A" * 128),
        ("sha512", "a" * 127),
        ("sha512", "a" * 128 + "\n"),
        ("version", "17.9.4 extra"),
        ("version", "17.9.4\n"),
        ("kind", "router"),
    ],
)
def test_a_value_that_could_become_another_command_is_refused_before_the_device(field, value, module_runner):
    # Without these checks `copy URL bootflash:IMAGE` would carry a line break, a second word or a
    # quote to the device's CLI (a second command, such as `reload`, run with the estate's login).
    problems = software.request_problems(GOOD | {field: value})
    assert len(problems) == 1 and problems[0].startswith(f"{field}:"), problems
    request = {"host": "192.0.2.1", "username": USER, "password": PASSWORD, "known_hosts": "/nonexistent"}
    request |= GOOD | {field: value}
    code, result, _ = module_runner("netdev_software", request)
    # Refused before any connection (kind by its choices, the rest by the module's checks).
    assert code == 1 and ("nothing was done" in result["msg"] or "must be one of" in result["msg"])


def test_the_good_request_has_no_problem_and_a_url_needs_a_digest():
    assert software.request_problems(GOOD) == []
    assert software.request_problems({k: v for k, v in GOOD.items() if k != "url"}) == []
    assert software.request_problems({k: v for k, v in GOOD.items() if k != "sha512"}) == [
        "sha512: required with url (a copied image is always checked)"
    ]


# -- parsing ---------------------------------------------------------------------------


def test_show_version_dir_and_verify_are_read(tmp_path):
    gw = iosgw.Device("gw1", USER, PASSWORD, None, tmp_path)
    assert software.parse_version(gw.execute("show version")) == {
        "version": iosgw.VERSION, "image": iosgw.FACTORY_IMAGE}  # fmt: skip
    assert software.parse_dir(gw.execute("dir bootflash:")) == {iosgw.FACTORY_IMAGE: 65536}
    data = (tmp_path / "flash" / iosgw.FACTORY_IMAGE).read_bytes()
    out = gw.execute(f"verify /sha512 bootflash:{iosgw.FACTORY_IMAGE}")
    assert software.parse_verify(out) == hashlib.sha512(data).hexdigest()
    assert software.parse_verify("%Error opening bootflash:x (No such file or directory)") is None
    switch = 'Cisco IOS Software, C3750 Software (C3750-IPSERVICESK9-M), Version 15.0(2)SE11, RELEASE\n' \
        'System image file is "flash:c3750.bin"\n'  # fmt: skip
    assert software.parse_version(switch) == {"version": "15.0(2)SE11", "image": "c3750.bin"}
    assert software.parse_version('System image file is "flash:../../etc"') == {
        "version": None,
        "image": None,
    }


def test_the_configuration_identity_ignores_the_boot_entry_and_volatile_lines():
    before = "Building configuration...\n!\nversion 17.6\nhostname gw1\nntp server 10.0.0.1\nend\n"
    after = "! Last configuration change at x\nversion 17.6\nhostname gw1\nboot system bootflash:a.bin\n" \
        "ntp server 10.0.0.1\nend\n"  # fmt: skip
    assert software.config_change(before, after) == []
    lost = software.config_change(before + "username a secret 9 $9$abc\n", after)
    assert lost == ["- username a secret 9 ********"] and "$9$abc" not in str(lost)


def test_a_device_that_stops_answering_mid_copy_fails_with_a_message_not_a_traceback(
    lab, module_runner, monkeypatch
):
    # A source that accepts the connection and never answers: the device's copy outlasts copy_timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    monkeypatch.setattr(netflash, "FETCH_TIMEOUT", 4)  # the simulator gives up soon after the module
    try:
        request = args(lab, url=f"http://127.0.0.1:{silent.getsockname()[1]}/{NEW}", copy_timeout=1)
        code, result, raw = module_runner("netdev_software", request)
    finally:
        silent.close()
    assert code == 1 and "Traceback" not in raw, raw
    assert result["msg"].startswith("127.0.0.1: the device stopped answering as expected"), result["msg"]
    assert device(lab).booted[0] == iosgw.FACTORY_IMAGE


FACTORY = {"version": iosgw.VERSION, "image": iosgw.FACTORY_IMAGE}


def saved_boot_entries(lab) -> list[str]:
    return [line for line in device(lab).startup_config().splitlines() if line.startswith("boot system")]


def test_a_rollback_never_saves_a_running_configuration_that_lost_part_of_the_saved_one(
    lab, module_runner, monkeypatch
):
    # A new image that refuses a line at boot (as a real IOS release may): the release fails on the
    # configuration check. Before the fix the rollback pushed its boot entry and saved, writing the
    # reduced running configuration over the saved one, and its own check then compared with that.
    assert device(lab).load_config("ntp server 10.9.9.9\n") == []
    device(lab).save(None)
    boot = device(lab).boot

    def lossy_boot():
        boot()
        if device(lab).booted and device(lab).booted[1].version == "17.9.4":
            device(lab).run_system(["no ntp server 10.9.9.9"])

    monkeypatch.setattr(device(lab), "boot", lossy_boot)
    code, result, _ = module_runner("netdev_software", args(lab, version="17.9.4"))
    assert (
        code == 1
        and "came up without its saved configuration (gateway): - ntp server 10.9.9.9" in result["msg"]
    )
    code, back, _ = module_runner("netdev_software", args(lab, image=FACTORY["image"], rollback=True, **{
        "version": FACTORY["version"]}))  # fmt: skip
    assert code == 1, back
    assert "saving the boot entry for" in back["msg"] and "nothing was saved" in back["msg"]
    assert "ntp server 10.9.9.9" in device(lab).startup_config()


def test_a_rollback_after_a_failed_reload_sets_the_saved_boot_entry_back(lab, module_runner, monkeypatch):
    # The reload fails after the new boot entry was saved: the device still runs the old image. Before
    # the fix the rollback saw the old image running and did nothing, leaving the new entry saved.
    def refused(session):
        raise software.NetdevError("reload: timed out waiting for [confirm]")

    monkeypatch.setattr(software, "reload", refused)
    code, _, _ = module_runner("netdev_software", args(lab, version="17.9.4"))
    assert code == 1 and saved_boot_entries(lab) == [f"boot system bootflash:{NEW}"]
    monkeypatch.undo()
    code, back, _ = module_runner("netdev_software", args(lab, rollback=True, **FACTORY))
    assert code == 0 and back["changed"] and not back["reloaded"], back
    assert saved_boot_entries(lab) == [f"boot system bootflash:{FACTORY['image']}"]


def test_a_device_whose_image_cannot_be_read_is_refused_before_anything_changes(
    lab, module_runner, monkeypatch
):
    # A switch installed into a directory reports flash:/dir/image.bin: not an image this module could
    # boot back, so the release must not start.
    monkeypatch.setattr(software, "parse_version", lambda text: {"version": "17.6.5", "image": None})
    code, result, _ = module_runner("netdev_software", args(lab, version="17.9.4"))
    assert code == 1 and "could not be booted back on its image; nothing was changed" in result["msg"]
    assert not device(lab).flash.exists(NEW)


def test_a_stale_file_of_the_image_name_is_copied_again(lab, module_runner):
    device(lab).flash.write(NEW, netflash.image_bytes("isr4300", "17.9.4", size=1000))
    code, result, _ = module_runner("netdev_software", args(lab, version="17.9.4"))
    assert code == 0 and result["copied"] and result["after"] == {"version": "17.9.4", "image": NEW}, result


def test_the_voice_gate_waits_for_what_comes_up_late():
    readings = iter([{"PRI a": False}, {"PRI a": False}, {"PRI a": True}])
    clock = iter(range(0, 100, 5))
    naps = []
    session = None

    def read(_session, _kind):
        return next(readings)

    original = software.read_voice
    software.read_voice = read
    try:
        params = {"kind": "gateway", "voice_timeout": 60}
        state = software.wait_for_voice(
            session, params, ["PRI a"], sleep=naps.append, clock=lambda: next(clock)
        )
        assert state == {"PRI a": True} and naps == [5, 5]
        readings = iter([{"PRI a": False}] * 20)
        state = software.wait_for_voice(session, {"kind": "gateway", "voice_timeout": 10}, ["PRI a"],
                                        sleep=naps.append, clock=lambda: next(clock))  # fmt: skip
        assert state == {"PRI a": False}
    finally:
        software.read_voice = original


def test_a_pri_without_a_layer_2_state_is_down_and_does_not_hide_the_next_one():
    # Real IOS prints "Layer 2 NOT Activated" (no State =) for a span whose layer 1 is down; the old
    # pattern ran on into the next interface's block and lost the live span.
    isdn = (
        "ISDN Serial0/1/0:15 interface\n\tdsl 0\n    Layer 1 Status:\n\tDEACTIVATED\n    Layer 2 Status:\n"
        "\tLayer 2 NOT Activated\nISDN Serial0/1/1:15 interface\n\tdsl 1\n    Layer 1 Status:\n\tACTIVE\n"
        "    Layer 2 Status:\n\tTEI = 0, Ces = 1, SAPI = 0, State = MULTIPLE_FRAME_ESTABLISHED\n"
    )
    assert software.voice_state("gateway", {"show isdn status": isdn}) == {
        "PRI Serial0/1/0:15": False, "PRI Serial0/1/1:15": True}  # fmt: skip


def test_the_ios_line_of_an_ios_xe_show_version_is_the_version():
    text = 'Cisco IOS XE Software, Version 17.06.05\nCisco IOS Software [Bengaluru], ISR Software ' \
        '(X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.6.5, RELEASE SOFTWARE (fc2)\n' \
        'System image file is "bootflash:isr.bin"\n'  # fmt: skip
    assert software.parse_version(text) == {"version": "17.6.5", "image": "isr.bin"}
    assert software.parse_boot_entry("gateway", "hostname gw1\nboot system bootflash:isr.bin\n") == "isr.bin"
    assert (
        software.parse_boot_entry("switch", "BOOT path-list      : flash:c3750.bin;flash:old.bin\n")
        == "c3750.bin"
    )
    assert software.parse_boot_entry("switch", "BOOT path-list      : \n") is None
