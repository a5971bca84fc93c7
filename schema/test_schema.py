"""The JSON Schema that editors use accepts every manifest Ferry ships and
refuses what `ferry validate` refuses: unknown keys and wrong types, and
every range, pattern, length and choice of a single value. The schema is
derived from the manifest types (crates/ferry-manifest/src/types.rs, with
schemars), whose attributes take their limits from
crates/ferry-manifest/src/limits.rs, which validation reads too.

Checked with a real validator (jsonschema, Draft 2020-12) against the
manifest crate's corpus of invalid manifests
(crates/ferry-manifest/corpus/invalid.yaml): every case is refused at its
field, except the explicit SEMANTIC list (rules across fields), which the
schema must accept; and every constraint the schema carries must refuse
at least one case, so a range or pattern without a case fails here.

Run: .ferry/venv/bin/python -m pytest -q schema (scripts/test does)."""

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "schema" / "ferry-manifest.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
SHIPPED = sorted((ROOT / "manifests").glob("*.yaml")) + sorted((ROOT / "examples").rglob("*.yaml"))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_manifest_is_valid(path):
    for document in yaml.safe_load_all(path.read_text()):
        errors = [e.message for e in VALIDATOR.iter_errors(document)]
        assert not errors, f"{path}: {errors}"


BASE = {"apiVersion": "ferry/v1", "kind": "App", "metadata": {"name": "shop"},
        "spec": {"image": "shop:1", "processes": {"web": {"scale": 2, "port": 8080}}}}


@pytest.mark.parametrize("edit,expected", [
    (lambda m: m["spec"]["processes"]["web"].update(replicas=2), "replicas"),
    (lambda m: m["spec"]["processes"]["web"].update(scale="two"), "two"),
    # A domain is a name or {name, process}: half of the mapping is neither.
    (lambda m: m["spec"].update(domains=[{"name": "a.example.com"}]), "not valid under any"),
    (lambda m: m.pop("metadata"), "metadata"),
    (lambda m: m["spec"]["processes"]["web"].update(healthCheck={"path": "/", "every": 5}), "every"),
])
def test_what_the_structural_pass_refuses_the_schema_refuses(edit, expected):
    manifest = yaml.safe_load(yaml.safe_dump(BASE))
    edit(manifest)
    errors = " ".join(e.message for e in VALIDATOR.iter_errors(manifest))
    assert expected in errors, errors


# The manifest crate's corpus of invalid manifests: `ferry validate`
# refuses every case (crates/ferry-manifest/src/tests/corpus.rs).
CORPUS = yaml.safe_load((ROOT / "crates" / "ferry-manifest" / "corpus" / "invalid.yaml").read_text())

# The cases the schema cannot refuse, and why: each rule spans fields, or
# says what no JSON Schema keyword can. The schema must accept each (a case
# it learns to refuse leaves this list), and every other case must be
# refused.
SEMANTIC = {
    "image-name-256": "the repository part of an image at most 255 characters: "
                      "a pattern cannot count one part of a match",
    "matcher-reversed-range": "a matcher range's low code at most its high one",
    "memory-for-cpu": "memory valid for the process's cpu (the schema has every "
                      "memory some cpu allows)",
    "health-check-timeout-not-below-interval": "healthCheck.timeout below interval",
    "health-check-without-port": "healthCheck only with port (or schedule)",
    "drain-timeout-without-port": "drainTimeout only with port",
    "deployment-that-cannot-progress": "not both minHealthyPercent and maxPercent 100",
    "autoscaling-min-above-max": "autoscaling.min at most max",
    "autoscaling-without-target": "one of autoscaling's cpu, memory or "
                                  "requestsPerTarget (each is optional alone)",
    "requests-per-target-without-port": "requestsPerTarget only with port",
    "schedule-with-scale": "a scheduled process has no service fields",
    "progress-deadline-on-schedule": "the same: no service, so no rollout to give a deadline",
    "progress-deadline-duration-below-minimum": "a duration string's bounds: a pattern "
                                                "cannot compare what it matches",
    "schedule-cron-fields": "what is inside cron(...): six fields",
    "timezone-without-schedule": "timezone only with schedule",
    "command-unclosed-quote": "a command string splits like a POSIX shell's words",
    "env-and-secret": "a name in env or secrets, not both",
    "domain-twice": "each domain listed once",
    "domain-to-missing-process": "a domain routes to a process that exists",
    "no-processes": "at least one process, here or in the Procfile",
    "procfile-missing": "the Procfile exists",
    "task-definition-too-large": "ECS's 64 KiB limit on a task definition",
    "capacity-without-spot": "capacity's map form needs `spot` (kept optional in the "
                             "type so the refusal can say what a scheduled run would lack)",
    "capacity-of-a-schedule-without-spot": "the same, on a scheduled process",
    "container-health-check-timeout-61": "timeout 2-60 for the container's check, 2-120 "
                                         "for the load balancer's: which depends on `port`",
    "container-health-check-with-path": "healthCheck's load-balancer fields only with port",
    "health-check-command-with-port": "healthCheck's container fields only without port",
    "process-sidecar-undefined": "a process's sidecars are defined in spec.sidecars",
    "sidecar-named-app": "no sidecar named `app` (dependsOn's name for the process)",
    "sidecar-named-like-its-process": "container names in a task are unique",
    "sidecar-depends-on-itself": "dependsOn names another container",
    "sidecar-depends-on-missing-container": "dependsOn names a container of the same task",
    "sidecar-dependency-cycle": "dependsOn has no cycle",
    "sidecar-healthy-without-health-check": "HEALTHY only on a container with a health check",
    "sidecar-success-of-essential": "COMPLETE and SUCCESS only on a container that is not essential",
    "sidecar-unused": "every sidecar runs beside some process",
    "sidecar-memory-fills-the-task": "the sidecars' memory below the task's",
    "sidecar-cpu-beyond-the-task": "the sidecars' cpu at most the task's",
    "rollout-bake-in-seconds": "ECS takes whole minutes: a pattern of whole minutes would "
                               "refuse `600` (seconds) too, which is 10m",
    "rollout-strategy-without-port": "a strategy other than rolling only with port",
    "rollout-default-alarms-without-port": "`alarms: default` only with port",
    "rollout-key-of-another-strategy": "canaryPercent, stepPercent, stepBake, bake and "
                                       "approval only with the strategies they apply to",
    "rollout-approval-timeout-without-approval": "approvalTimeout and onApprovalTimeout "
                                                 "only with approval",
    "rollout-on-schedule": "a scheduled process has no service, so no rollout",
}

