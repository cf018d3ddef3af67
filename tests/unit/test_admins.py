"""Administrator accounts: the model's list is checked, and members of the admin group it does not keep go."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voipctl.derive.admins import AdminDataError, admins_to_remove, check_admins

PASSWD = {
    "root": ["x", "0", "0", "root", "/root", "/bin/bash"],
    "opsadmin": ["x", "1000", "1000", "", "/home/opsadmin", "/bin/bash"],
    "stray": ["x", "1001", "1001", "", "/home/stray", "/bin/bash"],
    "primary": ["x", "1002", "27", "", "/home/primary", "/bin/bash"],
    "www-data": ["x", "33", "33", "", "/var/www", "/usr/sbin/nologin"],
}
SUDO = ["x", "27", "opsadmin,stray,ansible"]
ADMINS = [{"name": "opsadmin", "ssh_keys": ["ssh-ed25519 AAAA"]}, {"name": "formeradmin", "state": "absent"}]


def test_members_the_model_does_not_keep_go_and_so_do_absent_ones():
    # 'primary' has the group as its primary group: a member too. 'ansible' is
    # the connection's account: it stays though the model does not list it (and
    # has no passwd row here: not a local account, nothing to remove anyway).
    passwd = {**PASSWD, "formeradmin": ["x", "1003", "1003", "", "/home/formeradmin", "/bin/bash"]}
    assert admins_to_remove(SUDO, passwd, ADMINS, "ansible") == ["formeradmin", "primary", "stray"]


def test_root_and_the_connection_account_are_never_removed():
    passwd = {n: ["x", str(1000 + i), "1", "", "", ""] for i, n in enumerate(("ops", "ci"))}
    group = ["x", "27", "root,ops,ci"]
    assert admins_to_remove(group, {**passwd, "root": PASSWD["root"]}, [], "ci") == ["ops"]


def test_an_unknown_connection_account_removes_nothing():
    """Guessing the login (an empty $USER) would have removed the account of the running automation."""
    with pytest.raises(AdminDataError, match="connects with is unknown"):
        admins_to_remove(SUDO, PASSWD, ADMINS, "")


def test_only_local_login_accounts_are_removed():
    passwd = {**PASSWD, "sshd": ["x", "105", "65534", "", "/run/sshd", "/usr/sbin/nologin"],
              "nobody": ["x", "65534", "27", "", "/", "/usr/sbin/nologin"]}  # fmt: skip
    group = ["x", "27", "sshd,stray,ldapuser"]
    # sshd (system) and nobody (above the range) stay; ldapuser has no local row.
    assert admins_to_remove(group, passwd, [], "opsadmin") == ["primary", "stray"]
    with pytest.raises(AdminDataError, match=r"'sshd' \(uid 105\) is a system account"):
        admins_to_remove(None, passwd, [{"name": "sshd", "state": "absent"}], "opsadmin")


def test_with_unlisted_removal_off_only_absent_ones_go():
    passwd = {**PASSWD, "formeradmin": ["x", "1003", "1003", "", "/home/formeradmin", "/bin/bash"]}
    assert admins_to_remove(None, passwd, ADMINS, "opsadmin") == ["formeradmin"]


@pytest.mark.parametrize(
    ("admins", "message"),
    [
        ([{"name": "root"}], "root never logs in"),
        ([{"name": "Ops"}], "not an account name"),
        ([{"name": "a;reboot"}], "not an account name"),
        ([{"name": "-rf"}], "not an account name"),
        ([{"name": "x" * 33}], "not an account name"),
        ([{"name": "ops\n"}], "not an account name"),
        ([{"name": "opsadmin"}, {"name": "opsadmin", "state": "absent"}], "listed twice"),
        ([{"name": "ops", "state": "gone"}], "neither 'present' nor 'absent'"),
        ([{"name": "ansible", "state": "absent"}], "connects with"),
        ([{"comment": "no name"}], "needs a name"),
        (["opsadmin"], "needs a name"),
    ],
)
def test_a_list_that_cannot_be_applied_safely_is_refused(admins, message):
    with pytest.raises(AdminDataError, match=message):
        check_admins(admins, "ansible")


@given(st.lists(st.sampled_from(["opsadmin", "stray", "ansible", "root", "primary", "x1"]), unique=True))
def test_never_removes_a_kept_account(members):
    passwd = {n: ["x", str(1000 + i), "1", "", "", ""] for i, n in enumerate(members)}
    gone = admins_to_remove(["x", "27", ",".join(members)], passwd, ADMINS, "ansible")
    assert not {"root", "ansible", "opsadmin"} & set(gone)
    assert set(gone) == set(members) - {"root", "ansible", "opsadmin"}
