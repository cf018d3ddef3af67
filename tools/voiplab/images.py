"""Lab images: built locally from recipes, rebuilt only when a recipe changes.

The base image is a debootstrapped Debian imported into podman; the others
are Containerfiles FROM it. Each image carries the hash of its recipe (its
entry in images.yml, the files of its context directory and its parent's
hash) as the label ``voiplab.recipe``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voipctl.errors import LabError
from voiplab.podman import Podman
from voiplab.recipes import read_recipes

RECIPE_LABEL = "voiplab.recipe"


@dataclass(frozen=True)
class ImageRecipe:
    name: str
    spec: dict[str, Any]
    directory: Path

    @property
    def ref(self) -> str:
        return f"localhost/voiplab-{self.name}:latest"

    @property
    def parent(self) -> str | None:
        return self.spec.get("from")

    @property
    def context(self) -> Path | None:
        ctx = self.spec.get("context")
        return self.directory / ctx if ctx else None


def load_recipes(images_dir: Path) -> dict[str, ImageRecipe]:
    path = images_dir / "images.yml"
    data = read_recipes(path, "image")
    recipes = {name: ImageRecipe(name, spec or {}, images_dir) for name, spec in data.items()}
    for recipe in recipes.values():
        if recipe.parent and recipe.parent not in recipes:
            raise LabError(f"{path}: {recipe.name}.from names unknown image {recipe.parent!r}")
        if not recipe.parent and "debootstrap" not in recipe.spec:
            raise LabError(f"{path}: {recipe.name} needs either 'debootstrap' or 'from'")
    return recipes


def recipe_hash(recipes: dict[str, ImageRecipe], name: str) -> str:
    """Content hash of an image's recipe, including its parents'."""
    recipe = recipes[name]
    digest = hashlib.sha256()
    digest.update(json.dumps(recipe.spec, sort_keys=True).encode())
    if recipe.context is not None:
        for file in sorted(p for p in recipe.context.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(recipe.context)).encode())
            digest.update(file.read_bytes())
    if recipe.parent:
        digest.update(recipe_hash(recipes, recipe.parent).encode())
    return digest.hexdigest()[:16]


def build_order(recipes: dict[str, ImageRecipe], wanted: set[str]) -> list[str]:
    """The wanted images and their parents, parents first."""
    order: list[str] = []

    def visit(name: str) -> None:
        parent = recipes[name].parent
        if parent:
            visit(parent)
        if name not in order:
            order.append(name)

    for name in sorted(wanted):
        if name not in recipes:
            raise LabError(
                f"the inventory asks for lab image {name!r}, which lab/images/images.yml does not define"
            )
        visit(name)
    return order


def ensure_images(
    podman: Podman,
    recipes: dict[str, ImageRecipe],
    wanted: set[str],
    build_dir: Path,
    report: Callable[[str], None],
) -> dict[str, str]:
    """Build every wanted image whose recipe changed; return name -> image id."""
    ids: dict[str, str] = {}
    for name in build_order(recipes, wanted):
        recipe = recipes[name]
        want = recipe_hash(recipes, name)
        labels = podman.image_labels(recipe.ref)
        if labels is not None and labels.get(RECIPE_LABEL) == want:
            report(f"image {name}: up to date ({want})")
        else:
            state = "missing" if labels is None else "recipe changed"
            report(f"image {name}: {state}, building ({want})")
            if "debootstrap" in recipe.spec:
                _build_debootstrap(podman, recipe, want, build_dir)
            else:
                _build_containerfile(podman, recipes, recipe, want, build_dir)
            podman.run(["image", "prune", "-f", "--filter", f"label={RECIPE_LABEL}"], check=False)
        image_id = podman.image_id(recipe.ref)
        if image_id is None:
            raise LabError(f"image {recipe.ref} is missing after its build")
        ids[name] = image_id
    return ids


def _build_debootstrap(podman: Podman, recipe: ImageRecipe, want: str, build_dir: Path) -> None:
    spec = recipe.spec["debootstrap"]
    if shutil.which("debootstrap") is None:
        raise LabError(
            "debootstrap is not installed", hint="run `make bootstrap` (apt-get install debootstrap)"
        )
    if os.geteuid() != 0:
        raise LabError("building the base image with debootstrap needs root")
    rootfs = build_dir / f"{recipe.name}-rootfs"
    log = build_dir / f"{recipe.name}.log"
    if rootfs.exists():
        shutil.rmtree(rootfs)
    rootfs.mkdir(parents=True)
    cmd = [
        "debootstrap",
        f"--variant={spec.get('variant', 'minbase')}",
        f"--include={','.join(spec.get('include', []))}",
        spec["suite"],
        str(rootfs),
        spec["mirror"],
    ]
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-8:]
        shutil.rmtree(rootfs, ignore_errors=True)
        raise LabError(
            f"debootstrap of image {recipe.name} failed (full log: {log}):\n    " + "\n    ".join(tail)
        )
    # Images carry no package caches.
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=False)
    if tar.returncode != 0:
        raise LabError(
            f"packing the root file system of image {recipe.name} failed: {tar.stderr.decode()[-400:]}"
        )
    podman.run(
        ["import", "--change", f"LABEL {RECIPE_LABEL}={want}", "--change", "CMD /bin/bash", "-", recipe.ref],
        input_bytes=tar.stdout,
        what=f"importing image {recipe.name}",
    )
    shutil.rmtree(rootfs, ignore_errors=True)


def _build_containerfile(
    podman: Podman, recipes: dict[str, ImageRecipe], recipe: ImageRecipe, want: str, build_dir: Path
) -> None:
    assert recipe.context is not None and recipe.parent is not None
    context = build_dir / recipe.name
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(recipe.context, context)
    wheels = recipe.spec.get("wheels")
    if wheels:
        _fetch_wheels(context / wheels, context / "wheels", build_dir / f"{recipe.name}-wheels.log")
    podman.run(
        [
            "build",
            "--build-arg",
            f"BASE={recipes[recipe.parent].ref}",
            "--label",
            f"{RECIPE_LABEL}={want}",
            "-t",
            recipe.ref,
            "-f",
            str(context / "Containerfile"),
            str(context),
        ],
        what=f"building image {recipe.name}",
        log=build_dir / f"{recipe.name}.log",
    )


def _fetch_wheels(requirements: Path, target: Path, log: Path) -> None:
    """Download (or build, for pure-Python sdists) the pinned wheels on the controller."""
    target.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-r",
        str(requirements),
        "-w",
        str(target),
    ]
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-6:]
        raise LabError(
            f"fetching wheels from {requirements} failed (full log: {log}):\n    " + "\n    ".join(tail)
        )
