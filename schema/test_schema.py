"""The JSON Schema that editors use accepts every manifest Ferry ships and
refuses what the structural pass refuses (unknown keys, wrong types).

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
