"""Contracts between the derivation and the modules, checked without a lab.

- The Kamailio rows ``voipctl.derive.kamailio`` builds (through the filter,
  as ``roles/kamailio/tasks/data.yml`` of the collection asks for them) and the table specs
  of ``plugins/module_utils/voip_kamailio_tables.py`` the modules sync them with:
  every table the role passes has a spec, every spec is filled, every row
  has exactly the spec's columns with its types.
- The phone entries ``voipctl.derive.phones`` builds and ``PHONES_SPEC``,
  what the phone_files module validates them against.

Both on inventory/example, so that a column or an option renamed on one
side only fails here, not on a host.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.voip.estate.plugins.filter.voip_kamailio import voip_kamailio_data
from ansible_collections.voip.estate.plugins.filter.voip_phones import voip_phone_data
from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_tables import TABLES
from ansible_collections.voip.estate.plugins.module_utils.voip_phone_files import PHONES_SPEC
from voipctl.adapters import inventory

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "collections/ansible_collections/voip/estate/roles" / "kamailio"
TODAY = "2026-12-04"
# Python types of the Ansible argument types the specs use (bool is no int to Ansible).
TYPES = {"str": (str,), "int": (int,), "bool": (bool,), "dict": (dict,), "list": (list,)}


def spec_problems(value, options, path):
    """What in ``value`` (a dict) breaks ``options`` (an argument spec): unknown, missing, mistyped, not a choice."""
    problems = [f"{path}: {name} is not in the spec" for name in sorted(set(value) - set(options))]
    for name, spec in options.items():
        where = f"{path}.{name}"
        item = value.get(name)
        if item is None:
            problems += [f"{where} is required but missing"] if spec.get("required") else []
            continue
        kind = spec.get("type", "str")
        if kind != "raw" and (
            not isinstance(item, TYPES[kind]) or (kind in ("str", "int") and isinstance(item, bool))
        ):
            problems.append(f"{where} is {type(item).__name__} {item!r}, the spec says {kind}")
        elif "choices" in spec and item not in spec["choices"]:
            problems.append(f"{where} is {item!r}, not one of {spec['choices']}")
        elif kind == "dict" and "options" in spec:
            problems += spec_problems(item, spec["options"], where)
        elif kind == "list" and "options" in spec:
            for index, element in enumerate(item):
                problems += spec_problems(element, spec["options"], f"{where}[{index}]")
    return problems


@pytest.fixture(scope="module")
def estate():
    """(hostvars, groups) of inventory/example, untemplated (the vault's values are not needed for rows)."""
    loaded = inventory.load(ROOT / "inventory" / "example", template=False)
    return loaded.hosts, loaded.groups


def _secrets(hostvars):
    """Every ``credentials_ref`` of the estate with a made-up secret (the vault's values do not matter here)."""
    refs = set()
    for host in hostvars.values():
        for key in ("voip_trunks", "voip_cti_accounts"):
            refs |= {item["credentials_ref"] for item in host.get(key) or [] if item.get("credentials_ref")}
    return {ref: f"secret-{ref}" for ref in refs}


# --- Kamailio: the role's tables, the derived rows and the table specs ------------------------


def role_rows_json():
    """The keys of the call server's data the role takes as JSON rows (``rows_json`` in tasks/data.yml)."""
    text = (ROLE / "tasks" / "data.yml").read_text()
    found = re.search(r"rows_json=\[([^\]]*)\]", text)
    assert found, (
        "collections/ansible_collections/voip/estate/roles/kamailio/tasks/data.yml no longer passes rows_json"
    )
    return re.findall(r"'(\w+)'", found.group(1))


def role_tables():
    """{spec name: key of the call server's data} of every table the role's tasks/tables.yml syncs."""
    synced = {}
    for task in yaml.safe_load((ROLE / "tasks" / "tables.yml").read_text()):
        module = next((key for key in task if key.startswith("voip.estate.kamailio_")), None)
        if module == "voip.estate.kamailio_tables":
            given = task[module]["tables"]
        elif module:
            # A single-table module syncs the spec it names (run_module(**TABLES[...])).
            table = re.search(
                r'TABLES\["(\w+)"\]',
                (
                    ROOT
                    / "collections/ansible_collections/voip/estate/plugins/modules"
                    / f"{module.rsplit('.', 1)[-1]}.py"
                ).read_text(),
            ).group(1)
            given = {table: task[module][TABLES[table]["rows_param"]]}
        else:
            continue
        for name, value in given.items():
            assert name not in synced, f"table {name} synced twice"
            synced[name] = re.fullmatch(r"\{\{ __kamailio_data\.(\w+) \}\}", value).group(1)
    return synced


def test_every_table_the_role_syncs_has_a_spec_and_every_spec_is_filled():
    synced = role_tables()
    assert sorted(set(synced) - set(TABLES)) == [], "tables the role syncs without a spec"
    assert sorted(set(TABLES) - set(synced)) == [], (
        "table specs no derivation fills (dead, or the role forgot one)"
    )
    assert sorted(synced.values()) == sorted(role_rows_json()), (
        "the rows the role takes as JSON and the rows it syncs differ"
    )


def test_each_spec_is_consistent():
    for name, spec in TABLES.items():
        assert [*spec["key_columns"], *spec["value_columns"]] == list(spec["row_options"]), name
        assert set(spec["secret_columns"]) <= set(spec["value_columns"]), name


def test_derived_rows_have_exactly_the_columns_and_types_of_their_table(estate):
    hostvars, groups = estate
    synced = role_tables()
    secrets = _secrets(hostvars)
    rights = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["kamailio_cti_rights_methods"]
    filled, problems = set(), []
    for host in groups["call_servers"]:
        data = voip_kamailio_data(
            host, hostvars, groups, "m" * 32, cti_secrets=secrets, cti_rights_methods=rights,
            voicemail_uri="sip:{extension}@vm.test", today=TODAY, rows_json=role_rows_json(), trunk_secrets=secrets,
        )  # fmt: skip
        for name, key in synced.items():
            rows = json.loads(data[key])
            filled |= {name} if rows else set()
            options = TABLES[name]["row_options"]
            for index, row in enumerate(rows):
                problems += spec_problems(row, options, f"{host} {key}[{index}]")
                # Exactly the spec's columns: none left to a module default by accident.
                problems += [f"{host} {key}[{index}]: {c} is left out" for c in options if c not in row]
    assert problems == []
    # Checked on real rows: each table has some on at least one call server.
    assert sorted(set(synced) - filled) == [], "tables with no row to check"


# --- phones: the derived entries and PHONES_SPEC ----------------------------------------------


def test_derived_phone_entries_satisfy_the_modules_spec(estate):
    hostvars, groups = estate
    options = PHONES_SPEC["phones"]["options"]
    problems, seen = [], set()
    for host in groups["provisioning_servers"]:
        phones = json.loads(
            voip_phone_data(host, hostvars, groups, "m" * 32, "https://prov.test/", "10.0.0.9", today=TODAY,
                            as_json=True)
        )  # fmt: skip
        assert phones, f"{host}: no phone to check"
        for index, entry in enumerate(phones):
            problems += spec_problems(entry, options, f"{host} phones[{index}]")
            seen |= set(entry)
    assert problems == []
    # Every option of the spec is something the derivation gives (none dead).
    assert sorted(set(options) - seen) == []
