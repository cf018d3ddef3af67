"""Documentation of the retention options shared by backup_prune and backup_store.

Their argument spec is ``voip_backup.RETENTION_SPEC``; used with
``extends_documentation_fragment: [voip.estate.voip_backup_retention]``.
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  daily:
    description: Days to keep (the newest point of each of the last O(daily) days that have one).
    type: int
    required: true
  weekly:
    description: ISO weeks to keep (the newest point of each).
    type: int
    default: 0
  monthly:
    description: Months to keep (the newest point of each).
    type: int
    default: 0
"""
