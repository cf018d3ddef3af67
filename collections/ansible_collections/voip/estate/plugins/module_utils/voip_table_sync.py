"""Bring a whole database table to a desired set of rows in one transaction.

Shared by the Kamailio table modules (kamailio_tables: the users' and the
peers' tables; kamailio_trunks: uacreg). Runs on the managed host; the sync
itself uses the Python standard library only (sqlite3); run_module (one
table) and run_tables_module (several) wrap it in an AnsibleModule, so that
a table module is its docs, its tables' specs and one call.

The caller names the key columns (identity of a row) and the value columns.
Current rows are read once; added, changed and removed rows are computed
by key; only the difference is written, in one transaction. Columns listed
as secret never appear in the diff or the returned changes.
"""

from __future__ import annotations

import sqlite3

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_args import mask_only, module_rows, not_echoed

MASK = "********"


class TableSyncError(Exception):
    """The table cannot be synchronised (bad rows, missing table, database error)."""


def _ident(name):
    if not name.replace("_", "").isalnum():
        raise TableSyncError(f"invalid SQL identifier {name!r}")
    return f'"{name}"'


def normalise_rows(rows, key_columns, value_columns):
    """Desired rows as {key tuple: value tuple}; duplicate keys and missing columns are errors."""
    desired = {}
    for index, row in enumerate(rows):
        missing = [c for c in (*key_columns, *value_columns) if c not in row]
        if missing:
            raise TableSyncError(f"rows[{index}] lacks column(s) {', '.join(missing)}")
        key = tuple(_cell(row[c]) for c in key_columns)
        if key in desired:
            raise TableSyncError(
                f"rows[{index}] repeats key {dict(zip(key_columns, key, strict=True))} of an earlier row"
            )
        desired[key] = tuple(_cell(row[c]) for c in value_columns)
    return desired


def _cell(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) or value is None:
        return value
    return str(value)


def read_table(conn, table, key_columns, value_columns, where=None):
    """Current rows as {key tuple: value tuple} (the ``where`` clause scopes the managed rows)."""
    cols = ", ".join(_ident(c) for c in (*key_columns, *value_columns))
    sql = f"SELECT {cols} FROM {_ident(table)}"
    params = []
    if where:
        sql += " WHERE " + " AND ".join(f"{_ident(c)} = ?" for c in where)
        params = list(where.values())
    current = {}
    nkey = len(key_columns)
    try:
        for record in conn.execute(sql, params):
            record = tuple(_cell(v) for v in record)
            # A duplicate key in the table (hand edit): keep the first, the
            # others are removed as extra rows below.
            current.setdefault(record[:nkey], record[nkey:])
    except sqlite3.Error as exc:
        raise TableSyncError(f"cannot read table {table}: {exc}") from exc
    return current


def compute(current, desired):
    """Keys to add, change and remove."""
    added = sorted(k for k in desired if k not in current)
    removed = sorted(k for k in current if k not in desired)
    changed = sorted(k for k in desired if k in current and current[k] != desired[k])
    return added, changed, removed


def apply(conn, table, key_columns, value_columns, current, desired, plan, where=None):
    """Write the plan in one transaction (all or nothing)."""
    added, changed, removed = plan
    t = _ident(table)
    key_sql = " AND ".join(f"{_ident(c)} = ?" for c in key_columns)
    scope_cols = list(where or {})
    scope_vals = list((where or {}).values())
    insert_cols = [*key_columns, *value_columns, *scope_cols]
    insert_sql = (
        f"INSERT INTO {t} ({', '.join(_ident(c) for c in insert_cols)}) "
        f"VALUES ({', '.join(['?'] * len(insert_cols))})"
    )
    update_sql = f"UPDATE {t} SET {', '.join(f'{_ident(c)} = ?' for c in value_columns)} WHERE {key_sql}"
    delete_sql = f"DELETE FROM {t} WHERE {key_sql}"
    if scope_cols:
        scope_sql = " AND " + " AND ".join(f"{_ident(c)} = ?" for c in scope_cols)
        update_sql += scope_sql
        delete_sql += scope_sql
    try:
        with conn:
            conn.executemany(delete_sql, [(*k, *scope_vals) for k in removed])
            if value_columns:
                conn.executemany(update_sql, [(*desired[k], *k, *scope_vals) for k in changed])
            conn.executemany(insert_sql, [(*k, *desired[k], *scope_vals) for k in added])
    except sqlite3.Error as exc:
        raise TableSyncError(f"cannot write table {table} (nothing was changed): {exc}") from exc


