"""What refers to a user's numbers and phones elsewhere in the inventory, and how a change follows it.

Other users' call forwards to the user's extension, hunt groups whose
overflow is the extension, the user's own hunt group memberships and switch
ports patched to the user's phones: a move retargets them, a leave removes
them (``voipctl.directory``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from voipctl.directory_store import Directory


def _forward_refs(directory: Directory, extension: int) -> Iterator[tuple[CommentedMap, str]]:
    """(user node, kind) of every call forward to ``extension`` (scanned on plain data)."""
    for index, other in enumerate(directory.users.data()):
        forwards = (other.get("features") or {}).get("call_forward")
        if not isinstance(forwards, dict):
            continue
        for kind in ("unconditional", "busy", "no_answer"):
            if kind in forwards and str(forwards[kind]) == str(extension):
                yield directory.users.node(index), kind


def drop_forwards_to(directory: Directory, user: CommentedMap, details: list[str]) -> None:
    """Remove every call forward to ``user``'s extension (a leaver), with its no-answer timeout."""
    for owner, kind in list(_forward_refs(directory, user["extension"])):
        forwards = owner["features"]["call_forward"]
        del forwards[kind]
        if kind == "no_answer" and "no_answer_timeout" in forwards:
            del forwards["no_answer_timeout"]
        if not forwards:
            del owner["features"]["call_forward"]
        directory.touch(directory.users_file)
        details.append(f"{owner['id']}: call forward {kind} to {user['extension']} removed")


def retarget_forwards(directory: Directory, old: int, new: int, details: list[str]) -> None:
    """Point every call forward to extension ``old`` at ``new`` (a mover)."""
    for owner, kind in list(_forward_refs(directory, old)):
        owner["features"]["call_forward"][kind] = new
        directory.touch(directory.users_file)
        details.append(f"call forward {kind} to {old} now goes to {new}")


def hunt_group_overflows(directory: Directory, extension: int) -> Iterator[tuple[Path, CommentedMap]]:
    """(file, hunt group) of every hunt group whose overflow is ``extension``."""
    for path in directory.files_with("voip_hunt_groups", scope=("group_vars",)):
        for group in directory.doc(path)["voip_hunt_groups"] or []:
            if str(group.get("overflow")) == str(extension):
                yield path, group


def unpatch_phones(directory: Directory, macs: list[str], details: list[str]) -> None:
    """Remove ``phone_mac`` of switch ports patched to these phones."""
    wanted = {m.lower() for m in macs}
    if not wanted:
        return
    for path in directory.files_with("voip_switch", scope=("host_vars", "group_vars")):
        for port in directory.doc(path)["voip_switch"].get("ports") or []:
            if str(port.get("phone_mac", "")).lower() in wanted:
                del port["phone_mac"]
                directory.touch(path)
                details.append(
                    f"{path.parent.name} port {port.get('name')}: phone {', '.join(macs)} unpatched"
                )


def leave_hunt_groups(user: CommentedMap, details: list[str]) -> bool:
    """Take ``user`` out of their hunt groups; whether they were in any."""
    features = user.get("features")
    if isinstance(features, dict) and features.get("hunt_groups"):
        details.append(f"left hunt group(s) {', '.join(map(str, features['hunt_groups']))}")
        del features["hunt_groups"]
        return True
    return False
