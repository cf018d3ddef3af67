"""lab/images/netdev: the simulated gateway's flash, boot images and reload (netflash.py, iosgw.py).

The ground a device software release stands on (#29): an image is copied to
flash over HTTP, checked by its digest, named by ``boot system``, and a
``reload`` takes SSH away and brings it back on that image; a broken image
boots with the voice services down.
"""

from __future__ import annotations

import hashlib
import re
import socket
import time

import pytest
from netmiko import ConnectHandler

from tests.image_server import serving
from tests.unit.test_iosgw import ENABLE, PASSWORD, USER, iosgw

netflash = iosgw.netflash

PUSH = [
    "controller E1 0/1/0",
    " pri-group timeslots 1-31",
    "dial-peer voice 100 pots",
    " destination-pattern 0T",
    " port 0/1/0:15",
    "dial-peer voice 200 voip",
    " destination-pattern 2...",
    " session target ipv4:10.231.0.11",
]


def body(running: str) -> str:
    text = running[running.index("version ") :]
    return re.sub(r"secret 9 \$9\$\S+", "secret 9 <hash>", text)


# -- flash, without a device ----------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["flash:../startup-config", "flash:/etc/passwd", "flash:a/b", "flash:", "flash:.hidden", "flash:a b",
     "flash:" + "x" * 129, "bootflash:-dash"],
)  # fmt: skip
def test_a_flash_name_is_a_plain_file_name_never_a_path(tmp_path, given):
    flash = netflash.Flash(tmp_path / "flash", ("bootflash:", "flash:"), 1 << 20)
    with pytest.raises(netflash.FlashError, match="Invalid argument"):
        flash.name(given)
    assert flash.name("flash:/ok-1.2_3.bin") == flash.name("BOOTFLASH:ok-1.2_3.bin") == "ok-1.2_3.bin"


def test_an_image_is_read_from_its_first_line_and_anything_else_is_data(tmp_path):
    good = netflash.image_bytes("isr4300", "17.9.4")
    broken = netflash.image_bytes("isr4300", "17.9.5", broken=True, size=100)
    assert netflash.read_image(good) == netflash.Image("isr4300", "17.9.4", False)
    assert netflash.read_image(broken) == netflash.Image("isr4300", "17.9.5", True)
    assert len(broken) == 100
    for data in (b"", b"hello\n", b"VOIPLAB-NETDEV-IMAGE platform=x version=1 extra\n", b"\x00" * 300):
        assert netflash.read_image(data) is None


def test_boot_takes_the_first_entry_that_is_an_image_then_the_factory_one(tmp_path):
    flash = netflash.Flash(tmp_path / "flash", ("flash:",), 1 << 20)
    flash.write("factory.bin", netflash.image_bytes("c9300", "16.12.4"))
    flash.write("a-new.bin", netflash.image_bytes("c9300", "17.9.4"))
    flash.write("notes.txt", b"not an image\n")
    assert flash.boot(["a-new.bin"], "factory.bin")[0] == "a-new.bin"
    assert flash.boot(["missing.bin", "notes.txt"], "factory.bin")[0] == "factory.bin"
    flash.delete("factory.bin")
    assert flash.boot(["missing.bin"], "factory.bin")[0] == "a-new.bin"  # the first image by name
    flash.delete("a-new.bin")
    assert flash.boot([], "factory.bin") is None


def test_flash_capacity_is_enforced_and_nothing_partial_is_left(tmp_path):
    flash = netflash.Flash(tmp_path / "flash", ("flash:",), 1000)
    flash.write("a.bin", b"x" * 600)
    with pytest.raises(netflash.FlashError, match="Not enough space"):
        flash.write("b.bin", b"y" * 500)
    flash.write("a.bin", b"z" * 900)  # replacing a file counts its own size as free
    assert [name for name, _, _ in flash.files()] == ["a.bin"]


