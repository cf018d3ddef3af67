"""voiplab.aptrepo: the lab's package repository, built from recipes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from voipctl.errors import LabError
from voiplab import aptrepo

ROOT = Path(__file__).resolve().parents[2]


def recipes(tmp_path: Path, spec: dict, templates: dict[str, str]) -> Path:
    src = tmp_path / "packages"
    src.mkdir()
    (src / "packages.yml").write_text(yaml.safe_dump(spec))
    for rel, text in templates.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    return src


SPEC = {
    "demo": {
        "description": "A demo: with a longer text.",
        "depends": ["kamailio"],
        "files": {"usr/share/demo/v.cfg": "v.cfg.j2"},
        "versions": {"1.0": {"changes": "first"}, "1.2": {"changes": "broken"}},
    }
}
TEMPLATE = "{% if version is version('1.2', '>=') %}\nbroken {{ version }}\n{% else %}\nversion {{ version }}\n{% endif %}\n"


def deb_file(deb: Path, member: str) -> str:
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True).stdout
    return subprocess.run(["tar", "-xO", member], input=tar, capture_output=True, check=True).stdout.decode()


def test_every_version_is_built_indexed_and_rendered(tmp_path):
    src = recipes(tmp_path, SPEC, {"demo/v.cfg.j2": TEMPLATE})
    out = tmp_path / "apt"
    assert aptrepo.build(src, out).startswith("built 2 package versions")
    index = (out / "Packages").read_text()
    assert "Version: 1.0" in index and "Version: 1.2" in index  # every version, for rollbacks
    assert "Depends: kamailio" in index and "Filename: ./demo_1.2_all.deb" in index
    assert "Packages" in (out / "Release").read_text()
    assert deb_file(out / "demo_1.0_all.deb", "./usr/share/demo/v.cfg") == "version 1.0\n"
    assert deb_file(out / "demo_1.2_all.deb", "./usr/share/demo/v.cfg") == "broken 1.2\n"
    control = subprocess.run(
        ["dpkg-deb", "-f", str(out / "demo_1.2_all.deb")], capture_output=True, text=True
    )
    assert "Description: A demo\n with a longer text." in control.stdout


def test_unchanged_recipes_keep_the_packages_and_a_change_rebuilds(tmp_path):
    src = recipes(tmp_path, SPEC, {"demo/v.cfg.j2": TEMPLATE})
    out = tmp_path / "apt"
    aptrepo.build(src, out)
    before = (out / "demo_1.0_all.deb").read_bytes()
    assert aptrepo.build(src, out) == "up to date"
    (src / "demo" / "v.cfg.j2").write_text("v{{ version }}\n")
    assert aptrepo.build(src, out).startswith("built")
    assert deb_file(out / "demo_1.0_all.deb", "./usr/share/demo/v.cfg") == "v1.0\n"
    # Reproducible: the same recipe gives the same bytes.
    (src / "demo" / "v.cfg.j2").write_text(TEMPLATE)
    aptrepo.build(src, out)
    assert (out / "demo_1.0_all.deb").read_bytes() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"versions": {}}, "demo: needs versions"),
        ({"files": {}}, "demo: needs files"),
        ({"files": {"/etc/x": "v.cfg.j2"}}, "must be a relative path inside the package"),
        ({"files": {"usr/x": "missing.j2"}}, "no template"),
    ],
)
def test_bad_recipes_are_refused(tmp_path, change, message):
    src = recipes(tmp_path, {"demo": {**SPEC["demo"], **change}}, {"demo/v.cfg.j2": TEMPLATE})
    with pytest.raises(LabError, match=message):
        aptrepo.build(src, tmp_path / "apt")


def test_the_lab_recipes_hold_a_good_and_a_broken_routing_library():
    versions = {(p.name, p.version) for p in aptrepo.load(ROOT / "lab" / "packages")}
    assert {("voip-routing", "1.0"), ("voip-routing", "1.1"), ("voip-routing", "1.2")} <= versions


def test_the_security_suite_is_empty_until_updates_are_published_and_withdrawn(tmp_path):
    src = recipes(tmp_path, SPEC, {"demo/v.cfg.j2": TEMPLATE})
    out = tmp_path / "apt"
    aptrepo.build(src, out)
    suite = out / aptrepo.SECURITY_DIR
    assert (suite / "Packages").read_text() == ""
    release = (suite / "Release").read_text()
    # The label the lab model's voip_os_updates.security_origins names.
    assert f"Label: {aptrepo.SECURITY_LABEL}" in release and "Origin: voip-estate-lab" in release
    aptrepo.publish_security(out, [out / "demo_1.2_all.deb"])
    assert "Filename: ./demo_1.2_all.deb" in (suite / "Packages").read_text()
    aptrepo.publish_security(out, [])
    assert (suite / "Packages").read_text() == "" and not list(suite.glob("*.deb"))
    # A lab whose repository predates the suite gets an empty one without a rebuild.
    shutil.rmtree(suite)
    assert aptrepo.build(src, out) == "up to date" and (suite / "Release").is_file()
