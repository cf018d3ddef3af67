"""collections/ansible_collections/voip/estate/plugins/module_utils/voip_os_updates: the rules of an OS update."""

from __future__ import annotations

import json

import pytest

from ansible_collections.voip.estate.plugins.module_utils import voip_os_updates as lib

SECURITY = [{"origin": "Debian", "label": "Debian-Security"}]
DEBIAN_SECURITY = {"origin": "Debian", "label": "Debian-Security", "suite": "oldstable-security"}
DEBIAN = {"origin": "Debian", "label": "Debian", "suite": "oldstable"}


def pkg(name, origins, source=None, held=False):
    return {"name": name, "source": source or name, "installed": "1", "candidate": "2", "origins": origins,
            "dpkg_held": held}  # fmt: skip


def test_an_origin_matches_only_when_every_named_field_is_equal():
    assert lib.matches_origin(DEBIAN_SECURITY, SECURITY)
    assert not lib.matches_origin(DEBIAN, SECURITY)
    # A look-alike label from another origin is no security update.
    assert not lib.matches_origin({"origin": "Evil", "label": "Debian-Security"}, SECURITY)
    assert lib.matches_origin(DEBIAN_SECURITY, [{"suite": "oldstable-security"}])
    # An empty pattern names nothing and matches nothing (validation refuses it too).
    assert not lib.matches_origin(DEBIAN, [{}])
    assert not lib.matches_origin(DEBIAN, [{"label": None, "origin": ""}])


def test_held_packages_are_never_selected_whatever_their_origin():
    updates, held, skipped = lib.select(
        [
            pkg("kamailio-sqlite-modules", [DEBIAN_SECURITY], source="kamailio"),
            pkg("rtpengine-daemon", [DEBIAN_SECURITY], source="rtpengine"),
            pkg("openssl", [DEBIAN_SECURITY]),
            pkg("tzdata", [DEBIAN]),
            pkg("locked", [DEBIAN_SECURITY], held=True),
        ],
        security_only=True,
        patterns=SECURITY,
        hold=["kamailio", "rtpengine"],
    )
    assert [u["name"] for u in updates] == ["openssl"] and updates[0]["security"]
    assert {h["name"]: h["why"].split(" (")[0] for h in held} == {
        "kamailio-sqlite-modules": "pinned by the release manifest",
        "rtpengine-daemon": "pinned by the release manifest",
        "locked": "held on the host",
    }
    assert [s["name"] for s in skipped] == ["tzdata"]


def test_without_security_only_every_update_not_held_is_selected_and_marked():
    updates, _held, skipped = lib.select(
        [pkg("openssl", [DEBIAN_SECURITY]), pkg("tzdata", [DEBIAN])], False, SECURITY, []
    )
    assert {u["name"]: u["security"] for u in updates} == {"openssl": True, "tzdata": False}
    assert not skipped


def test_a_security_version_hidden_by_a_newer_point_release_is_still_a_security_update():
    openssl = {
        **pkg("openssl", [DEBIAN]),
        "candidate": "3",
        "newer": [{"version": "2", "origins": [DEBIAN_SECURITY]}],
    }
    updates, _held, skipped = lib.select([openssl], True, SECURITY, [])
    assert [(u["name"], u["candidate"], u["security"]) for u in updates] == [
        ("openssl", "2", True)
    ] and not skipped
    # Without security-only the newest version is applied, and it counts as a security update.
    updates, _held, _skipped = lib.select([openssl], False, SECURITY, [])
    assert [(u["candidate"], u["security"]) for u in updates] == [("3", True)]


def test_a_reboot_is_needed_for_the_kernel_libc_or_reboot_required():
    assert lib.reboot_reasons(["openssl"], [], False) == []
    assert lib.reboot_reasons(["libc6", "linux-image-6.1.0-28-amd64", "openssl"], [], False) == [
        "libc6 changed (it takes effect at a reboot)",
        "linux-image-6.1.0-28-amd64 changed (it takes effect at a reboot)",
    ]
    assert lib.reboot_reasons([], ["netbase", "netbase"], True) == ["/run/reboot-required (asked by netbase)"]
    # libc6-dev is no libc6.
    assert lib.reboot_reasons(["libc6-dev"], [], False) == []


MAPS = """\
55d0c0a00000-55d0c0a2a000 r--p 00000000 00:2f 1234 /usr/sbin/kamailio
7f1e2c000000-7f1e2c0a0000 r-xp 00000000 00:2f 5678 /usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6 (deleted)
7f1e2d000000-7f1e2d001000 rw-s 00000000 00:01 99 /dev/shm/kamailio (deleted)
7f1e2e000000-7f1e2e001000 rw-s 00000000 00:01 98 /memfd:pulse (deleted)
7f1e2f000000-7f1e2f001000 rw-p 00000000 00:00 0
"""


def test_replaced_files_are_those_a_process_maps_deleted_apart_from_memory():
    assert lib.replaced_files(MAPS) == {"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"}
    assert lib.replaced_files(MAPS.replace(" (deleted)", "")) == set()


