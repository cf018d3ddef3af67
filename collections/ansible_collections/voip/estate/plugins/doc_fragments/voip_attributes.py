"""The check and diff mode support our modules share, by name.

Used with ``extends_documentation_fragment: [voip_attributes.<name>]``
(ansible.cfg puts this directory on the doc fragment path); a module with
more to say of an attribute adds its ``details`` under ``attributes``.
"""


class ModuleDocFragment:
    # Check mode computes and returns what a run would do and writes nothing; nothing to diff.
    CHECK = r"""
attributes:
  check_mode: {support: full}
  diff_mode: {support: none}
"""

    # Only a real run makes sense (it reads or writes what check mode would skip); nothing to diff.
    NO_CHECK = r"""
attributes:
  check_mode: {support: none}
  diff_mode: {support: none}
"""
