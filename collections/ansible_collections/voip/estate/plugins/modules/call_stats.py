#!/usr/bin/python
"""The figures of a call server's traffic in the last window, from its call records."""

DOCUMENTATION = r"""
module: call_stats
short_description: Sum up a call server's calls of the last window (ASR per trunk, poor MOS, international calls per user)
description:
  - Reads the call records database the kamailio role keeps (Kamailio acc rows) in a few
    aggregate queries and returns figures, never the rows. The figures are the call attempts and answered calls
    of the window ending now, per trunk (the answer-seizure ratio), the ends of calls with a MOS
    and how many sounded poor (MOS below 3.6), and per user the international and premium-rate call
    attempts in the window, in the baseline before it and outside the working hours of O(timezone), and the
    same per source address (one source behind several accounts).
  - Only reads, so never reports a change; it runs in check mode too.
options:
  window:
    description: Seconds of the window that ends now.
    type: int
    default: 3600
  baseline:
    description: Seconds before the window whose international calls are a user's usual rate.
    type: int
    default: 604800
  timezone:
    description: Time zone of the call server's site (an IANA name), for the working hours.
    type: str
    default: UTC
  working_hours:
    description: Start and end of the working day, C(HH:MM) each, local time.
    type: list
    elements: str
    default: ["07:00", "19:00"]
  working_days:
    description: Days of the working week.
    type: list
    elements: str
    choices: [mon, tue, wed, thu, fri, sat, sun]
    default: [mon, tue, wed, thu, fri]
extends_documentation_fragment:
  - voip.estate.voip_call_records
  - voip.estate.voip_attributes.check
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Sum up the last hour's calls
  voip.estate.call_stats:
    timezone: Europe/Amsterdam
  register: traffic
"""

RETURN = r"""
stats:
  description:
    - C(attempts) and C(answered) of the window; C(trunks) per trunk name, its C(attempts) and
      C(answered); C(rated) (call ends with a MOS) and C(poor) (MOS below 3.6); C(international)
      per user id with international attempts in the window, their C(recent), C(baseline) and
      C(after_hours) counts; C(international_sources) the same per source address; C(window_s)
      and C(baseline_s).
  type: dict
  returned: success
  sample:
    window_s: 3600
    baseline_s: 604800
    attempts: 42
    answered: 30
    trunks: {lab-carrier: {attempts: 10, answered: 7}}
    rated: 12
    poor: 1
    international: {pbakker: {recent: 2, baseline: 5, after_hours: 0}}
    international_sources: {10.231.0.5: {recent: 2, baseline: 5, after_hours: 0}}
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.voip.estate.plugins.module_utils.voip_call_stats import DAYS, StatsError, stats


def main():
    module = AnsibleModule(
        argument_spec={
            "db": {"type": "path", "default": "/var/lib/kamailio/calls.sqlite"},
            "window": {"type": "int", "default": 3600},
            "baseline": {"type": "int", "default": 604800},
            "timezone": {"type": "str", "default": "UTC"},
            "working_hours": {"type": "list", "elements": "str", "default": ["07:00", "19:00"]},
            "working_days": {
                "type": "list",
                "elements": "str",
                "choices": list(DAYS),
                "default": list(DAYS[:5]),
            },
        },
        supports_check_mode=True,
    )
    params = module.params
    if len(params["working_hours"]) != 2:
        module.fail_json(msg=f"working_hours takes a start and an end, not {params['working_hours']}")
    start, end = params["working_hours"]
    try:
        figures = stats(
            params["db"], time.time(), params["window"], params["baseline"],
            params["timezone"], start, end, params["working_days"],
        )  # fmt: skip
    except StatsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, stats=figures)


if __name__ == "__main__":
    main()
