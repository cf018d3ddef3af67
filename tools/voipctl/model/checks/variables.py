"""Schema pass: each model variable checked against its schema; what is valid is kept for the cross checks.

``load_estate`` and ``load_hosts`` fill the context's ``estate`` and ``hosts``
(invalid list items become None, invalid dict entries are dropped);
``pydantic_message`` words a pydantic error for an operator.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError

from voipctl.model.checks.context import Context
from voipctl.model.loader import Origin, Var
from voipctl.model.schema import ESTATE_VARS, HOST_VARS, ITEMS, RETIRED_KEYS, adapter
from voipctl.model.toplevel import (
    missing_directory,
    model_in_inventory_files,
    overridden_derivations,
    unknown_variables,
)
from voipctl.model.types import PATTERNS, shown


def pydantic_message(error: dict[str, Any]) -> str:
    """Word one pydantic error for an operator (value named, cut short, no pydantic jargon)."""
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"missing required key '{error['loc'][-1]}'"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        if key in RETIRED_KEYS:
            return f"{key} is no longer part of the model: {RETIRED_KEYS[key]}"
        return f"unknown key {shown(key)}"
    if kind == "string_pattern_mismatch":
        wanted = PATTERNS.get(ctx.get("pattern", ""), f"matching {ctx.get('pattern')}")
        return f"{shown(value)} is not {wanted}"
    if kind == "literal_error":
        return f"{shown(value)} is not one of {ctx.get('expected')}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_type" and isinstance(value, (int, float)):
        return f"{shown(value)} is not a string: quote it"
    if kind in _WANTED:
        return f"{shown(value)} is not {_WANTED[kind]}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"{shown(value)} is too long (at most {ctx.get('max_length')} characters)"
    return f"{error['msg']} (got {shown(value)})"


_WANTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
}


def _loc(error: dict[str, Any]) -> tuple:
    # pydantic adds '[key]' markers for dict keys/values; keep only real keys.
    return tuple(part for part in error["loc"] if part not in ("[key]",))


def _validate_var(ctx: Context, schema: Any, item_schema: Any, var: Var) -> Any:
    """Schema-check one variable; report errors; return the value with bad items None/dropped."""
    value = var.value
    try:
        return adapter(schema).validate_python(value)
    except ValidationError as exc:
        for error in exc.errors():
            ctx.rep.error(var.origin, _loc(error), pydantic_message(error))
    container = getattr(schema, "__origin__", None)
    if item_schema is None or not isinstance(value, container or ()):
        return None
    # Keep the valid items so the cross checks still run on them.
    item = adapter(item_schema)
    if isinstance(value, list):
        kept: list[Any] = []
        for entry in value:
            try:
                kept.append(item.validate_python(entry))
            except ValidationError:
                kept.append(None)
        return kept
    if isinstance(value, dict):
        result = {}
        for key, entry in value.items():
            with contextlib.suppress(ValidationError):
                result[key] = item.validate_python(entry)
        return result
    return None


def load_estate(ctx: Context) -> None:
    """Schema-check the estate-wide variables; report one defined per host instead of for all."""
    all_vars = ctx.inv.all_vars()
    for name, schema in ESTATE_VARS.items():
        var = all_vars.get(name)
        if var is None:
            continue
        ctx.origins[name] = var.origin
        ctx.estate[name] = _validate_var(ctx, schema, ITEMS.get(name), var)
    if "voip_sites" not in all_vars:
        ctx.rep.error(Origin("group_vars/all"), (), "voip_sites is not defined: every estate needs its sites")
    # Estate-wide variables must not differ per host.
    for host in ctx.inv.hosts:
        for name, var in ctx.inv.host_vars(host).items():
            if name in ESTATE_VARS and name in all_vars and var.origin != all_vars[name].origin:
                ctx.rep.error(
                    var.origin,
                    (),
                    f"{name} is estate-wide: define it only in group_vars/all (this overrides it for {host})",
                )
            elif name in ESTATE_VARS and name not in all_vars:
                ctx.rep.error(var.origin, (), f"{name} is estate-wide: define it in group_vars/all")


def check_top_level(ctx: Context) -> None:
    """Every variable is read by someone; the estate has its user directory (voipctl.model.toplevel)."""
    inv = ctx.inv
    for origin, message in (
        *unknown_variables(inv),
        *model_in_inventory_files(inv),
        *overridden_derivations(inv),
    ):
        ctx.rep.error(origin, (), message)
    missing = missing_directory(ctx.inv, ctx.inv.all_vars())
    if missing:
        ctx.rep.error(ctx.origins.get("voip_users", Origin("group_vars/all")), (), missing)


def load_hosts(ctx: Context) -> None:
    """Schema-check each host's model variables, remembering where each came from."""
    for host in ctx.inv.hosts:
        merged = ctx.inv.host_vars(host)
        values: dict[str, Any] = {}
        origins: dict[str, Origin] = {}
        for name, schema in HOST_VARS.items():
            var = merged.get(name)
            if var is None:
                continue
            origins[name] = var.origin
            values[name] = _validate_var(ctx, schema, None, var)
        ctx.hosts[host] = values
        ctx.host_origins[host] = origins
        ctx.host_origins[host]["@host"] = ctx.inv.host_origins.get(host, Origin("hosts.yml"))
