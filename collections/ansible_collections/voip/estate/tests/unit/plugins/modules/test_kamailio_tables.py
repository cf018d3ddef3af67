"""The modules kamailio_tables and kamailio_trunks end to end: module args in, sqlite rows and the JSON result out."""

from __future__ import annotations

import importlib
import json
import sqlite3

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule

import ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_tables as kamailio_tables
import ansible_collections.voip.estate.plugins.module_utils.voip_table_sync as table_sync

# Kamailio 5.6's sqlite tables (db_sqlite/*-create.sql), the columns the modules manage.
SCHEMA = """
CREATE TABLE subscriber (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL,
    password VARCHAR(64) DEFAULT '' NOT NULL,
    ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    ha1b VARCHAR(128) DEFAULT '' NOT NULL
);
CREATE TABLE dbaliases (
    id INTEGER PRIMARY KEY NOT NULL,
    alias_username VARCHAR(64) DEFAULT '' NOT NULL,
    alias_domain VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(64) DEFAULT '' NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL
);
CREATE TABLE usr_preferences (
    id INTEGER PRIMARY KEY NOT NULL,
    uuid VARCHAR(64) DEFAULT '' NOT NULL,
    username VARCHAR(255) DEFAULT 0 NOT NULL,
    domain VARCHAR(64) DEFAULT '' NOT NULL,
    attribute VARCHAR(32) DEFAULT '' NOT NULL,
    type INTEGER DEFAULT 0 NOT NULL,
    value VARCHAR(128) DEFAULT '' NOT NULL
);
CREATE TABLE address (
    id INTEGER PRIMARY KEY NOT NULL,
    grp INTEGER DEFAULT 1 NOT NULL,
    ip_addr VARCHAR(50) NOT NULL,
    mask INTEGER DEFAULT 32 NOT NULL,
    port SMALLINT DEFAULT 0 NOT NULL,
    tag VARCHAR(64)
);
CREATE TABLE dispatcher (
    id INTEGER PRIMARY KEY NOT NULL,
    setid INTEGER DEFAULT 0 NOT NULL,
    destination VARCHAR(192) DEFAULT '' NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    attrs VARCHAR(128) DEFAULT '' NOT NULL,
    description VARCHAR(64) DEFAULT '' NOT NULL
);
CREATE TABLE htable (
    id INTEGER PRIMARY KEY NOT NULL,
    key_name VARCHAR(64) DEFAULT '' NOT NULL,
    key_type INTEGER DEFAULT 0 NOT NULL,
    value_type INTEGER DEFAULT 0 NOT NULL,
    key_value VARCHAR(128) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL
);
CREATE TABLE uacreg (
    id INTEGER PRIMARY KEY NOT NULL,
    l_uuid VARCHAR(64) DEFAULT '' NOT NULL,
    l_username VARCHAR(64) DEFAULT '' NOT NULL,
    l_domain VARCHAR(64) DEFAULT '' NOT NULL,
    r_username VARCHAR(64) DEFAULT '' NOT NULL,
    r_domain VARCHAR(64) DEFAULT '' NOT NULL,
    realm VARCHAR(64) DEFAULT '' NOT NULL,
    auth_username VARCHAR(64) DEFAULT '' NOT NULL,
    auth_password VARCHAR(64) DEFAULT '' NOT NULL,
    auth_ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    auth_proxy VARCHAR(255) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    reg_delay INTEGER DEFAULT 0 NOT NULL,
    contact_addr VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT uacreg_l_uuid_idx UNIQUE (l_uuid)
);
"""
TRUNK_ROW = {
    "l_uuid": "lab-carrier", "l_username": "lab-carrier", "l_domain": "ams.lab", "r_username": "lab-carrier",
    "r_domain": "10.231.0.61", "auth_username": "lab-carrier", "auth_password": "TRUNKSECRET",
    "auth_proxy": "sip:10.231.0.61:5060;transport=udp", "expires": 600,
}  # fmt: skip

