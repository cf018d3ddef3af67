"""The fast path of the vars plugin ``voip_group_vars``: plain-data vars files, parsed once per process.

The plugin takes a group_vars or host_vars file from here when it is plain
data (no Jinja, not vault-encrypted, not JSON, inside the subset of
``voipctl.model.fastyaml``) and from Ansible's loader otherwise. Ansible
tags what its loader reads with the file and line; these values carry no
tags, so ``voipctl.adapters.estate`` asks ``fast_load`` again (a lookup in
the same cache) which file gave a variable.
"""

from __future__ import annotations

from typing import Any

from voipctl.model import fastyaml

_FAST: dict[str, dict[str, Any]] = {}
_VAULTED: dict[str, bool] = {}


def fast_load(path: str) -> dict[str, Any] | None:
    """The file's data by the fast parser, or None when it must go through Ansible's loader."""
    if path in _FAST:
        return _FAST[path]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("$ANSIBLE_VAULT") or "{{" in text or "{%" in text or text.lstrip()[:1] in ("{", "["):
        return None  # vaulted, templated, or JSON (Ansible reads JSON first, with its own rules)
    try:
        data = fastyaml.parse(text)
    except (fastyaml.Unsupported, fastyaml.BadScalar):
        return None  # Ansible's loader reads it; the preflight reports what voipctl's reader refuses
    if data is not None and not isinstance(data, dict):
        return None
    _FAST[path] = data or {}
    return _FAST[path]


def is_vaulted_file(path: str) -> bool:
    """Whether ``path`` is vault-encrypted as a whole (Ansible decrypts it; voipctl never sees its values)."""
    if path not in _VAULTED:
        try:
            with open(path, "rb") as handle:
                _VAULTED[path] = handle.read(14) == b"$ANSIBLE_VAULT"
        except OSError:
            _VAULTED[path] = False
    return _VAULTED[path]
