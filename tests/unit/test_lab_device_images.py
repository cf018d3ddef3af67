"""The lab's device images: the store `voipctl lab up` writes is what the lab's manifest names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from voiplab import deviceimages

ROOT = Path(__file__).resolve().parents[2]


def test_every_image_of_the_lab_manifest_is_in_the_store_with_its_sha512(tmp_path):
    assert deviceimages.ensure(ROOT, tmp_path) == f"{len(deviceimages.IMAGES)} written"
    assert deviceimages.ensure(ROOT, tmp_path) == "present"
    manifest = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/release.yml").read_text())["voip_release"]
    store = tmp_path / deviceimages.STORE
    for model, wanted in manifest["device_images"].items():
        data = (store / wanted["image"]).read_bytes()
        assert hashlib.sha512(data).hexdigest() == wanted["sha512"], model
        assert f"version={wanted['version']}" in data.split(b"\n", 1)[0].decode()


def test_a_changed_image_in_the_store_is_written_again(tmp_path):
    deviceimages.ensure(ROOT, tmp_path)
    name = deviceimages.IMAGES[0][0]
    (tmp_path / deviceimages.STORE / name).write_bytes(b"tampered")
    assert deviceimages.ensure(ROOT, tmp_path) == "1 written"
    netflash = deviceimages.netflash(ROOT)
    image = netflash.read_image((tmp_path / deviceimages.STORE / name).read_bytes())
    assert image is not None and not image.broken