# table -> (rows parameter of its spec, rows wanted, SELECT of the stored rows, the rows stored (defaults filled in))
CASES = {
    "subscribers": (
        "subscribers",
        [{"username": "2001", "domain": "ams.lab", "ha1": "HA1SECRET", "ha1b": "HA1BSECRET"}],
        "SELECT username, domain, ha1, ha1b FROM subscriber",
        [("2001", "ams.lab", "HA1SECRET", "HA1BSECRET")],
    ),
    "aliases": (
        "aliases",
        [
            {
                "alias_username": "+31201234000",
                "alias_domain": "ams.lab",
                "username": "2001",
                "domain": "ams.lab",
            }
        ],
        "SELECT alias_username, alias_domain, username, domain FROM dbaliases",
        [("+31201234000", "ams.lab", "2001", "ams.lab")],
    ),
    "preferences": (
        "preferences",
        [{"username": "2001", "domain": "ams.lab", "attribute": "cos", "value": "national"}],
        "SELECT username, domain, attribute, type, value FROM usr_preferences",
        [("2001", "ams.lab", "cos", 0, "national")],
    ),
    "trusted": (
        "peers",
        [{"grp": 1, "ip_addr": "10.0.0.1", "tag": "gateway gw1"}],
        "SELECT grp, ip_addr, mask, port, tag FROM address",
        [(1, "10.0.0.1", 32, 0, "gateway gw1")],
    ),
    "dispatcher": (
        "destinations",
        [{"setid": 1, "destination": "sip:192.0.2.1:5060"}],
        "SELECT setid, destination, flags, priority, attrs, description FROM dispatcher",
        [(1, "sip:192.0.2.1:5060", 0, 0, "", "")],
    ),
    "htable": (
        "entries",
        [{"key_name": "lab-recorder", "key_value": "DIGESTSECRET"}],
        "SELECT key_name, key_type, value_type, key_value, expires FROM htable",
        [("lab-recorder", 0, 0, "DIGESTSECRET", 0)],
    ),
    "trunks": (
        "trunks",
        [TRUNK_ROW],
        "SELECT l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username, auth_password,"
        " auth_proxy, expires, flags, reg_delay, contact_addr, auth_ha1, socket FROM uacreg",
        [("lab-carrier", "lab-carrier", "ams.lab", "lab-carrier", "10.231.0.61", "", "lab-carrier", "TRUNKSECRET",
          "sip:10.231.0.61:5060;transport=udp", 600, 0, 0, "", "", "")],
    ),
}  # fmt: skip


# table -> its required row fields (the others have defaults)
REQUIRED = {
    "subscribers": {"username", "domain", "ha1", "ha1b"},
    "aliases": {"alias_username", "alias_domain", "username", "domain"},
    "preferences": {"username", "domain", "attribute", "value"},
    "trusted": {"grp", "ip_addr", "tag"},
    "dispatcher": {"setid", "destination"},
    "htable": {"key_name", "key_value"},
    "trunks": {"l_uuid", "l_username", "l_domain", "r_username", "r_domain", "auth_username",
               "auth_password", "auth_proxy"},
}  # fmt: skip


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "kamailio.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
    return str(path)


@pytest.fixture
def run(module_runner):
    return module_runner


def stored(db, select):
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute(select))


# Each table through kamailio_tables (what the role calls), and the trunks through kamailio_trunks too.
MODULES = [*(("kamailio_tables", table) for table in CASES), ("kamailio_trunks", "trunks")]
SQL_TABLES = {name: spec["table"] for name, spec in kamailio_tables.TABLES.items()}


def sync(run, module, table, db, rows, check=False, diff=False, **args):
    """Run ``module`` on ``table``'s ``rows``: (exit code, the table's result, the whole result, stdout)."""
    if module == "kamailio_tables":
        args = {"tables": {table: rows}, **args}
    else:
        args = {CASES[table][0]: rows, **args}
    if db is not None:
        args["db"] = db
    code, result, out = run(module, args, check=check, diff=diff)
    return code, result.get("tables", {}).get(table, result), result, out


