#!/usr/bin/python
"""Create Kamailio's sqlite tables once from the packaged schema files."""

DOCUMENTATION = r"""
module: kamailio_db_schema
short_description: Create the tables of Kamailio modules in a sqlite database, once
description:
  - Runs the statements of C(<module>-create.sql) from Kamailio's packaged schema directory
    for every table that does not exist yet. Existing tables and their rows are left alone.
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
"""

RETURN = r"""
created:
  description: Tables created (or that would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: [subscriber, dbaliases]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_kamailio_schema import SchemaError, ensure


def main():
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "required": True},
            "modules": {"type": "list", "elements": "str", "required": True},
            "schema_dir": {"type": "path", "default": "/usr/share/kamailio/db_sqlite"},
        },
        supports_check_mode=True,
    )
    try:
        created = ensure(
            module.params["db"], module.params["schema_dir"], module.params["modules"], module.check_mode
        )
    except SchemaError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(created), created=created)


if __name__ == "__main__":
    main()