# -- the gateway's commands, on the console -------------------------------------------


@pytest.fixture
def device(tmp_path):
    return iosgw.Device("gw1", USER, PASSWORD, ENABLE, tmp_path)


def configure(dev, *lines):
    dev.execute("configure terminal")
    out = "".join(dev.execute(line) for line in lines)
    dev.execute("end")
    return out


def reload(dev):
    """``reload`` on the console, saving when asked; returns the questions asked."""
    asked = [dev.execute("reload")]
    if "Save?" in asked[-1]:
        asked.append(dev.execute("yes"))
    assert asked[-1].endswith("Proceed with reload? [confirm]")
    dev.execute("")
    return asked


def test_a_factory_gateway_boots_its_factory_image(device):
    assert device.version == iosgw.VERSION
    assert f'System image file is "bootflash:{iosgw.FACTORY_IMAGE}"' in device.execute("show version")
    assert iosgw.FACTORY_IMAGE in device.execute("dir flash:")


def test_boot_system_and_reload_boot_the_new_image_with_the_configuration_unchanged(device):
    configure(device, *PUSH)
    device.execute("write memory")
    before = body(device.execute("show running-config"))
    device.flash.write("isr4300-17.09.04.bin", netflash.image_bytes("isr4300", "17.9.4"))
    configure(device, "boot system flash:isr4300-17.09.04.bin")
    assert "Save?" in reload(device)[0]  # the boot entry is not saved yet: IOS asks
    version = device.execute("show version")
    assert "Cisco IOS XE Software, Version 17.9.4" in version
    assert 'System image file is "bootflash:isr4300-17.09.04.bin"' in version
    assert "Last reload reason: Reload Command" in version
    after = body(device.execute("show running-config"))
    assert after.replace("boot system bootflash:isr4300-17.09.04.bin\n!\n", "") == before
    assert "0/1/0:15" in device.execute("show dial-peer voice summary")
    assert re.search(r"^100\s+pots\s+up\s+up", device.execute("show dial-peer voice summary"), re.M)


def test_a_broken_image_boots_with_voice_down_and_the_old_one_brings_it_back(device):
    configure(device, *PUSH)
    device.flash.write("bad.bin", netflash.image_bytes("isr4300", "17.9.5", broken=True))
    configure(device, "boot system flash:bad.bin")
    device.execute("write memory")
    assert reload(device) == ["Proceed with reload? [confirm]"]  # saved: no question
    assert device.version == "17.9.5" and device.services_down
    peers = device.execute("show dial-peer voice summary")
    assert re.search(r"^100\s+pots\s+up\s+down", peers, re.M) and re.search(
        r"^200\s+voip\s+up\s+down", peers, re.M
    )
    assert "DEACTIVATED" in device.execute("show isdn status")
    configure(device, f"boot system flash:{iosgw.FACTORY_IMAGE}")
    reload(device)
    assert device.version == iosgw.VERSION and not device.services_down
    assert "MULTIPLE_FRAME_ESTABLISHED" in device.execute("show isdn status")


def test_a_boot_entry_naming_no_image_falls_back_to_the_factory_image(device):
    device.flash.write("notes.txt", b"hello\n")
    assert "%" not in configure(device, "boot system flash:notes.txt")
    device.execute("write memory")
    reload(device)
    assert device.booted[0] == iosgw.FACTORY_IMAGE


def test_verify_and_delete(device):
    data = netflash.image_bytes("isr4300", "17.9.4")
    device.flash.write("new.bin", data)
    out = device.execute("verify /sha512 flash:new.bin")
    assert f"verify /sha512 (bootflash:new.bin) = {hashlib.sha512(data).hexdigest()}" in out
    assert hashlib.md5(data).hexdigest() in device.execute("verify /md5 bootflash:new.bin")
    assert "No such file" in device.execute("verify /md5 flash:nothing.bin")
    assert "Invalid input" in device.execute("verify /sha1 flash:new.bin")
    assert device.execute("delete flash:new.bin") == "Delete filename [new.bin]? "
    assert device.execute("") == "Delete bootflash:new.bin? [confirm]"
    assert device.execute("") == ""
    assert not device.flash.exists("new.bin")
    device.flash.write("other.bin", data)
    assert device.execute("delete /force flash:other.bin") == ""
    assert not device.flash.exists("other.bin")


