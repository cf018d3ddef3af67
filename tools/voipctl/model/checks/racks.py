"""Racks, patch panels, patch cords and wall outlets.

Hosts and panels are placed in rack units (each unit holds one thing); a
cord joins a panel port to a device port at the same site; each phone on
a switch port is patched somewhere; a wall outlet ends one panel port.
"""

from __future__ import annotations

from typing import Any

from voipctl.model.checks.context import Context
from voipctl.model.loader import Origin
from voipctl.model.types import shown


def check_racks_and_patching(ctx: Context) -> None:
    """Racks and what is in them, the patch cords, unpatched phones and wall outlets."""
    racks = ctx.get("voip_racks", {})
    for name, rack in racks.items():
        ctx.site_ref(ctx.origins["voip_racks"], (name, "site"), rack["site"])
    units = _Units(ctx, racks)
    for host, values in ctx.hosts.items():
        placement = values.get("voip_rack")
        if placement:
            units.place(
                ctx.host_origins[host]["voip_rack"],
                (),
                f"host {host}",
                placement["rack"],
                placement["unit"],
                placement.get("height", 1),
                values.get("voip_site"),
            )
    panels = _place_panels(ctx, units)
    used = _check_connections(ctx, panels, racks)
    _check_unpatched_phones(ctx, used)
    _check_wall_outlets(ctx, panels, racks)


class _Units:
    """The units of each rack and what occupies them, filled as things are placed."""

    def __init__(self, ctx: Context, racks: dict[str, dict[str, Any]]):
        self.ctx = ctx
        self.racks = racks
        self.occupied: dict[tuple[str, int], str] = {}

    def place(
        self, origin: Origin, sub: tuple, what: str, rack: str, unit: int, height: int, site: str | None
    ) -> None:
        """Put ``what`` in ``height`` units of ``rack`` from ``unit`` up; report what does not fit."""
        racks, occupied, rep = self.racks, self.occupied, self.ctx.rep
        if rack not in racks:
            rep.error(origin, (*sub, "rack"), f"unknown rack {shown(rack)}")
            return
        if site is not None and racks[rack]["site"] != site:
            rep.error(
                origin,
                (*sub, "rack"),
                f"rack {rack} is at site {racks[rack]['site']}, {what} at site {site}",
            )
        top = unit + height - 1
        if top > racks[rack]["height"]:
            rep.error(
                origin,
                (*sub, "unit"),
                f"units {unit}-{top} do not fit in rack {rack} ({racks[rack]['height']} units)",
            )
        for u in range(unit, min(top, racks[rack]["height"]) + 1):
            other = occupied.get((rack, u))
            if other is not None:
                rep.error(origin, (*sub, "unit"), f"unit {u} of rack {rack} is already used by {other}")
                break
        for u in range(unit, top + 1):
            occupied.setdefault((rack, u), what)


def _place_panels(ctx: Context, units: _Units) -> dict[str, dict[str, Any]]:
    """Each patch panel by name (a name no host or other panel has), placed in its rack."""
    panels: dict[str, dict[str, Any]] = {}
    for i, panel in enumerate(ctx.get("voip_patch_panels", [])):
        if panel is None:
            continue
        if panel["name"] in panels or panel["name"] in ctx.hosts:
            ctx.err(
                "voip_patch_panels",
                (i, "name"),
                f"{shown(panel['name'])} is already a patch panel or host name",
            )
            continue
        panels[panel["name"]] = panel
        units.place(
            ctx.origins["voip_patch_panels"],
            (i,),
            f"patch panel {panel['name']}",
            panel["rack"],
            panel["unit"],
            panel.get("height", 1),
            None,
        )
    return panels


def _check_connections(
    ctx: Context, panels: dict[str, dict[str, Any]], racks: dict[str, dict[str, Any]]
) -> dict[tuple[str, str], str]:
    """Each patch cord's two ends; returns each patched port and the cord that patches it."""
    used: dict[tuple[str, str], str] = {}
    for i, conn in enumerate(ctx.get("voip_patch_connections", [])):
        if conn is None:
            continue
        ends = {side: _patch_end(ctx, i, side, conn[side], panels) for side in ("a", "b")}
        a, b = ends["a"], ends["b"]
        if a is not None and a == b:
            ctx.err("voip_patch_connections", (i, "b"), f"both ends are port {a[0]}:{a[1]}")
            continue
        if a is not None and b is not None:
            _check_cord(ctx, i, a, b, panels, racks)
        for side, end in ends.items():
            if end is None:
                continue
            if end in used:
                ctx.err(
                    "voip_patch_connections",
                    (i, side),
                    f"port {end[0]}:{end[1]} is already patched by {used[end]}",
                )
            else:
                used[end] = f"voip_patch_connections[{i}].{side}"
    return used


