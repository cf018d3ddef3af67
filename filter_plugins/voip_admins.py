"""Administrator filters: which accounts of the administrator group go. Logic lives in voipctl.derive.admins."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from voipctl.derive.admins import AdminDataError, check_admins, unlisted_admins
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    check_admins = unlisted_admins = None
    _IMPORT_ERROR = exc


def _need():
    if unlisted_admins is None:
        raise AnsibleFilterError(
            f"voip_admins filters need the voipctl package (run `make venv`): {_IMPORT_ERROR}"
        )


def voip_admins_checked(admins, connection_user=None):
    """The present administrators' names: ``voip_admins | voip_admins_checked(ansible_user)``."""
    _need()
    try:
        return check_admins(admins, connection_user)
    except AdminDataError as exc:
        raise AnsibleFilterError(f"voip_admins: {exc}") from exc


def voip_unlisted_admins(group_entry, passwd, admins, connection_user=None):
    """Members of the administrator group the model does not keep (never root nor the connection user)."""
    _need()
    try:
        return unlisted_admins(group_entry, passwd, admins, connection_user)
    except AdminDataError as exc:
        raise AnsibleFilterError(f"voip_admins: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"voip_admins_checked": voip_admins_checked, "voip_unlisted_admins": voip_unlisted_admins}
