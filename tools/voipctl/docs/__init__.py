"""``voipctl docs [-i ENV] -o DIR``: the estate as a static HTML site, from the model.

The pages: rack elevations per site (SVG: every unit numbered, devices as
boxes spanning their height, empty units hatched), patch panel port maps
and the path of every phone (wall outlet -> panel port -> switch port ->
voice VLAN -> phone MAC -> user and extension -> DID; an incomplete path
names what is missing), the numbering plan per site (ranges, used and free
numbers, utilisation), trunks and gateways (what connects where, which
class of service uses which trunk), a user directory without any secret,
the release manifest per host, and the last health and backup runs from
the run records (``voipctl runs``) when there are any.

The model is validated first: with an error, the findings are printed, the
exit code is 1 and nothing is written. The site needs no server and loads
nothing from elsewhere (no JavaScript, CSS inline): open DIR/index.html.
Nothing here connects to a host: versions on the releases page are the
manifest's and those the release records hold.
"""

from __future__ import annotations

import argparse
import datetime
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from voipctl import paths, release, runs
from voipctl.commandline import add_command, add_inventory_option
from voipctl.console import err, out
from voipctl.core.activity import active_users
from voipctl.core.dates import cli_date
from voipctl.docs import views
from voipctl.errors import VoipctlError
from voipctl.model import loader as fastloader
from voipctl.model.checks import Result, check
from voipctl.model.problems import ERROR


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("voipctl.docs"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["HOPS"] = views.HOPS
    return env


# -- run records -----------------------------------------------------------------


def records_dir(inv: fastloader.LoadedInventory, source: Path, given: str | None) -> Path | None:
    """Where the run records are: ``given``, else ``voip_records_dir`` (None when unset).

    A literal value is used as it stands; a templated one (the lab's) is
    rendered by Ansible's loader, as ``voipctl runs`` does.
    """
    if given:
        return Path(given)
    var = inv.all_vars().get("voip_records_dir")
    if var is None or not isinstance(var.value, str):
        return None
    if "{{" not in var.value:
        return Path(var.value)
    try:
        return runs.records_dir(source)
    except VoipctlError:
        return None


def read_records(directory: Path | None) -> dict[str, Any]:
    """Apply records and each host's latest release record; notes say what is missing or unreadable."""
    found: dict[str, Any] = {"dir": str(directory) if directory else None, "runs": None, "releases": {}}
    notes = []
    if directory is None:
        notes.append("no run records: voip_records_dir is not set (or pass --records DIR)")
    elif not directory.is_dir():
        notes.append(f"no run records: {directory} does not exist")
    else:
        try:
            found["runs"] = runs.load_records(directory / "runs") if (directory / "runs").is_dir() else None
        except VoipctlError as exc:
            notes.append(str(exc.message))
        try:
            for _run, by_host in release.history(directory):
                found["releases"].update(by_host)
        except VoipctlError as exc:
            notes.append(str(exc.message))
        if not found["runs"]:
            notes.append(f"no run records in {directory / 'runs'}")
    found["notes"] = notes
    return found


# -- the site --------------------------------------------------------------------


def context(result: Result, records: dict[str, Any], today: datetime.date, source: str) -> dict[str, Any]:
    """Everything the templates show, computed once."""
    estate, hosts, host_groups = result.estate, result.hosts, result.groups
    groups = views.groups_by_name(host_groups)
    panel_maps, phone_paths, path_counts = views.patching(estate, hosts)
    users = [u for u in estate.get("voip_users") or () if u]
    return {
        "source": source,
        "today": today.isoformat(),
        "sites": estate.get("voip_sites") or {},
        "racks": views.racks(estate, hosts, host_groups),
        "panels": panel_maps,
        "paths": phone_paths,
        "path_counts": path_counts,
        "numbering": views.numbering(estate, hosts),
        "trunks": views.trunks(estate, hosts, groups, today),
        "directory": views.directory(estate, today),
        "releases": views.releases(estate, hosts, host_groups, records["releases"]),
        "status": views.run_status(records["runs"]),
        "records": records,
        "counts": {
            "users": len(users),
            "active": len(active_users(users)),
            "hosts": len(hosts),
            "racks": len(estate.get("voip_racks") or {}),
            "panels": len(panel_maps),
            "trunks": len([t for t in estate.get("voip_trunks") or () if t]),
        },
        "warnings": [p.render() for p in result.warnings],
    }


def pages(ctx: dict[str, Any]) -> dict[str, str]:
    """File name -> HTML of every page."""
    env = _environment()
    nav = [("index.html", "Overview")]
    nav += [(f"racks-{site}.html", f"Racks {site}") for site in ctx["sites"]]
    nav += [
        ("patching.html", "Patching and phone paths"),
        ("numbering.html", "Numbering plan"),
        ("trunks.html", "Trunks and gateways"),
        ("directory.html", "Directory"),
        ("releases.html", "Releases"),
        ("status.html", "Health and backups"),
    ]
    rendered = {}
    for name, title in nav:
        template = "racks.html.j2" if name.startswith("racks-") else name + ".j2"
        extra = {"site": name[len("racks-") : -len(".html")]} if name.startswith("racks-") else {}
        rendered[name] = env.get_template(template).render(**ctx, **extra, nav=nav, page=name, title=title)
    return rendered


def write(files: dict[str, str], directory: Path) -> list[Path]:
    """Write each file (temporary file, then rename): a reader never sees half a page."""
    if directory.exists() and not directory.is_dir():
        raise VoipctlError(f"{directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        target = directory / name
        tmp = directory / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        written.append(target)
    return written


def build(
    source: Path, output: Path, *, records: str | None = None, today: datetime.date | None = None
) -> tuple[Result, list[Path]]:
    """Validate ``source``; if it has no error, write the site to ``output``. Returns the result and the files."""
    if not source.exists():
        raise VoipctlError(f"inventory {source} does not exist")
    today = today or datetime.date.today()
    inv = fastloader.load(source)
    result = check(inv, today)
    if result.errors:
        return result, []
    found = read_records(records_dir(inv, source, records))
    files = pages(context(result, found, today, str(source)))
    return result, write(files, output)


# -- command ---------------------------------------------------------------------


def cmd_docs(args: argparse.Namespace) -> int:
    source = Path(args.inventory) if args.inventory else paths.repo_root() / "inventory" / "lab"
    output = Path(args.output)
    result, written = build(source, output, records=args.records, today=args.date)
    if result.errors:
        for problem in result.problems:
            if problem.severity == ERROR:
                out.print(problem.render(), markup=False, soft_wrap=True)
        err.print(
            f"docs: {source} is invalid ({len(result.errors)} error(s)); nothing written to {output}",
            markup=False,
        )
        return 1
    for path in written:
        out.print(str(path), markup=False, soft_wrap=True)
    err.print(
        f"docs: {len(written)} pages written to {output} ({len(result.warnings)} validation warning(s))",
        markup=False,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "docs",
        "the estate as a static HTML site: racks, patching, numbering, trunks, directory",
        __doc__,
    )
    add_inventory_option(parser, "inventory directory")
    parser.add_argument("-o", "--output", required=True, help="directory to write the site into (created)")
    parser.add_argument(
        "--records", help="run records directory (default: the inventory's voip_records_dir, if any)"
    )
    parser.add_argument(
        "--date", type=cli_date, default=None, help="as of this day (grants, validation); default today"
    )
    parser.set_defaults(func=cmd_docs)
