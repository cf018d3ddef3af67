"""Documentation shared by the SIP probe modules (sip_options, sip_test_call over module_utils/voip_sip).

Used with ``extends_documentation_fragment: [voip.estate.voip_sip_probe]``; each module
says what its probe checks and when it succeeds, and describes its own
check mode under ``attributes``.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  fail_on_unexpected:
    description:
      - Fail when the probe did not succeed (C(ok=false); the module's description says when it succeeds).
      - With C(false) the module returns C(ok=false) and the reason in C(msg) instead, for
        checks that collect findings rather than stop.
    type: bool
    default: true
attributes:
  check_mode: {support: full}
  diff_mode: {support: none, description: "Nothing changes, so there is no diff."}
"""