@pytest.mark.parametrize(
    ("cgroup", "unit"),
    [
        ("0::/system.slice/kamailio.service\n", "kamailio.service"),
        ("0::/system.slice/system-getty.slice/getty@tty1.service\n", "getty@tty1.service"),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", ""),
        ("0::/init.scope\n", ""),
        ("12:pids:/system.slice/ssh.service/extra\n", "ssh.service"),
        ("0::/\n", ""),
    ],
)
def test_the_unit_of_a_process_comes_from_its_cgroup(cgroup, unit):
    assert lib.unit_of(cgroup) == unit


def test_units_to_restart_skip_pid_1_and_processes_without_replaced_files():
    processes = {
        1: (MAPS, "0::/init.scope\n"),
        200: (MAPS, "0::/system.slice/kamailio.service\n"),
        201: (MAPS, "0::/system.slice/kamailio.service\n"),
        300: (MAPS.replace(" (deleted)", ""), "0::/system.slice/nginx.service\n"),
        400: (MAPS, "0::/user.slice/user-0.slice/session-1.scope\n"),
    }
    assert lib.units_to_restart(processes) == (["kamailio.service"], [])


def test_a_service_whose_maps_cannot_be_read_is_restarted_too_and_said_so():
    processes = {
        200: (MAPS, "0::/system.slice/kamailio.service\n"),
        300: (None, "9:name=systemd:/libpod_parent/libpod-1/system.slice/rtpengine-daemon.service\n"),
        301: (None, "0::/system.slice/kamailio.service\n"),  # known from its readable sibling
        400: (None, "0::/user.slice/user-0.slice/session-1.scope\n"),
    }
    assert lib.units_to_restart(processes) == (
        ["kamailio.service", "rtpengine-daemon.service"],
        ["rtpengine-daemon.service"],
    )


def test_read_processes_skips_what_is_not_a_process_or_vanished(tmp_path):
    (tmp_path / "self").mkdir()
    (tmp_path / "12").mkdir()
    (tmp_path / "12" / "maps").write_text(MAPS)
    (tmp_path / "12" / "cgroup").write_text("0::/system.slice/kamailio.service\n")
    (tmp_path / "13").mkdir()  # gone before its files were read
    (tmp_path / "14").mkdir()
    (tmp_path / "14" / "cgroup").write_text("0::/system.slice/chrony.service\n")
    (tmp_path / "14" / "maps").mkdir()  # stands for a maps file that cannot be read as a file: gone
    assert lib.read_processes(str(tmp_path)) == {12: (MAPS, "0::/system.slice/kamailio.service\n")}


def test_read_processes_keeps_a_process_whose_maps_are_refused(tmp_path, monkeypatch):
    (tmp_path / "20").mkdir()
    (tmp_path / "20" / "cgroup").write_text("0::/system.slice/kamailio.service\n")
    (tmp_path / "20" / "maps").write_text(MAPS)
    real_open = open

    def refuse(path, *args, **kwargs):
        if str(path).endswith("maps"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    assert lib.read_processes(str(tmp_path)) == {20: (None, "0::/system.slice/kamailio.service\n")}


def test_first_seen_is_kept_while_the_installed_version_waits_and_dropped_once_it_is_gone():
    seen = {"openssl 1": "2026-11-01T00:00:00+00:00", "gone 1": "2026-10-01T00:00:00+00:00"}
    rows = [
        {"name": "openssl", "installed": "1", "candidate": "2"},
        {"name": "tzdata", "installed": "1", "candidate": "2"},
    ]
    assert lib.note_seen(seen, rows, "NOW") == {"openssl 1": "2026-11-01T00:00:00+00:00", "tzdata 1": "NOW"}
    # A newer candidate published meanwhile does not restart the wait of a host that never updates.
    assert lib.note_seen(seen, [{"name": "openssl", "installed": "1", "candidate": "3"}], "NOW") == {
        "openssl 1": "2026-11-01T00:00:00+00:00"
    }
    # Once the host took an update, a new one waits from now.
    assert lib.note_seen(seen, [{"name": "openssl", "installed": "2", "candidate": "3"}], "NOW") == {
        "openssl 2": "NOW"
    }


def test_seen_and_rollback_files_are_read_or_refused_with_the_path(tmp_path):
    assert lib.load_seen(str(tmp_path / "missing.json")) == {}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(lib.UpdatesError, match=r"bad\.json"):
        lib.load_seen(str(bad))
    lib.save_json(
        str(tmp_path / "sub" / "rollback.json"),
        {
            "run": "R1",
            "saved": [{"name": "a", "version": "1", "file": "/x.deb"}],
            "new": ["linux-image-6.1.0-30-amd64"],
        },
    )
    assert lib.load_rollback(str(tmp_path / "sub" / "rollback.json")) == (
        [{"name": "a", "version": "1", "file": "/x.deb"}],
        ["linux-image-6.1.0-30-amd64"],
        "R1",
    )
    (tmp_path / "broken.json").write_text(json.dumps({"saved": [{"name": "a"}]}))
    with pytest.raises(lib.UpdatesError, match=r"broken\.json"):
        lib.load_rollback(str(tmp_path / "broken.json"))


def test_the_diff_shows_each_package_before_and_after():
    diff = lib.diff_text([{"name": "openssl", "installed": "3.0.1", "candidate": "3.0.2"}])
    assert diff["before"] == "openssl 3.0.1\n" and diff["after"] == "openssl 3.0.2\n"
