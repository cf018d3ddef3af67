"""The release: firmware sites, device images and the apt repositories."""

from __future__ import annotations

from voipctl.model.checks.context import Context
from voipctl.model.types import shown


def check_release(ctx: Context) -> None:
    """Release sites are real, each device image has its model, repository names are unique."""
    check_os_updates(ctx)
    release = ctx.estate.get("voip_release")
    if not release:
        return
    for i, site in enumerate(release.get("firmware_sites", ())):
        ctx.site_ref(ctx.origins["voip_release"], ("firmware_sites", i), site)
    check_device_images(ctx, release)
    repos = [r["name"] for r in ctx.get("voip_apt_repositories", []) if r is not None]
    for name in {n for n in repos if repos.count(n) > 1}:
        ctx.err("voip_apt_repositories", (repos.index(name), "name"), f"duplicate repository {shown(name)}")


def check_os_updates(ctx: Context) -> None:
    """Every security origin names a field of a Release file (an empty one would match every repository)."""
    policy = ctx.estate.get("voip_os_updates") or {}
    for i, origin in enumerate(policy.get("security_origins") or ()):
        if isinstance(origin, dict) and not any(origin.get(k) for k in ("origin", "label", "suite")):
            ctx.err(
                "voip_os_updates",
                ("security_origins", i),
                "names no origin, label or suite: it would make every repository's update a security update",
            )


def check_device_images(ctx: Context, release: dict) -> None:
    """Each device image has its model, of one kind of device; a model without an image is named."""
    kinds: dict[str, set[str]] = {}
    for values in ctx.hosts.values():
        for var in ("voip_gateway", "voip_switch"):
            if isinstance(values.get(var), dict) and values[var].get("model"):
                kinds.setdefault(str(values[var]["model"]), set()).add(var)
    images = release.get("device_images") or {}
    for model in images:
        if model not in kinds:
            known = ", ".join(sorted(kinds)) or "none"
            ctx.err(
                "voip_release",
                ("device_images", model),
                f"no gateway or switch is a {shown(model)} (models: {known})",
            )
        elif len(kinds[model]) > 1:
            ctx.err(
                "voip_release",
                ("device_images", model),
                f"{shown(model)} is the model of a gateway and of a switch: one image cannot boot both",
            )
    if images:
        for model in sorted(set(kinds) - set(images)):
            ctx.warn(
                "voip_release",
                ("device_images",),
                f"no image for the model {shown(model)}: a release leaves its devices on what they run",
            )
