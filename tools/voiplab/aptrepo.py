"""The lab's apt repository: project-built packages in several versions.

``lab/packages/packages.yml`` describes each package (its files as
templates, its versions); :func:`build` renders every version, builds it
with ``dpkg-deb`` and indexes the directory with ``apt-ftparchive`` (all
versions, so that a release can go up and a rollback down). The lab peer
``aptrepo`` serves the directory over HTTP; the hosts find it through the
model's ``voip_apt_repositories``.

Builds are reproducible (fixed timestamps, root-owned files) and happen only
when the recipes changed, so an unchanged lab keeps byte-identical packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from ansible.plugins.test.core import version_compare

from voipctl.errors import LabError
from voiplab.recipes import read_recipes

STAMP = ".recipe"
# The repository's security suite (a flat repository in its own directory): empty until a test
# publishes an operating-system update into it (publish_security); the lab model's
# voip_os_updates.security_origins names its label.
SECURITY_DIR = "security"
SECURITY_LABEL = "voip-estate-lab-security"
# 2026-01-01T00:00:00Z: every file in every package carries this time.
EPOCH = 1767225600


@dataclass(frozen=True)
class PackageVersion:
    name: str
    version: str
    spec: dict[str, Any]
    changes: str

    @property
    def filename(self) -> str:
        return f"{self.name}_{self.version}_all.deb"


def load(packages_dir: Path) -> list[PackageVersion]:
    """Every package version the recipes describe, checked."""
    path = packages_dir / "packages.yml"
    data = read_recipes(path, "package")
    found = []
    for name, spec in data.items():
        where = f"{path}: {name}"
        if not isinstance(spec, dict) or not isinstance(spec.get("versions"), dict) or not spec["versions"]:
            raise LabError(f"{where}: needs versions (a mapping of version to its changes)")
        if not isinstance(spec.get("files"), dict) or not spec["files"]:
            raise LabError(f"{where}: needs files (installed path -> template)")
        for target, template in spec["files"].items():
            if str(target).startswith("/") or ".." in Path(str(target)).parts:
                raise LabError(f"{where}.files: {target!r} must be a relative path inside the package")
            if not (packages_dir / name / str(template)).is_file():
                raise LabError(f"{where}.files.{target}: no template {packages_dir / name / template}")
        for version, info in spec["versions"].items():
            found.append(PackageVersion(str(name), str(version), spec, str((info or {}).get("changes", ""))))
    return found


def recipe_hash(packages_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in packages_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(packages_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.tests["version"] = version_compare
    return env


def control(pkg: PackageVersion) -> str:
    spec = pkg.spec
    lines = [
        f"Package: {pkg.name}",
        f"Version: {pkg.version}",
        "Architecture: all",
        "Maintainer: voip-estate <voip-estate@lab.invalid>",
        f"Section: {spec.get('section', 'misc')}",
        "Priority: optional",
    ]
    if spec.get("depends"):
        lines.append("Depends: " + ", ".join(spec["depends"]))
    summary, _, rest = " ".join(str(spec.get("description", pkg.name)).split()).partition(": ")
    lines.append(f"Description: {summary}" + (f"\n {rest}" if rest else ""))
    return "\n".join(lines) + "\n"


def build_one(packages_dir: Path, pkg: PackageVersion, work: Path, out: Path) -> Path:
    root = work / f"{pkg.name}-{pkg.version}"
    env = _environment(packages_dir / pkg.name)
    for target, template in pkg.spec["files"].items():
        dest = root / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(env.get_template(str(template)).render(version=pkg.version, package=pkg.name))
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (root / "DEBIAN" / "control").write_text(control(pkg))
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.utime(path, (EPOCH, EPOCH))
    deb = out / pkg.filename
    _run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)], f"building {pkg.filename}"
    )
    return deb


def build(packages_dir: Path, out: Path, force: bool = False) -> str:
    """Build every package version into ``out`` and index it; return what was done."""
    wanted = recipe_hash(packages_dir)
    stamp = out / STAMP
    if not force and stamp.is_file() and stamp.read_text().strip() == wanted and (out / "Packages").is_file():
        if not (out / SECURITY_DIR / "Release").is_file():
            publish_security(out, [])
        return "up to date"
    packages = load(packages_dir)
    work = out.parent / (out.name + ".build")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    work.mkdir(parents=True)
    try:
        for pkg in packages:
            build_one(packages_dir, pkg, work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    index = _run(["apt-ftparchive", "packages", "."], "indexing the packages", cwd=out)
    (out / "Packages").write_text(index)
    release = _run(
        ["apt-ftparchive", "-o", "APT::FTPArchive::Release::Origin=voip-estate-lab", "release", "."],
        "writing the Release file",
        cwd=out,
    )
    (out / "Release").write_text(release)
    (out / "CHANGES.json").write_text(
        json.dumps(
            [{"package": p.name, "version": p.version, "changes": p.changes} for p in packages], indent=2
        )
        + "\n"
    )
    stamp.write_text(wanted + "\n")
    publish_security(out, [])
    return f"built {len(packages)} package versions ({', '.join(p.filename for p in packages)})"


def publish_security(out: Path, debs: list[Path]) -> str:
    """Publish ``debs`` (and nothing else) in the repository's security suite, indexed.

    An empty list withdraws every update from it; what hosts installed stays installed.
    """
    suite = out / SECURITY_DIR
    shutil.rmtree(suite, ignore_errors=True)
    suite.mkdir(parents=True)
    for deb in debs:
        shutil.copy2(deb, suite / deb.name)
    (suite / "Packages").write_text(
        _run(["apt-ftparchive", "packages", "."], "indexing the updates", cwd=suite)
    )
    release = _run(
        [
            "apt-ftparchive",
            "-o",
            "APT::FTPArchive::Release::Origin=voip-estate-lab",
            "-o",
            f"APT::FTPArchive::Release::Label={SECURITY_LABEL}",
            "release",
            ".",
        ],
        "writing the security suite's Release file",
        cwd=suite,
    )
    (suite / "Release").write_text(release)
    return f"published {len(debs)} update(s) in {suite}"


def _run(argv: list[str], what: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise LabError(
            f"{what}: {argv[0]} is missing", hint="run `make bootstrap` (dpkg-dev, apt-utils)"
        ) from exc
    if done.returncode != 0:
        raise LabError(f"{what}: {argv[0]} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return done.stdout
