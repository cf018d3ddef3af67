"""Action plugin voip_validate: validate the estate model on the controller.

The logic is voipctl's (``voipctl.model.checks``); this plugin only finds the
inventory Ansible is using, runs the validation once per playbook run, and
turns the findings into a task result. The vars plugin ``voip.estate.voip_preflight`` has
already validated the inventory while Ansible read it (and stopped the run on
errors); ``voipctl.preflight`` keeps that result, so this task shows its
warnings without validating again. Documentation: plugins/modules/voip_validate.py.
"""

from __future__ import annotations

import datetime
import os

from ansible.plugins.action import ActionBase

_IMPORT_ERROR = None
try:
    from voipctl.preflight import validated_here as validate
except ImportError as exc:  # pragma: no cover - depends on the controller's environment
    validate = None
    _IMPORT_ERROR = exc

FACT = "voip_preflight_validated"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("inventory", "date", "force"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        result["changed"] = False
        if validate is None:
            result.update(
                failed=True, msg=f"voip_validate needs the voipctl package (run `make venv`): {_IMPORT_ERROR}"
            )
            return result
        sources = self._task.args.get("inventory") or task_vars.get("ansible_inventory_sources") or []
        if isinstance(sources, str):
            sources = [sources]
        # Host lists such as "-i host1," are not inventories of the estate.
        if not any(os.path.exists(str(s)) for s in sources):
            result.update(failed=True, msg="voip_validate: no inventory directory or file to validate")
            return result
        if not self._task.args.get("force") and task_vars.get(FACT) == sources:
            result["msg"] = "estate model already validated in this run"
            result["skipped_validation"] = True
            return result
        today = None
        if self._task.args.get("date"):
            try:
                today = datetime.date.fromisoformat(str(self._task.args["date"]))
            except ValueError:
                result.update(
                    failed=True, msg=f"voip_validate: date {self._task.args['date']!r} is not YYYY-MM-DD"
                )
                return result
        # The estate as this run loaded it (the vars plugin validated it already: its result is reused).
        sources, found = validate(task_vars.get("hostvars"), self._loader, [str(s) for s in sources], today)
        problems, lines = [], []
        for problem in found.problems:
            entry = problem.as_dict()
            entry["inventory"] = ", ".join(sources)
            problems.append(entry)
            lines.append(problem.render())
        errors = sum(1 for p in problems if p["severity"] == "error")
        warnings = len(problems) - errors
        summary = f"estate model: {errors} error(s), {warnings} warning(s) in {', '.join(sources)}"
        result["problems"] = problems
        result["error_count"] = errors
        result["warning_count"] = warnings
        # Ansible shows these as [WARNING] lines whether the task fails or not.
        result["warnings"] = [
            line for line, p in zip(lines, problems, strict=True) if p["severity"] != "error"
        ]
        if errors:
            result["failed"] = True
            result["msg"] = "\n".join([summary, *lines])
        else:
            result["msg"] = "\n".join([summary, *lines]) if lines else summary
            result["ansible_facts"] = {FACT: sources}
        return result
