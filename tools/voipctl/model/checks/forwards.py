"""Forwards, hunt group overflows and FXO routes: each target is reachable and allowed, and no chain loops.

Run after every number is claimed (users, hunt groups, FXS ports): a target
is looked up in the context's ``extensions`` and ``dids``.
"""

from __future__ import annotations

from typing import Any

from voipctl.core.activity import COS_RANK, effective_class_of_service
from voipctl.core.dialling import dial_prefixes
from voipctl.model.checks.context import Context
from voipctl.model.checks.graph import simple_cycles, strongly_connected
from voipctl.model.loader import Origin
from voipctl.model.types import did_number

FORWARD_KINDS = ("unconditional", "busy", "no_answer")


def _check_target(
    ctx: Context,
    origin: Origin,
    sub: tuple,
    target: Any,
    owner: dict[str, Any] | None,
    own: dict[str, Any] | None = None,
) -> None:
    """``owner``: the user forwarding (class of service, voicemail); ``own``: the user or
    hunt group whose own numbers are a loop as the target (default: the owner)."""
    own = owner if own is None else own
    if own is not None and (target == own["extension"] or target == own.get("did")):
        number = "extension" if isinstance(target, int) else "DID"
        if owner is not None:
            message = f"forwards to the user's own {number} {target}: the call would come straight back"
        else:
            message = (
                f"overflows to the hunt group's own {number} {target}: "
                "unanswered calls would ring it again and again"
            )
        ctx.rep.error(origin, sub, message)
        return
    if isinstance(target, int):
        if target not in ctx.extensions:
            if target in ctx.uncertain:
                return
            ctx.rep.error(origin, sub, f"forward target {target} is not an extension in the estate")
        elif target in ctx.leaver_extensions:
            ctx.rep.error(
                origin, sub, f"forward target {target} belongs to leaver {ctx.leaver_extensions[target]}"
            )
        return
    if target == "voicemail":
        if owner is not None and not owner.get("features", {}).get("voicemail"):
            ctx.rep.error(origin, sub, "forwards to voicemail but the user's voicemail is off")
        return
    # An external number: the owner's class of service must allow the call.
    if owner is None:
        if own is not None and "strategy" in own:
            ctx.rep.error(
                origin,
                sub,
                f"overflow to the external number {target}: a hunt group has no class of service to "
                "call out with; overflow to an extension (a user whose forward goes out) or voicemail",
            )
        return
    site = ctx.get("voip_sites", {}).get(owner["site"], {})
    code = site.get("country_code")
    needed = "national" if code and target.startswith("+" + code) else "international"
    if needed == "national":
        # As the call server dials it: the national prefix instead of +<country code>.
        dialled = dial_prefixes(code)[0] + target[len(code) + 1 :]
        if any(dialled.startswith(str(p)) for p in site.get("premium_prefixes") or []):
            needed = "international"
    effective = effective_class_of_service(owner, ctx.today)
    if COS_RANK[effective] < COS_RANK[needed]:
        ctx.rep.error(
            origin,
            sub,
            f"forward to {target} needs class of service {needed} (the user's is {effective} on {ctx.today})",
        )


def check_forward_targets(ctx: Context) -> None:
    """Each user's forwards, each hunt group's overflow and each FXO port's route."""
    if "voip_users" in ctx.origins:
        origin = ctx.origins["voip_users"]
        for i, user in enumerate(ctx.get("voip_users", [])):
            if user is None:
                continue
            forwards = user.get("features", {}).get("call_forward", {})
            for kind in FORWARD_KINDS:
                if kind in forwards:
                    _check_target(ctx, origin, (i, "features", "call_forward", kind), forwards[kind], user)
    if "voip_hunt_groups" in ctx.origins:
        origin = ctx.origins["voip_hunt_groups"]
        for i, group in enumerate(ctx.get("voip_hunt_groups", [])):
            if group and "overflow" in group:
                _check_target(ctx, origin, (i, "overflow"), group["overflow"], None, group)
    for host, values in ctx.hosts.items():
        gateway = values.get("voip_gateway")
        if not gateway:
            continue
        origin = ctx.host_origins[host]["voip_gateway"]
        for i, port in enumerate(gateway.get("fxo_ports", ())):
            _check_target(ctx, origin, ("fxo_ports", i, "route_to"), port["route_to"], None)


