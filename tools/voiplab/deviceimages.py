"""The lab's store of network device images: what the release manifest's ``device_images`` name.

``voipctl lab up`` writes them to ``<state-dir>/device-images`` (the inventory's
``release_device_image_source``), made by the simulators' own ``netflash.image_bytes``,
so that a lab device boots what the store holds. The files are deterministic: the
SHA-512 in the lab's manifest stays true (tests/unit/test_lab_device_images.py).

Per simulator: the factory image (what the lab's manifest names), the next release's,
and one that boots broken (the health gate's case).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

STORE = "device-images"
# (file name, platform, version, broken)
IMAGES = (
    ("isr4300-universalk9.17.06.05.SPA.bin", "isr4300", "17.6.5", False),
    ("isr4300-universalk9.17.09.04a.SPA.bin", "isr4300", "17.9.4a", False),
    ("isr4300-universalk9.17.09.05.SPA.bin", "isr4300", "17.9.5", True),
    ("c3750-ipservicesk9-mz.122-58.SE2.bin", "c3750", "12.2(58)SE2", False),
    ("c3750-ipservicesk9-mz.150-2.SE11.bin", "c3750", "15.0(2)SE11", False),
    ("c3750-ipservicesk9-mz.150-2.SE12.bin", "c3750", "15.0(2)SE12", True),
)


def netflash(root: Path) -> ModuleType:
    """The simulators' flash module (lab/images/netdev/netflash.py), loaded from its file."""
    if "netflash" in sys.modules:
        return sys.modules["netflash"]
    spec = importlib.util.spec_from_file_location(
        "netflash", root / "lab" / "images" / "netdev" / "netflash.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["netflash"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def ensure(root: Path, state_dir: Path) -> str:
    """Write every image the store lacks or holds changed; return what was done."""
    flash = netflash(root)
    store = state_dir / STORE
    store.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, platform, version, broken in IMAGES:
        data = flash.image_bytes(platform, version, broken)
        path = store / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            written += 1
    return f"{written} written" if written else "present"
