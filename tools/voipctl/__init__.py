"""voip-estate tools: the lab, the estate model, validation and reports.

Tools generate, validate and report; applying changes to hosts is the
playbooks' job.
"""

__version__ = "0.1.0"
