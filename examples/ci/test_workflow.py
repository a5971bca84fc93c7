"""examples/ci/.github/workflows/ferry.yml: valid YAML, the jobs docs/ci.md
describes, OIDC rather than keys, and only flags the real `ferry` has.

The flags are checked against `ferry <command> --help` of the binary in
target/debug (or $CARGO_TARGET_DIR/debug), which scripts/test builds first.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = Path(__file__).resolve().parent / ".github" / "workflows" / "ferry.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict), "the workflow is a mapping"
    # YAML 1.1 reads the key `on` as true.
    if True in loaded:
        loaded["on"] = loaded.pop(True)
    return loaded


def steps(job: dict) -> list[dict]:
    found = job.get("steps")
    assert isinstance(found, list) and found, "a job with steps"
    return found


def scripts(job: dict) -> str:
    return "\n".join(s["run"] for s in steps(job) if "run" in s)


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def ferry_commands(script: str) -> list[list[str]]:
    """Every `ferry ...` command line of a script, continuation lines joined."""
    joined = script.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line.split(" > ")[0], comments=True) if "ferry " in line else []
        if words[:1] == ["ferry"]:
            commands.append(words)
    return commands


def test_triggers_and_jobs(workflow):
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    assert set(workflow["jobs"]) == {"diff", "apply"}
    assert "pull_request" in workflow["jobs"]["diff"]["if"]
    apply = workflow["jobs"]["apply"]
    assert "refs/heads/main" in apply["if"] and "push" in apply["if"]
    assert apply["concurrency"]["cancel-in-progress"] is False, "an apply is never cancelled"


@pytest.mark.parametrize("name", ["diff", "apply"])
def test_aws_credentials_come_from_oidc(workflow, name):
    job = workflow["jobs"][name]
    assert job["permissions"]["id-token"] == "write"
    (configure,) = uses(job, "aws-actions/configure-aws-credentials")
    assert configure["with"]["role-to-assume"].startswith("${{ vars.")
    assert "aws-region" in configure["with"]
    text = WORKFLOW.read_text()
    for key in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", "secrets."):
        assert key not in text, f"no long-lived keys: {key}"
    # Credentials come after the offline validation and before ferry talks to AWS.
    names = [s.get("name") or s.get("uses", "") for s in steps(job)]
    at = names.index(configure["uses"])
    assert names.index("ferry validate") < at


def test_pull_requests_validate_diff_and_comment(workflow):
    job = workflow["jobs"]["diff"]
    commands = ferry_commands(scripts(job))
    assert [c[1] for c in commands] == ["validate", "diff"]
    assert "--exit-code" in commands[1]
    assert job["permissions"]["pull-requests"] == "write"
    (comment,) = uses(job, "actions/github-script")
    assert "createComment" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"], "one comment, edited on each push"


def test_main_applies_and_waits(workflow):
    job = workflow["jobs"]["apply"]
    commands = ferry_commands(scripts(job))
    assert [c[1] for c in commands] == ["validate", "apply"]
    apply = commands[1]
    assert "--wait" in apply and "--timeout" in apply and "-m" in apply
    assert "${{" not in scripts(job), "no expression is pasted into a shell script"


def ferry_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    binary = target / "debug" / "ferry"
    if not binary.exists():
        pytest.skip(f"{binary} is not built (scripts/test builds it)")
    return binary


def test_every_flag_exists_in_the_cli(workflow):
    binary = ferry_binary()
    for name, job in workflow["jobs"].items():
        for command in ferry_commands(scripts(job)):
            out = subprocess.run([str(binary), command[1], "--help"], capture_output=True,
                                 text=True, check=False, timeout=30)
            assert out.returncode == 0, f"{name}: `ferry {command[1]}` is not a command"
            for flag in (w for w in command[2:] if w.startswith("-")):
                assert re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=]|$)", out.stdout, re.M), (
                    f"{name}: `ferry {command[1]}` has no {flag}")
