"""The Kamailio tables the table modules sync: table, key and value columns, row spec, secrets.

One definition per table, used by kamailio_tables (which syncs several in
one call, by these names) and kamailio_trunks (the ``trunks`` table alone).
"""

from __future__ import annotations

TABLES = {
    "subscribers": {
        "table": "subscriber",
        "key_columns": ["username", "domain"],
        "value_columns": ["ha1", "ha1b"],
        "rows_param": "subscribers",
        "row_options": {
            "username": {"type": "str", "required": True},
            "domain": {"type": "str", "required": True},
            "ha1": {"type": "str", "required": True, "no_log": True},
            "ha1b": {"type": "str", "required": True, "no_log": True},
        },
        "secret_columns": ("ha1", "ha1b"),
    },
    "aliases": {
        "table": "dbaliases",
        "key_columns": ["alias_username", "alias_domain", "username", "domain"],
        "value_columns": [],
        "rows_param": "aliases",
        "row_options": {
            "alias_username": {"type": "str", "required": True},
            "alias_domain": {"type": "str", "required": True},
            "username": {"type": "str", "required": True},
            "domain": {"type": "str", "required": True},
        },
        "secret_columns": (),
    },
    "preferences": {
        "table": "usr_preferences",
        "key_columns": ["username", "domain", "attribute"],
        "value_columns": ["type", "value"],
        "rows_param": "preferences",
        "row_options": {
            "username": {"type": "str", "required": True},
            "domain": {"type": "str", "required": True},
            "attribute": {"type": "str", "required": True},
            "type": {"type": "int", "default": 0},
            "value": {"type": "str", "required": True},
        },
        "secret_columns": (),
    },
    "trusted": {
        "table": "address",
        "key_columns": ["grp", "ip_addr", "mask", "port"],
        "value_columns": ["tag"],
        "rows_param": "peers",
        "row_options": {
            "grp": {"type": "int", "required": True},
            "ip_addr": {"type": "str", "required": True},
            "mask": {"type": "int", "default": 32},
            "port": {"type": "int", "default": 0},
            "tag": {"type": "str", "required": True},
        },
        "secret_columns": (),
    },
    "dispatcher": {
        "table": "dispatcher",
        "key_columns": ["setid", "destination"],
        "value_columns": ["flags", "priority", "attrs", "description"],
        "rows_param": "destinations",
        "row_options": {
            "setid": {"type": "int", "required": True},
            "destination": {"type": "str", "required": True},
            "flags": {"type": "int", "default": 0},
            "priority": {"type": "int", "default": 0},
            "attrs": {"type": "str", "default": ""},
            "description": {"type": "str", "default": ""},
        },
        "secret_columns": (),
    },
    "htable": {
        "table": "htable",
        "key_columns": ["key_name"],
        "value_columns": ["key_type", "value_type", "key_value", "expires"],
        "rows_param": "entries",
        "row_options": {
            "key_name": {"type": "str", "required": True},
            "key_type": {"type": "int", "default": 0},
            "value_type": {"type": "int", "default": 0},
            "key_value": {"type": "str", "required": True, "no_log": True},
            "expires": {"type": "int", "default": 0},
        },
        "secret_columns": ("key_value",),
    },
    # The trunks' accounts: the uac module's remote registrations table. One
    # row per trunk the call server sends calls to: the credentials it answers
    # the carrier's challenges with (the password is the row's one secret),
    # and for a registering trunk the REGISTER it keeps up (expires > 0).
    "trunks": {
        "table": "uacreg",
        "key_columns": ["l_uuid"],
        "value_columns": ["l_username", "l_domain", "r_username", "r_domain", "realm", "auth_username",
                          "auth_password", "auth_proxy", "expires", "flags", "reg_delay", "contact_addr"],
        "rows_param": "trunks",
        "row_options": {
            "l_uuid": {"type": "str", "required": True},
            "l_username": {"type": "str", "required": True},
            "l_domain": {"type": "str", "required": True},
            "r_username": {"type": "str", "required": True},
            "r_domain": {"type": "str", "required": True},
            "realm": {"type": "str", "default": ""},
            "auth_username": {"type": "str", "required": True},
            "auth_password": {"type": "str", "required": True, "no_log": True},
            "auth_proxy": {"type": "str", "required": True},
            "expires": {"type": "int", "default": 0},
            "flags": {"type": "int", "default": 0},
            "reg_delay": {"type": "int", "default": 0},
            "contact_addr": {"type": "str", "default": ""},
        },
        "secret_columns": ("auth_password",),
    },
}  # fmt: skip
