"""Large list arguments (thousands of rows) passed as one JSON string, validated as Ansible would.

Why a string: docs/performance.md#rows-travel-as-one-json-string. Modules
that take such lists declare the argument ``raw`` and ``no_log`` and accept
the list or its JSON; ``validate_list`` parses it and validates it against
the list's real spec with Ansible's own validator and messages (after a
fast path for flat rows that need no conversion).

``no_log`` on the argument keeps it out of the host's journal: AnsibleModule
logs its arguments there unless the *task* is no_log (the module's own
``no_log`` is overridden by the task's), and the rows may hold secrets. The
module then masks only the secret cells (``validate_list``'s no_log values).
"""

from __future__ import annotations

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError


class ArgumentError(Exception):
    """The list argument is not valid (not JSON, not a list, rows against the spec)."""


def validate_list(value, name, spec):
    """``value`` (a list or its JSON) validated against ``spec[name]``: (list, no_log values), else ArgumentError."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ArgumentError(f"{name} is a string but not JSON: {exc}") from exc
    if not isinstance(value, list):
        raise ArgumentError(f"{name} must be a list of rows (or its JSON), not {type(value).__name__}")
    fast = _plain_rows(value, spec[name].get("options") or {})
    if fast is not None:
        return fast
    result = ArgumentSpecValidator(spec).validate({name: value})
    if result.error_messages:
        # Worded as AnsibleModule words its own argument errors.
        raise ArgumentError(
            "; ".join(
                f"Unsupported parameters: {error.msg}" if isinstance(error, UnsupportedError) else error.msg
                for error in result.errors
            )
        )
    return result.validated_parameters[name], result._no_log_values


class _NotPlain(Exception):
    """A value the fast path leaves to Ansible's validator (a conversion or an error to word)."""


_SCALARS = {"str": str, "int": int, "bool": bool}


def _plain_rows(rows, options):
    """Rows that need no conversion, checked quickly: (rows with defaults, no_log values), else None.

    Ansible's validator deep-copies and converts every value (seconds for
    10,000 nested rows). Rows whose values already have their types, with
    no unknown or missing option, come out of it unchanged but for defaults:
    those take this path (types str, int, bool, dict and list, with
    suboptions and choices). Anything else goes to Ansible's validator, for
    its conversions and its messages.
    """
    secrets = set()
    try:
        out = [_plain_dict(row, options, secrets) for row in rows]
    except _NotPlain:
        return None
    return out, secrets


def _plain_dict(value, options, secrets):
    if not isinstance(value, dict) or not value.keys() <= options.keys():
        raise _NotPlain
    out = {}
    for name, spec in options.items():
        if name not in value:
            if spec.get("required"):
                raise _NotPlain
            # What Ansible fills in for an absent option: its default, else None.
            out[name] = spec.get("default")
            continue
        out[name] = item = _plain_value(value[name], spec, secrets)
        if spec.get("no_log") and item is not None:
            secrets.add(item)
    return out


def _plain_value(value, spec, secrets):
    if value is None:
        if spec.get("required"):
            raise _NotPlain
        return None
    kind = spec.get("type", "str")
    if kind in _SCALARS:
        # bool is an int to isinstance, not to Ansible.
        if not isinstance(value, _SCALARS[kind]) or (kind != "bool" and isinstance(value, bool)):
            raise _NotPlain
        if "choices" in spec and value not in spec["choices"]:
            raise _NotPlain
        return value
    if kind == "dict" and isinstance(value, dict):
        return _plain_dict(value, spec["options"], secrets) if "options" in spec else dict(value)
    if kind == "list" and isinstance(value, list):
        if "options" in spec:
            return [_plain_dict(item, spec["options"], secrets) for item in value]
        element = {"type": spec.get("elements", "raw")}
        if element["type"] == "raw":
            return list(value)
        return [_plain_value(item, element, secrets) for item in value]
    raise _NotPlain


# --- the flow of a module that takes such a list -----------------------------


def module_rows(module, value, name, spec, invocation, prefix="", **failed):
    """(rows, their no_log values) of ``value``, the module's list ``name`` or its JSON, validated against ``spec``.

    A list that is not valid fails the module with ``prefix`` and Ansible's
    message, ``failed``'s keys and ``invocation`` (the arguments as echoed
    back: summarised, never the rows).
    """
    try:
        return validate_list(value, name, spec)
    except ArgumentError as exc:
        module.fail_json(msg=f"{prefix}{exc}", **failed, invocation=invocation)


def mask_only(module, secrets, *arguments):
    """Mask in anything the module returns only ``secrets`` and each of ``arguments`` given as JSON (whole).

    AnsibleModule masks every value of a no_log argument, names too, and
    scrubs each out of every returned string (seconds at 10,000 rows): the
    secret cells are what must not leave the host.
    """
    module.no_log_values = set(secrets) | {value for value in arguments if isinstance(value, str)}


def not_echoed(rows, noun="row"):
    """What the module's echoed arguments say of a list it was given: how many, never the rows."""
    return f"{len(rows)} {noun}(s), not echoed"