@pytest.mark.parametrize(("module", "table"), MODULES)
def test_check_apply_reapply(module, table, db, run):
    _unused, rows, select, expected = CASES[table]
    code, synced, result, _unused = sync(run, module, table, db, rows, check=True, diff=True)
    assert code == 0 and result["changed"] and synced["changed"]
    assert synced["counts"] == {"added": 1, "changed": 0, "removed": 0, "total": 1}
    assert result["diff"]["after"].startswith(f"{SQL_TABLES[table]}: ")
    assert stored(db, select) == []  # check mode wrote nothing
    code, synced, result, _unused = sync(run, module, table, db, rows)
    assert code == 0 and result["changed"] and "diff" not in result
    assert stored(db, select) == expected
    code, synced, result, _unused = sync(run, module, table, db, rows)
    assert code == 0 and not result["changed"]
    assert synced["changes"] == {"added": [], "changed": [], "removed": []}


@pytest.mark.parametrize(("module", "table"), MODULES)
def test_empty_list_empties_the_table(module, table, db, run):
    _unused, rows, select, _unused = CASES[table]
    sync(run, module, table, db, rows)
    code, synced, result, _unused = sync(run, module, table, db, [])
    assert code == 0 and result["changed"] and synced["counts"]["removed"] == 1
    assert stored(db, select) == []


@pytest.mark.parametrize(("module", "table"), MODULES)
def test_bad_arguments_and_missing_table_fail(module, table, tmp_path, run):
    _unused, rows, _unused, _unused = CASES[table]
    none = str(tmp_path / "none.sqlite")
    code, _unused, result, _unused = sync(run, module, table, none, rows)
    assert code == 1 and result["failed"] and "cannot read table" in result["msg"]
    code, _unused, result, _unused = sync(run, module, table, None, rows)
    assert code == 1 and "db" in result["msg"]
    code, _unused, result, _unused = sync(run, module, table, none, [{}])
    assert code == 1 and f"missing required arguments: {', '.join(sorted(REQUIRED[table]))}" in result["msg"]
    code, _unused, result, _unused = sync(run, module, table, none, [{**rows[0], "bogus": 1}])
    assert code == 1 and "Unsupported parameters" in result["msg"] and "bogus" in result["msg"]


