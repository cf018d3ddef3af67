"""The check and diff mode support our modules share, by name.

Used with ``extends_documentation_fragment: [voip.estate.voip_attributes.<name>]``;
a module with more to say of an attribute adds its ``details`` under
``attributes``. Each attribute carries the ``description`` validate-modules
requires, so that a module need not repeat it.
"""


class ModuleDocFragment:
    # Check mode computes and returns what a run would do and writes nothing; nothing to diff.
    CHECK = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

    # Only a real run makes sense (it reads or writes what check mode would skip); nothing to diff.
    NO_CHECK = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: none
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""
