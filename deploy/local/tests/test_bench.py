"""scripts/bench's pure parts: the quota bound, request-log windows, status checks.

The benchmark itself drives real binaries for minutes and prints tables
(Ferry's tests never assert on timings: benchmarks print them); only its
arithmetic and parsing are tested here.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys

import pytest

from conftest import LOCAL

BENCH_PATH = LOCAL.parent.parent / "scripts" / "bench"


def load_bench():
    loader = importlib.machinery.SourceFileLoader("ferry_bench", str(BENCH_PATH))
    spec = importlib.util.spec_from_loader("ferry_bench", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ferry_bench"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


bench = load_bench()


# -- the quota bound ------------------------------------------------------------------

def test_cold_converge_of_400_services_is_bound_by_task_definition_registrations():
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 400, "CreateService": 400})
    assert per == {"task-definition writes": 380.0, "service writes": 70.0}
    assert bound == 380.0


def test_image_change_counts_registrations_and_updates():
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 400, "UpdateService": 400,
                                    "DescribeServices": 10_000})
    assert (bound, per["service writes"]) == (380.0, 70.0)


def test_operations_of_one_bucket_add_up():
    # Register and Deregister share a bucket; so do Create, Update and DeleteService.
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 15, "DeregisterTaskDefinition": 15,
                                    "CreateService": 100, "DeleteService": 100})
    assert per == {"task-definition writes": 10.0, "service writes": 30.0}
    assert bound == 30.0


def test_writes_within_the_burst_need_no_time():
    assert bench.quota_bound({"RegisterTaskDefinition": 20, "CreateService": 50}) == (
        0.0, {"task-definition writes": 0.0, "service writes": 0.0})
    assert bench.quota_bound({})[0] == 0.0


def test_bucket_numbers_are_the_documented_ones():
    buckets = {b.name: (b.burst, b.refill, set(b.operations)) for b in bench.ECS_BUCKETS}
    assert buckets == {
        "task-definition writes": (20, 1.0, {"RegisterTaskDefinition", "DeregisterTaskDefinition"}),
        "service writes": (50, 5.0, {"CreateService", "UpdateService", "DeleteService"}),
    }
    assert bench.REFILL_WAIT >= 20  # the slowest bucket refills from empty in 20 s


@pytest.mark.parametrize("services,budget", [(400, 45), (2000, 205), (1, 6), (10, 6), (11, 7)])
def test_read_budget(services, budget):
    assert bench.read_budget(services) == budget


# -- the request log ------------------------------------------------------------------

LOG = [
    {"t": 10.0, "service": "ecs", "operation": "DescribeServices", "status": 200, "agent": "ferry-bench"},
    {"t": 11.0, "service": "ecs", "operation": "RegisterTaskDefinition", "status": 400,
     "throttled": True, "agent": "ferry-bench"},
    {"t": 12.0, "service": "ecs", "operation": "RegisterTaskDefinition", "status": 200,
     "agent": "ferry-bench"},
    {"t": 12.5, "service": "ecs", "operation": "DescribeTaskDefinition", "status": 400,
     "agent": "ferry-bench"},
    {"t": 13.0, "service": "ecs", "operation": "DescribeServices", "status": 200,
     "agent": "ecs-deploy-bench"},
    {"t": 13.5, "service": "dynamodb", "operation": "GetItem", "status": 200, "agent": "ferry-bench"},
    {"t": 14.0, "service": "ecs", "operation": "ListServices", "status": 200},
    {"t": 20.0, "service": "ecs", "operation": "DescribeServices", "status": 200, "agent": "ferry-bench"},
]


def test_parse_log_skips_blank_and_partial_lines():
    lines = [json.dumps(e) + "\n" for e in LOG[:2]] + ["\n", '{"t": 1', "not json\n", "[1]\n"]
    assert bench.parse_log(lines) == LOG[:2]


def test_window_is_inclusive_and_filters_agent_and_service():
    assert len(bench.in_window(LOG, 11.0, 13.0)) == 4
    ours = bench.in_window(LOG, 10.5, 19.0, agent="ferry-bench", service="ecs")
    assert [e["operation"] for e in ours] == ["RegisterTaskDefinition", "RegisterTaskDefinition",
                                             "DescribeTaskDefinition"]
    assert bench.in_window(LOG, 30.0, 40.0) == []


def test_count_calls_separates_throttled_from_other_errors():
    calls = bench.count_calls(bench.in_window(LOG, 0, 100, agent="ferry-bench", service="ecs"))
    assert calls == {
        "DescribeServices": {"calls": 2, "throttled": 0, "errors": 0},
        "DescribeTaskDefinition": {"calls": 1, "throttled": 0, "errors": 1},
        "RegisterTaskDefinition": {"calls": 2, "throttled": 1, "errors": 0},
    }
    assert bench.total(calls) == 5
    assert bench.total(calls, bench.STEADY_READS) == 3
    assert bench.total(calls, key="throttled") == 1
    assert bench.writes_of(calls) == {"RegisterTaskDefinition": 2}


# -- statuses ---------------------------------------------------------------------------

def status(generation=2, observed=2, ready="True", degraded=("False", ""), last_error=None):
    out = {"name": "bench-0001", "generation": generation, "observedGeneration": observed,
           "conditions": [{"type": "Ready", "status": ready, "reason": "Converged", "message": ""},
                          {"type": "Degraded", "status": degraded[0], "reason": degraded[1],
                           "message": ""}]}
    if last_error:
        out["lastError"] = last_error
    return out


def test_ready_needs_the_current_generation_observed():
    assert bench.app_ready(status())
    assert not bench.app_ready(status(generation=3, observed=2))  # stale Ready of the last one
    assert not bench.app_ready(status(ready="False"))
    assert not bench.app_ready({"name": "x"})


def test_rollout_failed_and_throttle_mentions():
    assert bench.rollout_failed(status(ready="False", degraded=("True", "RolloutFailed")))
    assert not bench.rollout_failed(status())
    throttled = status(last_error={"operation": "ecs:RegisterTaskDefinition",
                                   "message": "ThrottlingException: Rate exceeded"})
    assert "ThrottlingException" in bench.throttle_mention(throttled)
    assert bench.throttle_mention(status()) is None


# -- manifests and output -------------------------------------------------------------------

def test_manifest_has_two_processes_without_ports():
    import yaml

    doc = yaml.safe_load(bench.manifest("bench-0001", bench.image("v1")))
    assert doc["metadata"]["name"] == "bench-0001"
    assert doc["spec"]["image"] == "registry.example.com/bench/app:v1"
    assert set(doc["spec"]["processes"]) == set(bench.PROCESSES)
    for process, spec in doc["spec"]["processes"].items():
        assert spec["command"] == bench.PROCESSES[process]
        assert "port" not in spec


def test_format_table_aligns_columns():
    text = bench.format_table(("measure", "value"), [("wall (s)", 4.25), ("apps", 200), ("ok", True)])
    lines = text.splitlines()
    assert lines[0].startswith("measure ") and set(lines[1]) <= {"-", " "}
    assert [len(line) for line in lines[2:]] == [len(lines[2])] * 3  # numbers right-aligned
    assert lines[2].endswith("4.2") and lines[4].endswith("yes")


def test_summary_marks_targets():
    results = {"cold": {"quota_bound_seconds": 380.0, "wall_seconds": 400.0,
                        "throttle_errors_in_status": {}},
               "image": {"quota_bound_seconds": 380.0, "wall_seconds": 500.0,
                         "throttle_errors_in_status": {"bench-0001": "..."}},
               "hotfix": {"hotfix_ready_seconds": 9.0},
               "ecs-deploy": {"services": 20, "ratio": 12.0}}
    met = {row[0]: row[3] for row in bench.summary_rows(results)}
    assert met == {"cold: wall (s)": "yes", "cold: apps with throttling errors in status": "yes",
                   "image: wall (s)": "NO", "image: apps with throttling errors in status": "NO",
                   "hotfix: apply to Ready (s)": "yes",
                   "ecs-deploy: wall ratio at 20 services": "yes"}


def test_bench_is_executable_and_documented():
    assert BENCH_PATH.stat().st_mode & 0o111
    assert (LOCAL.parent.parent / "docs" / "performance.md").exists()


def test_parse_metrics_reads_samples_with_and_without_labels():
    text = ('# HELP resyncs_total Resyncs\n# TYPE resyncs_total counter\nresyncs_total 7\n'
            'apps{condition="Ready"} 200\nresync_interval_seconds 100\nbroken line\n')
    assert bench.parse_metrics(text) == {"resyncs_total": 7.0, 'apps{condition="Ready"}': 200.0,
                                         "resync_interval_seconds": 100.0}