def describe(key_columns, value_columns, current, desired, plan, secret_columns=()):
    """Changes for the module result and the diff: keys and non-secret fields only."""
    added, changed, removed = plan

    def fields(values):
        return {c: (MASK if c in secret_columns else v) for c, v in zip(value_columns, values, strict=True)}

    def key(k):
        return dict(zip(key_columns, k, strict=True))

    changes = {
        "added": [{**key(k), **fields(desired[k])} for k in added],
        "removed": [key(k) for k in removed],
        "changed": [],
    }
    for k in changed:
        before, after = current[k], desired[k]
        columns = [c for c, b, a in zip(value_columns, before, after, strict=True) if b != a]
        changes["changed"].append({**key(k), "fields": columns})
    return changes


def diff_text(table, changes, key_columns):
    """A readable before/after for --diff, one line per row."""

    def label(row):
        return " ".join(f"{c}={row[c]}" for c in key_columns)

    before, after = [], []
    for row in changes["removed"]:
        before.append(f"{table}: {label(row)}\n")
    for row in changes["changed"]:
        before.append(f"{table}: {label(row)} ({', '.join(row['fields'])})\n")
        after.append(f"{table}: {label(row)} ({', '.join(row['fields'])} changed)\n")
    for row in changes["added"]:
        after.append(f"{table}: {label(row)}\n")
    return {"before": "".join(before), "after": "".join(after), "before_header": table, "after_header": table}


def sync(db_path, table, key_columns, value_columns, rows, check_mode=False, secret_columns=(), where=None):
    """Bring ``table`` of the sqlite database ``db_path`` to ``rows``; return (changed, changes, counts)."""
    desired = normalise_rows(rows, key_columns, value_columns)
    try:
        conn = sqlite3.connect(db_path, timeout=10)
    except sqlite3.Error as exc:
        raise TableSyncError(f"cannot open database {db_path}: {exc}") from exc
    try:
        current = read_table(conn, table, key_columns, value_columns, where)
        plan = compute(current, desired)
        changes = describe(key_columns, value_columns, current, desired, plan, secret_columns)
        counts = {
            "added": len(plan[0]),
            "changed": len(plan[1]),
            "removed": len(plan[2]),
            "total": len(desired),
        }
        changed = any(plan)
        if changed and not check_mode:
            apply(conn, table, key_columns, value_columns, current, desired, plan, where)
    finally:
        conn.close()
    return changed, changes, counts


def argument_spec(rows_param):
    """The arguments of a table module: ``db`` and ``rows_param``, a list of rows.

    ``rows_param`` is of type raw: a list of dicts, or that list as one JSON
    string, what the roles pass (why: docs/performance.md#rows-travel-as-one-json-string). Either way the rows are validated against
    ``row_options`` by ``rows_spec`` in the module, with Ansible's own messages.

    The rows are ``no_log``: AnsibleModule logs its arguments to the host's
    journal unless the task itself is ``no_log`` (the module's own ``no_log``
    is overridden by the task's), and rows are large and may hold secrets.
    run_module narrows the values masked in the result to the secret cells.
    """
    return {
        "db": {"type": "path", "required": True},
        rows_param: {"type": "raw", "required": True, "no_log": True},
    }


def rows_spec(rows_param, row_options, secret_columns=()):
    """The spec the rows are validated against: secret columns always ``no_log``.

    ``row_options`` itself is not changed.
    """
    unknown = [c for c in secret_columns if c not in row_options]
    if unknown:
        raise ValueError(f"secret column(s) {', '.join(unknown)} not among the row options")
    options = {
        name: {**spec, "no_log": True} if name in secret_columns else dict(spec)
        for name, spec in row_options.items()
    }
    return {rows_param: {"type": "list", "elements": "dict", "required": True, "options": options}}