# The keywords that carry a range, pattern, length or choice; each place
# the schema uses one must be what refuses some corpus case.
CONSTRAINTS = {"minimum", "maximum", "pattern", "maxLength", "enum", "const"}


def _path(parts):
    """`spec.domains[0].name` from a jsonschema path."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _leaves(errors):
    """Every innermost error (through anyOf's alternatives)."""
    for error in errors:
        if error.context:
            yield from _leaves(error.context)
        else:
            yield error


def _case_id(case):
    return case["name"]


def test_the_corpus_and_the_semantic_list_agree():
    names = [case["name"] for case in CORPUS]
    assert len(names) == len(set(names))
    assert set(SEMANTIC) <= set(names), set(SEMANTIC) - set(names)


@pytest.mark.parametrize("case", CORPUS, ids=_case_id)
def test_the_schema_refuses_what_validation_refuses(case):
    document = yaml.safe_load(case["manifest"])
    errors = list(VALIDATOR.iter_errors(document))
    if case["name"] in SEMANTIC:
        assert not errors, f"refused now; remove it from SEMANTIC: {[e.message for e in errors]}"
        return
    assert errors, f"{case['name']}: the schema accepts what `ferry validate` refuses at {case['path']}"
    # At the field validation names, or (a refused key, a missing field)
    # at the mapping that holds it.
    where = {_path(error.absolute_path) for error in errors}
    assert any(case["path"] == w or case["path"].startswith(w + ".") or case["path"].startswith(w + "[")
               for w in where), (case["path"], where)


def _constraint_locations(schema, at=()):
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in CONSTRAINTS and at[-1:] != ("properties",):
                yield at + (key,)
            yield from _constraint_locations(value, at + (key,))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _constraint_locations(value, at + (index,))


def test_every_range_pattern_and_choice_of_the_schema_refuses_a_corpus_case():
    hit = set()
    for case in CORPUS:
        if case["name"] not in SEMANTIC:
            for leaf in _leaves(VALIDATOR.iter_errors(yaml.safe_load(case["manifest"]))):
                hit.add(tuple(leaf.absolute_schema_path))
    missing = [_path(location) for location in _constraint_locations(SCHEMA) if location not in hit]
    assert not missing, f"no corpus case is refused by: {missing}"


@pytest.mark.parametrize("manifest,where", [
    # The issue's three: a negative scale, a port past 65535, a name with '_'.
    ({"scale": -1}, "scale"),
    ({"port": 70000}, "port"),
])
def test_the_issues_values_are_refused(manifest, where):
    document = yaml.safe_load(yaml.safe_dump(BASE))
    document["spec"]["processes"]["web"].update(manifest)
    assert list(VALIDATOR.iter_errors(document)), where
    for name in ({"metadata": {"name": "acme_inc"}}, {"spec": {**BASE["spec"], "processes": {"web_1": {}}}}):
        assert list(VALIDATOR.iter_errors({**BASE, **name})), name
