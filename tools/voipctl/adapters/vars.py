"""Inventory variables as Ansible hands them to a filter, as plain data where that is the same thing.

Ansible (2.19 and later) gives a filter a variable's list or dict as a lazy
container that templates each element when it is read (why that matters:
docs/performance.md#filters-read-plain-data). The directory
comes from the vars plugin's fast path (the collection's ``plugins/vars/voip_group_vars.py``),
which takes only files without Jinja, so there is nothing to template.

``plain`` returns the container's raw contents when no string anywhere in
them holds a template marker: then they are exactly what the element-by-element
walk would give. When one does, the value is returned as it came, and
Ansible templates it as usual.
"""

from __future__ import annotations

from typing import Any

_MARKERS = ("{{", "{%", "{#")
_SCALARS = (int, float, bool, type(None))


def _holds_template(value: Any) -> bool:
    """True when a string in ``value`` holds a template marker, or a nested lazy container hides what it holds."""
    kind = type(value)
    if kind is str:
        return "{" in value and any(marker in value for marker in _MARKERS)
    if kind is dict:
        return any(_holds_template(k) or _holds_template(v) for k, v in value.items())
    if kind is list:
        return any(_holds_template(item) for item in value)
    if kind in _SCALARS:
        return False
    # Tagged or lazy containers and strings (subclasses of the native types).
    if hasattr(value, "_non_lazy_copy"):
        return True
    if isinstance(value, str):
        return "{" in value and any(marker in value for marker in _MARKERS)
    if isinstance(value, dict):
        return any(_holds_template(k) or _holds_template(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_template(item) for item in value)
    return False


def plain(value: Any) -> Any:
    """``value`` without Ansible's lazy templating wrapper, when nothing in it is a template.

    Anything that is not a lazy container (plain data, as in unit tests or
    ``voipctl``'s own callers) is returned unchanged.
    """
    unwrap = getattr(value, "_non_lazy_copy", None)
    if unwrap is None:
        return value
    raw = unwrap()
    return value if _holds_template(raw) else raw