def _patch_end(
    ctx: Context, i: int, side: str, text: str, panels: dict[str, dict[str, Any]]
) -> tuple[str, str] | None:
    """One end of cord ``i``: (device, port) if it names a real port, else None (reported)."""
    device, sep, port = text.partition(":")
    if not sep or not port:
        ctx.err("voip_patch_connections", (i, side), f"{shown(text)} is not DEVICE:PORT")
        return None
    if device in panels:
        if not port.isdigit() or not 1 <= int(port) <= panels[device]["ports"]:
            ctx.err(
                "voip_patch_connections",
                (i, side),
                f"panel {device} has ports 1-{panels[device]['ports']}, not {shown(port)}",
            )
            return None
        return device, str(int(port))
    if device in ctx.hosts:
        switch = ctx.hosts[device].get("voip_switch")
        if switch and port not in {p["name"] for p in switch["ports"]}:
            ctx.err("voip_patch_connections", (i, side), f"switch {device} has no port {shown(port)}")
            return None
        return device, port
    ctx.err(
        "voip_patch_connections", (i, side), f"unknown device {shown(device)} (not a patch panel or host)"
    )
    return None


def _check_cord(
    ctx: Context,
    i: int,
    a: tuple[str, str],
    b: tuple[str, str],
    panels: dict[str, dict[str, Any]],
    racks: dict[str, dict[str, Any]],
) -> None:
    """A patch cord joins a panel port to a device port, both at one site."""
    if a[0] in panels and b[0] in panels:
        ctx.err(
            "voip_patch_connections",
            (i,),
            f"joins two patch panels ({a[0]}:{a[1]} and {b[0]}:{b[1]}); "
            "a cord runs from a panel port to a device port",
        )
        return
    site_a, site_b = (_end_site(ctx, end[0], panels, racks) for end in (a, b))
    if site_a is not None and site_b is not None and site_a != site_b:
        ctx.err(
            "voip_patch_connections",
            (i,),
            f"{a[0]} is at site {site_a}, {b[0]} at site {site_b}: a patch cord stays within a site",
        )


def _end_site(
    ctx: Context, device: str, panels: dict[str, dict[str, Any]], racks: dict[str, dict[str, Any]]
) -> str | None:
    """The site of a patch panel (its rack's) or of a host."""
    if device in panels:
        rack = racks.get(panels[device]["rack"])
        return rack["site"] if rack else None
    return ctx.hosts.get(device, {}).get("voip_site")


def _check_unpatched_phones(ctx: Context, used: dict[tuple[str, str], str]) -> None:
    """Warn of each phone on a switch port that no cord patches."""
    for host, values in ctx.hosts.items():
        switch = values.get("voip_switch")
        if not switch:
            continue
        for i, port in enumerate(switch["ports"]):
            if "phone_mac" in port and (host, port["name"]) not in used:
                ctx.rep.warning(
                    ctx.host_origins[host]["voip_switch"],
                    ("ports", i, "phone_mac"),
                    f"phone {port['phone_mac']} on {host}:{port['name']} is patched nowhere "
                    "(no voip_patch_connections entry): its wall outlet is unknown",
                )


def _check_wall_outlets(
    ctx: Context, panels: dict[str, dict[str, Any]], racks: dict[str, dict[str, Any]]
) -> None:
    """Each wall outlet: a unique name, one real panel port, at the panel's site."""
    names: dict[str, int] = {}
    ports: dict[tuple[str, int], str] = {}
    for i, outlet in enumerate(ctx.get("voip_wall_outlets", [])):
        if outlet is None:
            continue
        name = outlet["name"]
        if name in names:
            ctx.err(
                "voip_wall_outlets",
                (i, "name"),
                f"duplicate wall outlet {shown(name)} (first at voip_wall_outlets[{names[name]}])",
            )
        else:
            names[name] = i
        panel_name, _, number = outlet["panel"].partition(":")
        panel = panels.get(panel_name)
        if panel is None:
            known = ", ".join(sorted(panels)) or "none defined"
            ctx.err(
                "voip_wall_outlets",
                (i, "panel"),
                f"unknown patch panel {shown(panel_name)} (panels: {known})",
            )
            continue
        port = int(number)
        if not 1 <= port <= panel["ports"]:
            ctx.err(
                "voip_wall_outlets",
                (i, "panel"),
                f"panel {panel_name} has ports 1-{panel['ports']}, not {port}",
            )
            continue
        if (panel_name, port) in ports:
            ctx.err(
                "voip_wall_outlets",
                (i, "panel"),
                f"panel port {panel_name}:{port} already ends wall outlet {shown(ports[(panel_name, port)])}",
            )
        else:
            ports[(panel_name, port)] = name
        site = outlet.get("site")
        rack = racks.get(panel["rack"])
        if (
            site is not None
            and ctx.site_ref(ctx.origins["voip_wall_outlets"], (i, "site"), site)
            and rack is not None
            and rack["site"] != site
        ):
            ctx.err(
                "voip_wall_outlets",
                (i, "site"),
                f"outlet at site {site}, but panel {panel_name} is in rack {panel['rack']} at site {rack['site']}",
            )
