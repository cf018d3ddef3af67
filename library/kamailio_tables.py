#!/usr/bin/python
"""Sync several Kamailio tables in one call (the user tables of users.yml)."""

DOCUMENTATION = r"""
module: kamailio_tables
short_description: Bring several Kamailio tables to their desired rows in one call
description:
  - Does what the single-table modules (M(kamailio_subscribers), M(kamailio_aliases),
    M(kamailio_preferences), M(kamailio_trusted), M(kamailio_dispatcher), M(kamailio_htable),
    M(kamailio_trunks)) do,
    for each table named in O(tables), in one module run; one task and one round trip instead of one
    per table (why in docs/performance.md#one-module-call-for-the-whole-set).
  - Each table is read once and only its difference written, in its own transaction; a table that
    fails leaves the tables before it synced and the ones after it untouched, and fails the task.
  - C(changed_tables) names the tables that changed, so that a play can reload what needs it.
options:
  tables:
    description:
      - Table name (C(subscribers), C(aliases), C(preferences), C(trusted), C(dispatcher),
        C(htable), C(trunks)) to its rows, as the single-table module of that name takes them (a list, or
        that list as one JSON string). Never logged; secret columns never returned.
    type: dict
    required: true
attributes:
  diff_mode:
    details: The diff names rows by their keys and changed fields, never secret values.
extends_documentation_fragment:
  - voip_table_sync
author: voip-estate
"""

EXAMPLES = r"""
- name: Sync the user tables of the call server
  kamailio_tables:
    db: /var/lib/kamailio/kamailio.sqlite
    tables:
      subscribers: "{{ tables_json.subscribers }}"
      aliases: "{{ tables_json.aliases }}"
      preferences: "{{ tables_json.preferences }}"
"""

RETURN = r"""
tables:
  description: Per table its C(changed), C(counts) and C(changes), as its single-table module returns them.
  type: dict
  returned: always
changed_tables:
  description: The names of the tables that changed (or would, in check mode).
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voip_args import ArgumentError, validate_list
from ansible.module_utils.voip_kamailio_tables import TABLES
from ansible.module_utils.voip_table_sync import TableSyncError, diff_text, rows_spec, sync


def main():
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "required": True},
            # no_log: kept out of the host's journal (see module_utils/voip_args).
            "tables": {"type": "dict", "required": True, "no_log": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    given = params["tables"]
    invocation = {"module_args": {"db": params["db"], "tables": sorted(given)}}
    unknown = sorted(set(given) - set(TABLES))
    if unknown:
        module.fail_json(
            msg=f"tables: unknown table(s) {', '.join(unknown)} (known: {', '.join(sorted(TABLES))})",
            invocation=invocation,
        )
    # Masked in anything returned: the secret cells and each JSON whole, not every cell (names stay).
    module.no_log_values = {value for value in given.values() if isinstance(value, str)}
    results, changed_tables, before, after = {}, [], [], []
    for name in sorted(given):
        table = TABLES[name]
        param = table["rows_param"]
        try:
            rows, secrets = validate_list(
                given[name], param, rows_spec(param, table["row_options"], table["secret_columns"])
            )
            module.no_log_values.update(secrets)
            changed, changes, counts = sync(
                params["db"],
                table["table"],
                table["key_columns"],
                table["value_columns"],
                rows,
                check_mode=module.check_mode,
                secret_columns=table["secret_columns"],
            )
        except (ArgumentError, TableSyncError) as exc:
            module.fail_json(
                msg=f"tables.{name}: {exc}",
                synced=changed_tables,
                invocation=invocation,
            )
        results[name] = {"changed": changed, "counts": counts, "changes": changes}
        if changed:
            changed_tables.append(name)
            if module._diff:
                diff = diff_text(table["table"], changes, table["key_columns"])
                before.append(diff["before"])
                after.append(diff["after"])
    result = {
        "changed": bool(changed_tables),
        "tables": results,
        "changed_tables": changed_tables,
        "invocation": invocation,
    }
    if module._diff:
        result["diff"] = {"before": "".join(before), "after": "".join(after), "before_header": params["db"],
                          "after_header": params["db"]}  # fmt: skip
    module.exit_json(**result)


if __name__ == "__main__":
    main()
