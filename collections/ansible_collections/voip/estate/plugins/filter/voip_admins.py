"""Administrator and sshd filters. Logic lives in voipctl.derive.admins and voipctl.derive.sshd."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.voip.estate.plugins.plugin_utils.voip_import_guard import ImportGuard

with ImportGuard() as need_voipctl:
    from voipctl.derive import sshd
    from voipctl.derive.admins import AdminDataError, admins_to_remove, check_admins


def voip_admins_checked(admins, connection_user=None):
    """The present administrators' names: ``voip_admins | voip_admins_checked(ansible_user)``."""
    need_voipctl("voip_admins_checked")
    try:
        return check_admins(admins, connection_user)
    except AdminDataError as exc:
        raise AnsibleFilterError(f"voip_admins: {exc}") from exc


def voip_admins_to_remove(group_entry, passwd, admins, login, uid_min=1000, uid_max=59999):
    """Accounts to remove: group members the model does not keep and absent ones (never root nor ``login``)."""
    need_voipctl("voip_admins_to_remove")
    try:
        return admins_to_remove(group_entry, passwd, admins, login, int(uid_min), int(uid_max))
    except AdminDataError as exc:
        raise AnsibleFilterError(f"voip_admins: {exc}") from exc


def voip_sshd_probe_addresses(networks):
    """One address in each management network and one outside them: where sshd -T -C probes from."""
    need_voipctl("voip_sshd_probe_addresses")
    try:
        return sshd.probe_addresses(networks)
    except ValueError as exc:
        raise AnsibleFilterError(f"voip_sshd_probe_addresses: {exc}") from exc


def voip_sshd_problems(results, allow_groups, match_lines=""):
    """What in sshd's effective settings (registered sshd -T results) breaks the hardening."""
    need_voipctl("voip_sshd_problems")
    reports = [{"spec": r.get("cmd", [""])[-1] if isinstance(r.get("cmd"), list) else str(r.get("item")),
                "stdout": r.get("stdout", "")} for r in results]  # fmt: skip
    return sshd.problems(reports, allow_groups, match_lines)


class FilterModule:
    def filters(self):
        return {
            "voip_admins_checked": voip_admins_checked,
            "voip_admins_to_remove": voip_admins_to_remove,
            "voip_sshd_probe_addresses": voip_sshd_probe_addresses,
            "voip_sshd_problems": voip_sshd_problems,
        }
