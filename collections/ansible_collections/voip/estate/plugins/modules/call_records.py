#!/usr/bin/python
"""Read the call records a call server kept within a time window, in one read."""

DOCUMENTATION = r"""
module: call_records
short_description: Read a call server's call records (Kamailio acc) within a time window
description:
  - Reads the rows of the C(acc) table of the call records database the kamailio role keeps
    (one row per call attempt, at its INVITE's final answer, and one per end of an answered call,
    at its BYE, with the media quality), whose time C(t_end) lies in [O(since), O(before)), oldest
    first, in one read-only query.
  - Returns the rows as they are stored; joining attempts, ends and the legs of a call across
    servers is left to the caller (C(voipctl calls)).
  - Only reads, so never reports a change; it runs in check mode too.
options:
  since:
    description: Start of the window, seconds since the epoch (included).
    type: float
    required: true
  before:
    description: End of the window, seconds since the epoch (excluded); unset, no end.
    type: float
  parties:
    description:
      - Only the calls these users made or received (user ids, extensions or DIDs, matched
        against the caller's and callee's fields), with the BYE rows of those calls. Empty, every call.
    type: list
    elements: str
    default: []
  limit:
    description:
      - Most rows returned; when the window holds more, the oldest O(limit) are returned and
        RV(truncated) is true (read the rest with a later O(since)).
    type: int
    default: 500000
extends_documentation_fragment:
  - voip.estate.voip_call_records
  - voip.estate.voip_attributes.check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Read the last day's call records
  voip.estate.call_records:
    since: "{{ now(utc=true).timestamp() - 86400 }}"
  register: calls
"""

RETURN = r"""
records:
  description:
    - The rows, each a dict of the acc table's columns (C(method), C(callid), C(from_tag),
      C(sip_code), C(sip_reason), C(t_start), C(t_end), C(caller_uid), C(route), C(mos), ...).
  type: list
  elements: dict
  returned: success
  sample: [{method: INVITE, callid: a84b4c76e66710, sip_code: "200", route: user, t_end: 1796488982.913}]
count:
  description: Number of rows returned.
  type: int
  returned: success
  sample: 2
truncated:
  description: Whether the window held more rows than O(limit).
  type: bool
  returned: success
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_call_records import RecordsError, read


def main():
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "default": "/var/lib/kamailio/calls.sqlite"},
            "since": {"type": "float", "required": True},
            "before": {"type": "float"},
            "limit": {"type": "int", "default": 500000},
            "parties": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["limit"] < 1:
        module.fail_json(msg=f"limit must be at least 1, not {params['limit']}")
    try:
        records, truncated = read(
            params["db"], params["since"], params["before"], params["limit"], params["parties"]
        )
    except RecordsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, records=records, count=len(records), truncated=truncated)


if __name__ == "__main__":
    main()
