"""Inventory host names: they reach kamailio.cfg, device commands, file paths and messages.

A name with a line break, a quote or a shell or config metacharacter could
write its own configuration line (kamailio.cfg names a call server and its
pair in comments) or command; validation refuses it, in every encoding
YAML allows, and keeps the usual names.
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest

from voipctl.model.checks import validate

BASE = Path(__file__).resolve().parents[1] / "data" / "estate_base"
TODAY = datetime.date(2026, 6, 1)
LINE = "            cs2: {ansible_host: 198.51.100.11, voip_site: thr}\n"


def with_extra_host(tmp_path: Path, name: str) -> Path:
    """estate_base with one more host (a provisioning server, no variables of its own) named ``name``."""
    root = tmp_path / "estate"
    shutil.copytree(BASE, root)
    hosts = root / "hosts.yml"
    body = hosts.read_text()
    assert LINE in body, "test setup: estate_base's cs2 line"
    # A JSON string is a valid YAML double-quoted scalar: every character as written.
    hosts.write_text(
        body.replace(LINE, LINE + f"            {json.dumps(name)}: {{ansible_host: 198.51.100.99}}\n")
    )
    return root


def name_errors(root: Path) -> list[str]:
    result = validate(root, today=TODAY)
    return [p.message for p in result.errors if "host name" in p.message]


@pytest.mark.parametrize(
    "name",
    [
        'cs9\nloadmodule "evil.so"',  # a line of its own in kamailio.cfg
        "cs9\r",
        'cs9"',
        "cs9;reboot",
        "cs9 x",
        "-cs9",  # an option to a command
        "cs9\u200b",  # zero-width space
        "\u0441s9",  # Cyrillic es
        "c" * 64,
        "cs9{{ lookup('pipe', 'id') }}",
    ],
    ids=[
        "newline",
        "cr",
        "quote",
        "semicolon",
        "space",
        "leading-dash",
        "zero-width",
        "homoglyph",
        "64-chars",
        "template",
    ],
)
def test_a_host_name_that_could_write_a_config_line_is_refused(tmp_path, name):
    errors = name_errors(with_extra_host(tmp_path, name))
    assert len(errors) == 1, errors
    assert "letters, digits, '.', '-' and '_' only" in errors[0]


@pytest.mark.parametrize("name", ["cs9", "gw-ams.1", "Prov_2", "c" * 63])
def test_the_usual_host_names_pass(tmp_path, name):
    assert name_errors(with_extra_host(tmp_path, name)) == []