def run_module(table, key_columns, value_columns, rows_param, row_options, secret_columns=(), where=None):
    """The whole flow of a thin table module: build the AnsibleModule, sync its rows, exit.

    The module takes ``db`` (path) and ``rows_param`` (list of dicts with
    ``row_options``, or its JSON), supports check mode, and returns changed,
    counts, changes (no secrets) and, in diff mode, a diff of row keys.
    """
    spec = rows_spec(rows_param, row_options, secret_columns)
    module = AnsibleModule(
        argument_spec=argument_spec(rows_param),
        supports_check_mode=True,
    )
    params = module.params
    # The arguments as echoed back: the rows summarised, not repeated.
    # Thousands of rows would be returned for nothing, and Ansible scrubs
    # every no_log value out of every returned string (seconds at 10,000 users).
    invocation = {"module_args": {"db": params["db"], rows_param: "rows not echoed"}}
    rows, secrets = module_rows(module, params[rows_param], rows_param, spec, invocation)
    # Masked in anything returned: the secret cells (and the JSON as a
    # whole), not every cell of the no_log rows argument (user names stay).
    mask_only(module, secrets, params[rows_param])
    invocation["module_args"][rows_param] = not_echoed(rows)
    try:
        changed, changes, counts = sync(
            params["db"],
            table,
            key_columns,
            value_columns,
            rows,
            check_mode=module.check_mode,
            secret_columns=secret_columns,
            where=where,
        )
    except TableSyncError as exc:
        module.fail_json(msg=str(exc), invocation=invocation)
    result = {"changed": changed, "counts": counts, "changes": changes, "invocation": invocation}
    if module._diff:
        result["diff"] = diff_text(table, changes, key_columns)
    module.exit_json(**result)


def _sync_one(module, db, name, table, value, invocation, synced):
    """Validate and sync table ``name`` of a several-table run; fails the module naming it (and ``synced``)."""
    param = table["rows_param"]
    spec = rows_spec(param, table["row_options"], table["secret_columns"])
    rows, secrets = module_rows(
        module, value, param, spec, invocation, prefix=f"tables.{name}: ", synced=synced
    )
    module.no_log_values.update(secrets)
    try:
        return sync(db, table["table"], table["key_columns"], table["value_columns"], rows,
                    check_mode=module.check_mode, secret_columns=table["secret_columns"])  # fmt: skip
    except TableSyncError as exc:
        module.fail_json(msg=f"tables.{name}: {exc}", synced=synced, invocation=invocation)


def run_tables_module(tables):
    """The whole flow of a module syncing several of ``tables`` (name -> table, as run_module takes) in one run.

    The module takes ``db`` and ``tables`` (name -> rows, a list or its
    JSON; never logged). Each table is synced in turn, in its own
    transaction; the first that fails fails the module, naming the tables
    already synced. Returns per table its changed, counts and changes,
    ``changed_tables``, and in diff mode one diff of all.
    """
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "required": True},
            # no_log: kept out of the host's journal (see module_utils/voip_args).
            "tables": {"type": "dict", "required": True, "no_log": True},
        },
        supports_check_mode=True,
    )
    db, given = module.params["db"], module.params["tables"]
    invocation = {"module_args": {"db": db, "tables": sorted(given)}}
    unknown = sorted(set(given) - set(tables))
    if unknown:
        module.fail_json(
            msg=f"tables: unknown table(s) {', '.join(unknown)} (known: {', '.join(sorted(tables))})",
            invocation=invocation,
        )
    # Masked in anything returned: each JSON whole, then each table's secret cells (names stay).
    mask_only(module, (), *given.values())
    results, changed_tables, before, after = {}, [], [], []
    for name in sorted(given):
        changed, changes, counts = _sync_one(
            module, db, name, tables[name], given[name], invocation, changed_tables
        )
        results[name] = {"changed": changed, "counts": counts, "changes": changes}
        if changed:
            changed_tables.append(name)
            if module._diff:
                diff = diff_text(tables[name]["table"], changes, tables[name]["key_columns"])
                before.append(diff["before"])
                after.append(diff["after"])
    result = {"changed": bool(changed_tables), "tables": results, "changed_tables": changed_tables,
              "invocation": invocation}  # fmt: skip
    if module._diff:
        result["diff"] = {"before": "".join(before), "after": "".join(after), "before_header": db,
                          "after_header": db}  # fmt: skip
    module.exit_json(**result)
