"""Administrator accounts: the model's list is checked, and members of the admin group it does not keep go."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voipctl.derive.admins import AdminDataError, check_admins, unlisted_admins

PASSWD = {
    "root": ["x", "0", "0", "root", "/root", "/bin/bash"],
    "opsadmin": ["x", "1000", "1000", "", "/home/opsadmin", "/bin/bash"],
    "stray": ["x", "1001", "1001", "", "/home/stray", "/bin/bash"],
    "primary": ["x", "1002", "27", "", "/home/primary", "/bin/bash"],
    "www-data": ["x", "33", "33", "", "/var/www", "/usr/sbin/nologin"],
}
SUDO = ["x", "27", "opsadmin,stray,ansible"]
ADMINS = [{"name": "opsadmin", "ssh_keys": ["ssh-ed25519 AAAA"]}, {"name": "formeradmin", "state": "absent"}]


def test_members_the_model_does_not_keep_go():
    # 'primary' has the group as its primary group: a member too. The
    # connection's account stays even though the model does not list it.
    assert unlisted_admins(SUDO, PASSWD, ADMINS, "ansible") == ["primary", "stray"]


def test_root_and_the_connection_account_are_never_removed():
    group = ["x", "27", "root,ops,ci"]
    assert unlisted_admins(group, {}, [], "ci") == ["ops"]
    assert unlisted_admins(group, {}, [], None) == ["ci", "ops"]


def test_an_absent_admin_in_the_group_goes_and_a_missing_group_removes_nothing():
    assert unlisted_admins(["x", "27", "formeradmin"], {}, ADMINS, "opsadmin") == ["formeradmin"]
    assert unlisted_admins(None, PASSWD, ADMINS, "opsadmin") == []


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
    gone = unlisted_admins(["x", "27", ",".join(members)], {}, ADMINS, "ansible")
    assert not {"root", "ansible", "opsadmin"} & set(gone)
    assert set(gone) == set(members) - {"root", "ansible", "opsadmin"}
