#!/usr/bin/python
"""Create Kamailio's sqlite tables once from the packaged schema files."""

DOCUMENTATION = r"""
module: kamailio_db_schema
short_description: Create the tables of Kamailio modules in a sqlite database, once
description:
  - Runs the statements of C(<module>-create.sql) from Kamailio's packaged schema directory
    for every table that does not exist yet. Existing tables and their rows are left alone.
  - Puts the database in the journal mode asked for (a property of the file, kept by sqlite).
options:
  db:
    description: Path of the sqlite database (created when missing).
    type: path
    required: true
  modules:
    description: Kamailio modules whose tables are needed (C(standard) holds the version table).
    type: list
    elements: str
    required: true
  schema_dir:
    description: Directory of the packaged sqlite schema files.
    type: path
    default: /usr/share/kamailio/db_sqlite
  columns:
    description:
      - Columns to add to tables of the packaged schema, per table name, each with its type
        (C(TEXT), C(REAL) or C(INTEGER)). A missing column is added; existing ones are never
        dropped or retyped.
    type: dict
    default: {}
  indexes:
    description:
      - One-column indexes to create when missing, as C(table.column) (named C(table_column_idx)).
    type: list
    elements: str
    default: []
  journal_mode:
    description:
      - The database's journal mode. C(wal) lets a reader (Kamailio's HA1 lookups) go on while
        another process writes (the write-back of registrations, the user sync).
    type: str
    choices: [delete, truncate, persist, wal]
    default: wal
extends_documentation_fragment:
  - voip.estate.voip_attributes.check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Create Kamailio's tables
  voip.estate.kamailio_db_schema:
    db: /var/lib/kamailio/kamailio.sqlite
    modules: [standard, auth_db, alias_db, avpops, permissions, dispatcher]

- name: Create the call records table with the estate's extra columns
  voip.estate.kamailio_db_schema:
    db: /var/lib/kamailio/calls.sqlite
    modules: [standard, acc]
    columns:
      acc: {t_start: REAL, t_end: REAL, route: TEXT}
    indexes: [acc.t_end]
"""

RETURN = r"""
created:
  description: Tables created (or that would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: [subscriber, dbaliases]
added:
  description: Columns (C(table.column)) and indexes added (or that would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: [acc.t_start, acc_t_end_idx]
journal_mode:
  description: The journal mode the database had before this run.
  type: str
  returned: always
  sample: delete
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_schema import (
    JOURNAL_MODES,
    SchemaError,
    ensure,
    ensure_columns,
    ensure_journal_mode,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "required": True},
            "modules": {"type": "list", "elements": "str", "required": True},
            "schema_dir": {"type": "path", "default": "/usr/share/kamailio/db_sqlite"},
            "columns": {"type": "dict", "default": {}},
            "indexes": {"type": "list", "elements": "str", "default": []},
            "journal_mode": {"type": "str", "choices": list(JOURNAL_MODES), "default": "wal"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        created = ensure(params["db"], params["schema_dir"], params["modules"], module.check_mode)
        added = ensure_columns(params["db"], params["columns"], params["indexes"], module.check_mode, created)
        before = ensure_journal_mode(params["db"], params["journal_mode"], module.check_mode)
    except SchemaError as exc:
        module.fail_json(msg=str(exc))
    changed = bool(created) or bool(added) or before != params["journal_mode"]
    module.exit_json(changed=changed, created=created, added=added, journal_mode=before)


if __name__ == "__main__":
    main()
