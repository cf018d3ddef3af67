"""`voipctl docs` in a real browser: Debian's Chromium, headless, started by the test.

The site is generated from inventory/example into a temporary directory and
opened through file://. The sample rack and the sample phone are taken from
the model, and what the test expects of them is worked out here from the
model's raw data (not from the pages' own code). A screenshot of the rack
page and one of the phone paths go to artifacts/docs/ at the repository root.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from voipctl import docs
from voipctl.model.types import normalise_mac

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventory" / "example"
ARTIFACTS = ROOT / "artifacts" / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TODAY = datetime.date(2026, 6, 1)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result, written = docs.build(EXAMPLE, out, today=TODAY)
    assert not result.errors and written
    return out, result


@pytest.fixture(scope="module")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: install the Debian packages chromium and chromium-driver (make bootstrap)"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--allow-file-access-from-files"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def sample_rack(result) -> tuple[str, dict, list[str]]:
    """The rack holding the most devices, and the names of those devices (hosts and panels)."""
    racks = result.estate["voip_racks"]
    held: dict[str, list[str]] = {name: [] for name in racks}
    for host, values in result.hosts.items():
        if values.get("voip_rack"):
            held[values["voip_rack"]["rack"]].append(host)
    for panel in result.estate.get("voip_patch_panels", []):
        held[panel["rack"]].append(panel["name"])
    name = max(racks, key=lambda r: len(held[r]))
    return name, racks[name], held[name]


def sample_phone(result) -> dict[str, str]:
    """The first phone on a switch port whose user has a DID, with every hop of its path from the raw model."""
    estate = result.estate
    users = {normalise_mac(d["mac"]): u for u in estate["voip_users"] for d in u.get("devices", [])}
    cords = {}
    for conn in estate["voip_patch_connections"]:
        cords[conn["a"]], cords[conn["b"]] = conn["b"], conn["a"]
    outlets = {o["panel"]: o["name"] for o in estate["voip_wall_outlets"]}
    for host, values in result.hosts.items():
        for port in (values.get("voip_switch") or {}).get("ports", []):
            user = users.get(normalise_mac(port.get("phone_mac", "")))
            if user and user.get("did"):
                panel_port = cords[f"{host}:{port['name']}"]
                return {
                    "outlet": outlets[panel_port],
                    "panel": panel_port,
                    "switch": f"{host}:{port['name']}",
                    "vlan": str(values["voip_switch"]["voice_vlan"]),
                    "mac": normalise_mac(port["phone_mac"]),
                    "user": f"{user['id']} ({user['name']}), ext {user['extension']}",
                    "did": user["did"],
                }
    pytest.fail("the example has no phone of a user with a DID on a switch port")


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def test_the_rack_svg_shows_every_unit_and_device_of_a_sample_rack(site, browser):
    out, result = site
    name, rack, devices = sample_rack(result)
    browser.set_window_size(1400, rack["height"] * 16 + 600)
    browser.get((out / f"racks-{rack['site']}.html").as_uri())
    svg = browser.find_element(By.CSS_SELECTOR, f'svg[data-rack="{name}"]')
    assert svg.is_displayed()
    units = svg.find_elements(By.CSS_SELECTOR, "g.unit")
    assert sorted(int(u.get_attribute("data-unit")) for u in units) == list(range(1, rack["height"] + 1))
    for unit in units:
        numbers = [t.text for t in unit.find_elements(By.CSS_SELECTOR, "text.unit-number")]
        assert numbers == [unit.get_attribute("data-unit")] * 2, numbers
    shown = {d.get_attribute("data-device"): d for d in svg.find_elements(By.CSS_SELECTOR, "g.device")}
    assert sorted(shown) == sorted(devices)
    for device in shown.values():
        assert device.is_displayed() and device.find_element(By.TAG_NAME, "rect").size["height"] > 0
    occupied = sum(1 for u in units if u.get_attribute("data-occupied") == "yes")
    empty = svg.find_elements(By.CSS_SELECTOR, "g.unit rect.empty")
    assert len(empty) == rack["height"] - occupied > 0
    path = screenshot(browser, f"rack-{name}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000


def test_a_sample_phone_path_has_all_seven_hops(site, browser):
    out, result = site
    expected = sample_phone(result)
    browser.set_window_size(1600, 900)
    browser.get((out / "patching.html").as_uri())
    row = browser.find_element(By.CSS_SELECTOR, f'tr.path[data-mac="{expected["mac"]}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", row)
    cells = {
        c.get_attribute("data-hop"): c.text.strip()
        for c in row.find_elements(By.CSS_SELECTOR, "td[data-hop]")
    }
    assert cells == expected
    assert row.get_attribute("data-complete") == "yes"
    path = screenshot(browser, "phone-path.png")
    assert path.stat().st_size > 20_000