def test_user_exec_cannot_touch_flash_or_reload(tmp_path):
    dev = iosgw.Device("gw1", USER, PASSWORD, ENABLE, tmp_path)
    cli = dev.session(user=USER, peer="10.0.0.9")
    for line in ("dir flash:", "reload", "delete /force flash:x.bin", "copy http://h/x.bin flash:"):
        assert "Invalid input" in cli.execute(line), line


# -- over SSH and HTTP, with netmiko --------------------------------------------------


@pytest.fixture
def web(tmp_path):
    """An HTTP server of ``tmp_path / 'www'`` on loopback; yields (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    with serving(root) as base:
        yield root, base


@pytest.fixture
def server(tmp_path):
    gateway = iosgw.Gateway("gw1", USER, PASSWORD, ENABLE, tmp_path / "state", reload_seconds=2)
    thread = iosgw.ServerThread(gateway)
    yield thread
    thread.stop()


def connect(port):
    conn = ConnectHandler(
        device_type="cisco_ios", host="127.0.0.1", port=port, username=USER, password=PASSWORD, secret=ENABLE
    )
    conn.enable()
    return conn


def refused(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_an_image_is_copied_over_http_checked_booted_and_ssh_comes_back(server, web):
    root, base = web
    data = netflash.image_bytes("isr4300", "17.9.4", size=300_000)
    (root / "isr4300-17.09.04.bin").write_bytes(data)
    conn = connect(server.port)
    try:
        out = conn.send_command_timing(f"copy {base}/isr4300-17.09.04.bin flash:")
        assert out.rstrip().endswith("Destination filename [isr4300-17.09.04.bin]?")
        out = conn.send_command_timing("", read_timeout=30)
        assert "[OK - 300000 bytes]" in out
        out = conn.send_command("verify /sha512 flash:isr4300-17.09.04.bin")
        assert out.strip().endswith(hashlib.sha512(data).hexdigest())
        conn.send_config_set(["boot system flash:isr4300-17.09.04.bin"], error_pattern="%")
        conn.save_config()
        assert conn.send_command_timing("reload").rstrip().endswith("Proceed with reload? [confirm]")
        conn.write_channel("\n")
        time.sleep(0.5)
    finally:
        conn.disconnect()
    assert refused(server.port), "SSH still answered during the reload"
    deadline = time.monotonic() + 15
    while refused(server.port) and time.monotonic() < deadline:
        time.sleep(0.2)
    conn = connect(server.port)
    try:
        version = conn.send_command("show version")
        assert "Version 17.9.4" in version and "Last reload reason: Reload Command" in version
    finally:
        conn.disconnect()


@pytest.mark.parametrize(
    "source, message",
    [("/missing.bin", "No such file or directory: HTTP 404"), (":1/x.bin", "Timed out or refused")],
)
def test_a_failed_copy_says_why_and_leaves_nothing(device, web, source, message):
    _, base = web
    url = (base + source) if source.startswith("/") else "http://127.0.0.1" + source
    assert device.execute(f"copy {url} flash:new.bin") == "Destination filename [new.bin]? "
    assert message in device.execute("")
    assert not device.flash.exists("new.bin")
    assert [n for n, _, _ in device.flash.files()] == [iosgw.FACTORY_IMAGE]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x.bin", "file:///etc/passwd", "tftp://h/x.bin"])
def test_only_http_sources_are_accepted(device, url):
    assert "Invalid input" in device.execute(f"copy {url} flash:x.bin")