def _forward_graph(ctx: Context) -> dict[tuple, dict[tuple, list[tuple[str, Any]]]]:
    """Who forwards to whom: node -> {next node: [(kind, target), ...]}.

    Nodes are users ``("u", i)`` and hunt groups ``("h", i)`` (indexes in
    their lists); a target reaches one by its extension or by its DID (the
    call leaves by a trunk and comes back in). Voicemail, outside numbers
    and FXS ports end a chain. A node's edge to itself is left out: the
    target checks report it.
    """
    users, groups = ctx.get("voip_users", []), ctx.get("voip_hunt_groups", [])
    # Who holds a number: its first claim (ctx.extensions, ctx.dids), as the other checks say.
    kinds = {id(ctx.origins.get("voip_users")): "u", id(ctx.origins.get("voip_hunt_groups")): "h"}
    edges: dict[tuple, dict[tuple, list[tuple[str, Any]]]] = {}

    def add(node: tuple, kind: str, target: Any) -> None:
        if isinstance(target, int):
            claim = ctx.extensions.get(target)
        else:
            claim = ctx.dids.get(did_number(target)) if target.startswith("+") else None
        holder = kinds.get(id(claim[1])) if claim else None
        nxt = (holder, claim[2][0]) if holder else None
        if nxt is not None and nxt != node:
            edges.setdefault(node, {}).setdefault(nxt, []).append((kind, target))

    for i, user in enumerate(users):
        forwards = user.get("features", {}).get("call_forward") if user else None
        for kind in FORWARD_KINDS if forwards else ():
            if kind in forwards:
                add(("u", i), kind, forwards[kind])
    for i, group in enumerate(groups):
        if group and "overflow" in group:
            add(("h", i), "overflow", group["overflow"])
    return edges


def check_forward_loops(ctx: Context) -> None:
    """A chain of forwards (and hunt group overflows) that comes back to its start."""
    edges = _forward_graph(ctx)
    if not edges:
        return
    rank = {node: (node[0] != "u", node[1]) for node in edges}  # users first, in file order
    for component in strongly_connected(edges):
        component.sort(key=rank.__getitem__)
        loops, complete = simple_cycles(component, edges, rank)
        for loop in loops:
            _report_loop(ctx, loop, edges)
        if not complete:
            names = ", ".join(_node_name(ctx, node) for node in component[:10])
            more = f" and {len(component) - 10} more" if len(component) > 10 else ""
            _node_error(
                ctx,
                component[0],
                next(iter(edges[component[0]].values()))[0][0],
                f"{len(component)} users and hunt groups forward to one another in more loops than "
                f"listed here: {names}{more}; untangle their forwards",
            )


def _report_loop(
    ctx: Context, loop: list[tuple], edges: dict[tuple, dict[tuple, list[tuple[str, Any]]]]
) -> None:
    """Report one loop at its first node, naming each step."""
    steps = []
    for node, nxt in zip(loop, [*loop[1:], loop[0]], strict=True):
        label = "/".join(kind if isinstance(t, int) else f"{kind} to {t}" for kind, t in edges[node][nxt])
        steps.append(f"{_node_name(ctx, node)} -{label}->")
    _node_error(
        ctx,
        loop[0],
        edges[loop[0]][loop[1]][0][0],
        f"forward loop: {' '.join(steps)} {_node_name(ctx, loop[0])}: a call would go round forever",
    )


def _node_name(ctx: Context, node: tuple) -> str:
    """A user or hunt group of the forward graph, by id and extension."""
    if node[0] == "u":
        user = ctx.get("voip_users", [])[node[1]]
        return f"user {user['id']} ({user['extension']})"
    group = ctx.get("voip_hunt_groups", [])[node[1]]
    return f"hunt group {group['id']} ({group['extension']})"


def _node_error(ctx: Context, node: tuple, kind: str, message: str) -> None:
    """Report at the forward (of ``kind``) or the overflow of a node."""
    if node[0] == "u":
        ctx.err("voip_users", (node[1], "features", "call_forward", kind), message)
    else:
        ctx.err("voip_hunt_groups", (node[1], "overflow"), message)
