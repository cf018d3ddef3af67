#!/usr/bin/python
"""Ask a SIP server, trunk or gateway whether it is alive: one SIP OPTIONS, its answer and latency."""

DOCUMENTATION = r"""
module: sip_options
short_description: Send a SIP OPTIONS to a call server, trunk or gateway and check its answer
description:
  - Sends one SIP OPTIONS request (RFC 3261) to C(sip:TARGET:PORT) over UDP or TCP from the
    machine the module runs on, with plain Python sockets, and waits for the final response
    (provisional C(1xx) answers are skipped). Over UDP the request is retransmitted as RFC 3261
    says for a non-INVITE transaction (timer E, 0.5 s doubling up to 4 s) until O(timeout).
  - Returns the status code, reason, latency and selected headers of the answer. Succeeds when
    the status is one of O(expect); otherwise, and when the target does not resolve, does not
    answer within O(timeout) or answers something that is not SIP, fails with a message that
    names the target and what happened, unless O(fail_on_unexpected=false).
  - The source address in Via, From and Contact is the one the kernel picks to reach the target,
    so the answer comes back to it.
  - Only reads, so never reports a change; it runs in check mode too.
options:
  target:
    description:
      - Host name or address of the SIP server (A/AAAA lookup; SRV and NAPTR records are not used).
    type: str
    required: true
  port:
    description: SIP port of the target.
    type: int
    default: 5060
  transport:
    description: Transport of the request.
    type: str
    choices: [udp, tcp]
    default: udp
  user:
    description:
      - User part of the request URI (C(sip:USER@TARGET:PORT)), for targets that expect one
        (some trunks). Without it the URI is C(sip:TARGET:PORT), which a Kamailio call server
        answers itself.
    type: str
  timeout:
    description: Seconds to wait for the final response, retransmissions included.
    type: float
    default: 2.0
  retries:
    description:
      - Most UDP retransmissions to send within O(timeout); C(0) sends the request once.
        Unset, retransmit as timer E allows within O(timeout). Ignored for TCP.
    type: int
  expect:
    description: Status codes that count as a healthy answer.
    type: list
    elements: int
    default: [200]
  headers:
    description:
      - Names of headers of the answer to return besides C(Server) and C(User-Agent), for
        example C(X-Routing). Matched without regard to case and to compact forms (C(i) is
        C(Call-ID)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Changes nothing anywhere; sends the OPTIONS in check mode too.
notes:
  - To ask from the controller, as the health checks do, delegate the task to C(localhost).
  - Latency is measured from the first transmission to the final response, so a lost datagram
    shows as a retransmission's worth of latency.
extends_documentation_fragment:
  - voip.estate.voip_sip_probe
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Call server answers OPTIONS
  voip.estate.sip_options:
    target: "{{ ansible_host }}"
  delegate_to: localhost

- name: Trunk over TCP, 200 or 404 both mean alive; keep the routing header
  voip.estate.sip_options:
    target: sip.carrier.example
    transport: tcp
    timeout: 3
    expect: [200, 404]
    headers: [X-Routing]
  delegate_to: localhost
  register: trunk_ping

- name: Gateways, collecting findings instead of failing
  voip.estate.sip_options:
    target: "{{ hostvars[item].ansible_host }}"
    fail_on_unexpected: false
  loop: "{{ groups['gateways'] }}"
  delegate_to: localhost
  register: gateway_pings
"""

RETURN = r"""
ok:
  description: Whether the target answered with a status of O(expect).
  returned: always
  type: bool
  sample: true
status:
  description: Status code of the final response; null when there was none.
  returned: always
  type: int
  sample: 200
reason:
  description: Reason phrase of the final response; null when there was none.
  returned: always
  type: str
  sample: Keepalive
latency_ms:
  description: Milliseconds from the first transmission to the final response; null when there was none.
  returned: always
  type: float
  sample: 1.3
headers:
  description: C(Server), C(User-Agent) and the headers of O(headers), under the names as asked;
    null when absent; several values of one header joined with C(, ).
  returned: always
  type: dict
  sample: {Server: voip-estate, User-Agent: null, X-Routing: null}
response_line:
  description: The first line of the final response.
  returned: when the target answered
  type: str
  sample: SIP/2.0 200 Keepalive
provisional:
  description: Status codes of the provisional responses before the final one.
  returned: when the target answered
  type: list
  elements: int
  sample: [100]
transmissions:
  description: How many times the request was sent.
  returned: when the target answered
  type: int
  sample: 1
address:
  description: The address the target's name resolved to.
  returned: when the name resolved
  type: str
  sample: 10.231.0.11
local:
  description: Source address and port of the request (as in its Via header).
  returned: when the target answered
  type: str
  sample: 10.231.0.1:41234
msg:
  description: What happened, naming the target.
  returned: always
  type: str
  sample: "no answer from 10.0.0.1:5060/udp within 2.0 s"
"""

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import (
    TRANSPORTS,
    SipError,
    endpoint,
    exit_probe,
    options_ping,
    probe_module,
    select_headers,
)

ARGUMENT_SPEC = {
    "target": {"type": "str", "required": True},
    "port": {"type": "int", "default": 5060},
    "transport": {"type": "str", "choices": list(TRANSPORTS), "default": "udp"},
    "user": {"type": "str"},
    "timeout": {"type": "float", "default": 2.0},
    "retries": {"type": "int"},
    "expect": {"type": "list", "elements": "int", "default": [200]},
    "headers": {"type": "list", "elements": "str", "default": []},
    "fail_on_unexpected": {"type": "bool", "default": True},
}


def main():
    module = probe_module(ARGUMENT_SPEC)
    p = module.params
    if p["retries"] is not None and p["retries"] < 0:
        module.fail_json(msg=f"retries must be 0 or more, not {p['retries']}")
    try:
        result = options_ping(
            p["target"], p["port"], p["transport"], p["timeout"], p["retries"], p["user"], p["headers"]
        )
    except SipError as exc:
        exit_probe(module, {
            "ok": False, "status": None, "reason": None, "latency_ms": None,
            "headers": select_headers({}, p["headers"]), "msg": str(exc),
        })  # fmt: skip
    where = endpoint(p["target"], p["port"], p["transport"], result["address"])
    result["ok"] = result["status"] in p["expect"]
    answer = f"{result['status']} {result['reason']}".strip()
    result["msg"] = f"{where} answered {answer} in {result['latency_ms']} ms"
    if not result["ok"]:
        result["msg"] += f", expected {', '.join(map(str, p['expect']))}"
    exit_probe(module, result)


if __name__ == "__main__":
    main()
