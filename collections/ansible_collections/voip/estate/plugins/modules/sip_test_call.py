#!/usr/bin/python
"""Make a real SIP test call through a call server: register a callee, call it, answer, hang up."""

DOCUMENTATION = r"""
module: sip_test_call
short_description: Make one real SIP test call through a call server, from the controller
description:
  - Runs two minimal SIP user agents (RFC 3261, digest authentication RFC 2617) over UDP on the
    machine the module runs on, with plain Python sockets, each on its own local port.
  - The callee O(callee.user) registers at O(server) (REGISTER, answering the 401 or 407 with
    MD5 digest, qop C(auth) or none as challenged, C(Expires) 60 s). The caller O(caller.user)
    sends an INVITE with an SDP offer (PCMA, PCMU) to C(sip:CALLEE@DOMAIN) through O(server),
    answering its challenge and skipping provisional answers (100, 180, 183).
  - The callee answers the INVITE the call server relays with 180 and 200 (SDP answer, the
    Record-Route copied); the caller ACKs the 200 and sends BYE along the route set
    (Record-Route reversed, to the callee's Contact); the callee answers the BYE 200. Finally
    the callee unregisters (C(Expires) 0), whether the call succeeded or not.
  - The callee is one more contact of a real user, so the call server forks the INVITE to that
    user's phones too. Every 2xx is ACKed on its own dialog (RFC 3261 13.2.2.4); one from another
    contact (a phone that answered first) is hung up with a BYE once the test call's own ACK and
    BYE went through (a call server that tracks one dialog per call ends it at the first BYE);
    through the call server, and when it refuses, straight to the contact. The message names the
    contact and its answers to the BYE.
  - >-
    Succeeds when the INVITE got a 2xx, the ACK reached the callee and the BYE got a 2xx;
    returns the INVITE's final status, the setup time and a message. Otherwise fails with a
    message naming what went wrong (for example
    C(INVITE to 2002@ams.voip.test via 10.231.0.11:5060/udp: 480 Temporarily Unavailable),
    C(the callee never received the INVITE within 5.0 s) or C(REGISTER of 2002: 403 Forbidden)),
    unless O(fail_on_unexpected=false).
  - Passwords are used for digest responses only; they appear in no message and no result.
  - Changes no configuration of any managed host; the callee's binding lives only for the call
    (and expires by itself after 60 s if the unregistration is lost). So it never reports a
    change, and it makes the call in check mode too (a check that did nothing in check mode
    would tell nothing).
options:
  server:
    description: Host name or address of the call server (A/AAAA lookup; no SRV or NAPTR).
    type: str
    required: true
  port:
    description: SIP port of the call server.
    type: int
    default: 5060
  domain:
    description:
      - SIP domain of both users (the call server's realm), used in the REGISTER, From, To and
        the request URI of the INVITE.
    type: str
    required: true
  caller:
    description: The calling user.
    type: dict
    required: true
    suboptions: &sip_user
      user:
        description: Extension (SIP and authentication user name).
        type: str
        required: true
      password:
        description: SIP password.
        type: str
        required: true
  callee:
    description: The called user; must be a different extension than O(caller.user).
    type: dict
    required: true
    suboptions: *sip_user
  timeout:
    description:
      - Seconds to wait for each transaction (REGISTER, INVITE, the ACK reaching the callee,
        BYE), retransmissions included.
    type: float
    default: 5.0
attributes:
  check_mode:
    description: Changes no host's configuration; makes the call in check mode too.
notes:
  - Run it from the controller, as the health gate does (C(delegate_to=localhost)); the call
    server must be able to reach the controller's address (the one the kernel picks to reach
    O(server)) for the relayed INVITE.
  - Only UDP; no RTP is sent (the media ports are bound so that nothing answers ICMP).
  - The callee should have no call forwarding or do-not-disturb, or the call goes elsewhere.
extends_documentation_fragment:
  - voip.estate.voip_sip_probe
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: A test call between two users of the site succeeds
  voip.estate.sip_test_call:
    server: "{{ ansible_host }}"
    domain: "{{ voip_call_server.sip_domain }}"
    caller: {user: "2001", password: "{{ health_caller_password }}"}
    callee: {user: "2004", password: "{{ health_callee_password }}"}
    timeout: 5
  delegate_to: localhost

- name: Test call, collecting the finding instead of failing
  voip.estate.sip_test_call:
    server: 10.231.0.11
    domain: ams.voip.test
    caller: {user: "2001", password: "{{ caller_password }}"}
    callee: {user: "2004", password: "{{ callee_password }}"}
    fail_on_unexpected: false
  delegate_to: localhost
  register: test_call
"""

RETURN = r"""
ok:
  description: Whether the call was answered (2xx), ACKed and hung up (BYE answered 2xx).
  returned: always
  type: bool
  sample: true
status:
  description: Status code of the INVITE's final response; null when there was none.
  returned: always
  type: int
  sample: 200
reason:
  description: Reason phrase of the INVITE's final response; null when there was none.
  returned: always
  type: str
  sample: OK
setup_ms:
  description:
    - Milliseconds from the first INVITE (before its challenge) to the 200; null when not answered.
  returned: always
  type: float
  sample: 12.4
provisional:
  description: Status codes of the provisional answers to the INVITE (100, 180, 183).
  returned: always
  type: list
  elements: int
  sample: [100, 180]
ack:
  description: Whether the ACK of the 200 reached the callee.
  returned: always
  type: bool
  sample: true
bye:
  description: Whether the BYE was answered with a 2xx.
  returned: always
  type: bool
  sample: true
registered:
  description: Whether the callee's REGISTER was accepted.
  returned: always
  type: bool
  sample: true
unregistered:
  description: Whether the callee's binding was removed again (REGISTER with Expires 0 accepted).
  returned: always
  type: bool
  sample: true
codec:
  description: The codec of the SDP answer (PCMA or PCMU); null when not answered.
  returned: always
  type: str
  sample: PCMA
media:
  description: Address and port of the SDP answer (the media relay's, when the call server anchors media).
  returned: always
  type: str
  sample: 10.231.0.11:20034
msg:
  description: What happened, naming the call or the step that failed.
  returned: always
  type: str
  sample: "INVITE to 2004@ams.voip.test via 10.231.0.11:5060/udp: 200 OK in 14.2 ms, ACK and BYE completed"
"""

from ansible_collections.voip.estate.plugins.module_utils.voip_sip import exit_probe, probe_module
from ansible_collections.voip.estate.plugins.module_utils.voip_sip_call import place_call

USER = {
    "type": "dict",
    "required": True,
    "options": {
        "user": {"type": "str", "required": True},
        "password": {"type": "str", "required": True, "no_log": True},
    },
}

ARGUMENT_SPEC = {
    "server": {"type": "str", "required": True},
    "port": {"type": "int", "default": 5060},
    "domain": {"type": "str", "required": True},
    "caller": USER,
    "callee": USER,
    "timeout": {"type": "float", "default": 5.0},
    "fail_on_unexpected": {"type": "bool", "default": True},
}


def main():
    module = probe_module(ARGUMENT_SPEC)
    p = module.params
    if p["caller"]["user"] == p["callee"]["user"]:
        module.fail_json(msg=f"caller and callee must be different users, both are {p['caller']['user']}")
    result = place_call(p["server"], p["port"], p["domain"], p["caller"], p["callee"], p["timeout"])
    if result["ok"] and not result["unregistered"]:
        module.warn(result["msg"])
    exit_probe(module, result)


if __name__ == "__main__":
    main()