@pytest.mark.parametrize(("module", "table"), MODULES)
def test_rows_as_json_sync_alike_and_are_not_logged_on_the_host(module, table, db, run, monkeypatch):
    """AnsibleModule logs its arguments to the host's journal unless the *task* is no_log."""
    logged = []
    monkeypatch.setattr(AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    param, rows, select, expected = CASES[table]
    code, synced, result, out = sync(run, module, table, db, json.dumps(rows), _ansible_no_log=False)
    assert code == 0 and result["changed"] and stored(db, select) == expected
    echoed = result["invocation"]["module_args"]
    assert (
        echoed == {"db": db, "tables": [table]}
        if module == "kamailio_tables"
        else echoed[param] == "1 row(s), not echoed"
    )
    # The rows' keys are in the result, unmasked; secrets are not.
    assert synced["changes"]["added"][0][next(iter(rows[0]))] == next(iter(rows[0].values()))
    assert "SECRET" not in out
    argument = "tables" if module == "kamailio_tables" else param
    assert len(logged) == 1 and f"{argument}=NOT_LOGGING_PARAMETER" in logged[0]
    assert "SECRET" not in logged[0]


@pytest.mark.parametrize(
    ("module", "table", "column", "changed_key"),
    [
        ("kamailio_tables", "subscribers", "ha1", {"username": "2001", "domain": "ams.lab"}),
        ("kamailio_tables", "htable", "key_value", {"key_name": "lab-recorder"}),
        ("kamailio_tables", "trunks", "auth_password", {"l_uuid": "lab-carrier"}),
        ("kamailio_trunks", "trunks", "auth_password", {"l_uuid": "lab-carrier"}),
    ],
)
def test_secret_columns_never_leave_the_module(db, run, module, table, column, changed_key):
    _unused, rows, _unused, _unused = CASES[table]
    for check, diff in ((True, True), (False, True)):
        _unused, synced, _unused, out = sync(run, module, table, db, rows, check=check, diff=diff)
        assert synced["changes"]["added"][0][column] == table_sync.MASK
        # no_log on the secret suboptions: the echoed module arguments are masked too.
        assert "SECRET" not in out
    rotated = [{**rows[0], column: "NEWSECRET"}]
    _unused, synced, _unused, out = sync(run, module, table, db, rotated, diff=True)
    assert synced["changes"]["changed"] == [{**changed_key, "fields": [column]}]
    assert "SECRET" not in out


def test_kamailio_tables_syncs_several_tables_in_one_call(db, run, monkeypatch):
    logged = []
    monkeypatch.setattr(AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    names = ("subscribers", "aliases", "preferences")
    tables = {name: json.dumps(CASES[name][1]) for name in names}
    code, result, out = run(
        "kamailio_tables", {"db": db, "tables": tables, "_ansible_no_log": False}, check=True, diff=True
    )
    assert code == 0 and result["changed_tables"] == ["aliases", "preferences", "subscribers"]
    assert all(stored(db, CASES[name][2]) == [] for name in names), "check mode wrote nothing"
    code, result, out = run("kamailio_tables", {"db": db, "tables": tables})
    assert code == 0 and result["changed"]
    for name in names:
        assert stored(db, CASES[name][2]) == CASES[name][3]
        assert result["tables"][name]["counts"]["added"] == 1
    # Secrets stay out of the result and the host's log; user names do not.
    assert (
        "SECRET" not in out and result["tables"]["subscribers"]["changes"]["added"][0]["username"] == "2001"
    )
    assert logged and all("tables=NOT_LOGGING_PARAMETER" in m and "SECRET" not in m for m in logged)
    code, result, _unused = run("kamailio_tables", {"db": db, "tables": tables})
    assert code == 0 and not result["changed"] and result["changed_tables"] == []
    code, result, _unused = run("kamailio_tables", {"db": db, "tables": {"bogus": "[]"}})
    assert code == 1 and "unknown table(s) bogus" in result["msg"]
    code, result, _unused = run("kamailio_tables", {"db": db, "tables": {"aliases": "[{}]"}})
    assert code == 1 and result["msg"].startswith("tables.aliases: missing required arguments")


def test_a_trunk_password_is_the_secret_column_of_the_trunks_table():
    spec = kamailio_tables.TABLES["trunks"]
    assert spec["table"] == "uacreg" and spec["key_columns"] == ["l_uuid"]
    assert spec["secret_columns"] == ("auth_password",)
    assert spec["row_options"]["auth_password"]["no_log"]
    # Every column the derived rows carry is synced (none left to a default by accident).
    assert [*spec["key_columns"], *spec["value_columns"]] == list(spec["row_options"])


def test_kamailio_tables_syncs_the_trunks_and_shows_no_password(db, run):
    tables = {"trunks": json.dumps([TRUNK_ROW])}
    for check in (True, False):
        code, result, out = run("kamailio_tables", {"db": db, "tables": tables}, check=check, diff=True)
        assert code == 0 and result["changed_tables"] == ["trunks"]
        assert "SECRET" not in out and "lab-carrier" in result["diff"]["after"]
    rotated = {"trunks": json.dumps([{**TRUNK_ROW, "auth_password": "NEWSECRET"}])}
    code, result, out = run("kamailio_tables", {"db": db, "tables": rotated}, diff=True)
    assert result["tables"]["trunks"]["changes"]["changed"] == [
        {"l_uuid": "lab-carrier", "fields": ["auth_password"]}
    ]
    assert "SECRET" not in out
    code, result, _unused = run("kamailio_tables", {"db": db, "tables": rotated})
    assert code == 0 and not result["changed"]


class _SpecSeen(Exception):
    """Raised in place of AnsibleModule once the module has shown its argument_spec."""


def documented(name, monkeypatch):
    """``name``'s documentation with its fragments' options and attributes, and the argument_spec it runs with.

    The fragments are merged as ansible-doc does for these two keys (the module's entries over the
    fragment's); ansible.plugins is not importable in a module's unit tests, ansible-doc's own
    rendering is the sanity test's.
    """
    module = importlib.import_module(f"ansible_collections.voip.estate.plugins.modules.{name}")
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert yaml.safe_load(module.EXAMPLES) and yaml.safe_load(module.RETURN)
    for fragment_name in doc.pop("extends_documentation_fragment"):
        assert fragment_name.startswith("voip.estate."), fragment_name
        fragment_module = importlib.import_module(
            f"ansible_collections.voip.estate.plugins.doc_fragments.{fragment_name.removeprefix('voip.estate.')}"
        )
        fragment = yaml.safe_load(fragment_module.ModuleDocFragment.DOCUMENTATION)
        doc["options"] = {**fragment.get("options", {}), **doc.get("options", {})}
        doc["attributes"] = {
            key: {**fragment.get("attributes", {}).get(key, {}), **doc.get("attributes", {}).get(key, {})}
            for key in {*fragment.get("attributes", {}), *doc.get("attributes", {})}
        }
    seen = {}

    def record(argument_spec, **kwargs):
        seen.update(argument_spec=argument_spec, **kwargs)
        raise _SpecSeen

    monkeypatch.setattr(table_sync, "AnsibleModule", record)
    with pytest.raises(_SpecSeen):
        module.main()
    assert {a: doc["attributes"][a]["support"] for a in ("check_mode", "diff_mode")} == {
        "check_mode": "full" if seen["supports_check_mode"] else "none",
        "diff_mode": "full",
    }
    return doc, seen["argument_spec"]


def same_options(spec, options, path=""):
    """The documented options are the spec's, with its type, required, default, choices and elements."""
    assert set(spec) == set(options), path
    for name, arg in spec.items():
        for field, default in (("type", None), ("required", False), ("default", None), ("choices", None),
                               ("elements", None)):  # fmt: skip
            assert arg.get(field, default) == options[name].get(field, default), f"{path}{name}.{field}"
        if "options" in arg:
            same_options(arg["options"], options[name]["suboptions"], f"{path}{name}.")


def test_kamailio_trunks_documents_its_argument_spec_and_every_column(monkeypatch):
    doc, spec = documented("kamailio_trunks", monkeypatch)
    # trunks is raw (a list or its JSON), validated in the module against the table's row options.
    assert spec["trunks"] == {"type": "raw", "required": True, "no_log": True}
    rows = {**spec["trunks"], "options": kamailio_tables.TABLES["trunks"]["row_options"]}
    same_options({**spec, "trunks": rows}, doc["options"])


def test_kamailio_tables_documents_its_argument_spec_and_every_table(monkeypatch):
    doc, spec = documented("kamailio_tables", monkeypatch)
    same_options(spec, doc["options"])
    assert spec["tables"]["no_log"]
    # The tables' rows are checked in the module, so their description names each table, its SQL
    # table, every column and each default (in brackets) of kamailio_tables.TABLES.
    lines = {
        line.split(")", 1)[0].removeprefix("C("): line for line in doc["options"]["tables"]["description"][1:]
    }
    assert set(lines) == set(kamailio_tables.TABLES)
    for name, table in kamailio_tables.TABLES.items():
        line = lines[name]
        if name == "trunks":
            assert "M(voip.estate.kamailio_trunks)" in line and f"C({table['table']})" in line
            continue
        if table["table"] != name:
            assert f"C({table['table']})" in line, name
        for column, option in table["row_options"].items():
            assert f"C({column})" in line, f"{name}.{column}"
            if "default" in option:
                shown = "''" if option["default"] == "" else str(option["default"])
                assert f"C({column}) ({shown})" in line, f"{name}.{column} default"
        assert ("(secret" in line) == bool(table["secret_columns"]), f"{name}: its secret columns"
