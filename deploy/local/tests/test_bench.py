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
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 400, "CreateService": 400},
                                   bench.ECS_BUCKETS)
    assert per == {"task-definition writes": 380.0, "service writes": 70.0}
    assert bound == 380.0


def test_image_change_counts_registrations_and_updates():
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 400, "UpdateService": 400,
                                    "DescribeServices": 10_000})
    assert (bound, per["service writes"]) == (380.0, 70.0)


def test_operations_of_one_bucket_add_up():
    # Register and Deregister share a bucket; so do Create, Update and DeleteService.
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 15, "DeregisterTaskDefinition": 15,
                                    "CreateService": 100, "DeleteService": 100}, bench.ECS_BUCKETS)
    assert per == {"task-definition writes": 10.0, "service writes": 30.0}
    assert bound == 30.0


def test_writes_within_the_burst_need_no_time():
    assert bench.quota_bound({"RegisterTaskDefinition": 20, "CreateService": 50}, bench.ECS_BUCKETS) == (
        0.0, {"task-definition writes": 0.0, "service writes": 0.0})
    assert bench.quota_bound({})[0] == 0.0
    bound, per = bench.quota_bound({"RegisterTaskDefinition": 20, "CreateService": 50,
                                    "application-autoscaling:RegisterScalableTarget": 10,
                                    "scheduler:CreateSchedule": 50})
    assert bound == 0.0 and set(per.values()) == {0.0}
    assert set(per) == {b.name for b in bench.QUOTA_BUCKETS}


def test_bucket_numbers_are_the_documented_ones():
    buckets = {b.name: (b.burst, b.refill, set(b.operations)) for b in bench.ECS_BUCKETS}
    assert buckets == {
        "task-definition writes": (20, 1.0, {"RegisterTaskDefinition", "DeregisterTaskDefinition"}),
        "service writes": (50, 5.0, {"CreateService", "UpdateService", "DeleteService"}),
    }
    assert bench.REFILL_WAIT >= 20  # the slowest bucket refills from empty in 20 s


def test_autoscaling_bucket_is_shared_by_every_action_and_can_be_the_slowest():
    writes = {"application-autoscaling:RegisterScalableTarget": 100,
              "application-autoscaling:PutScalingPolicy": 100,
              "application-autoscaling:DeleteScalingPolicy": 10,
              "RegisterTaskDefinition": 100, "CreateService": 100}
    bound, per = bench.quota_bound(writes)
    assert per["autoscaling (all actions)"] == (210 - 10) / 2
    assert per["task-definition writes"] == 80.0
    assert bound == 100.0  # the slowest bucket wins


def test_scheduler_buckets_are_per_operation():
    bound, per = bench.quota_bound({"scheduler:CreateSchedule": 100, "scheduler:UpdateSchedule": 100,
                                    "scheduler:DeleteSchedule": 50})
    assert (per["scheduler CreateSchedule"], per["scheduler UpdateSchedule"],
            per["scheduler DeleteSchedule"]) == (1.0, 1.0, 0.0)
    assert bound == 1.0  # not (250 - 50) / 50: each operation has a bucket of its own


def test_operations_are_counted_in_their_own_services_buckets():
    # ECS and Scheduler both have TagResource; AAS's bucket takes only AAS's.
    assert bench.op_key("ecs", "TagResource") == "TagResource"
    assert bench.op_key("scheduler", "TagResource") == "scheduler:TagResource"
    assert [bench.service_of(k) for k in ("TagResource", "scheduler:TagResource",
                                          "application-autoscaling:TagResource")] == [
        "ecs", "scheduler", "application-autoscaling"]
    _, per = bench.quota_bound({"TagResource": 100, "scheduler:TagResource": 100,
                                "application-autoscaling:TagResource": 30})
    assert per["autoscaling (all actions)"] == 10.0
    assert per["task-definition writes"] == per["service writes"] == 0.0


def test_new_buckets_are_the_emulators_and_the_refill_wait_covers_them():
    buckets = {b.name: (b.service, b.burst, b.refill, b.operations) for b in bench.QUOTA_BUCKETS
               if b.service != "ecs"}
    assert buckets == {
        "autoscaling (all actions)": ("application-autoscaling", 10, 2.0, ()),
        "scheduler CreateSchedule": ("scheduler", 50, 50.0, ("CreateSchedule",)),
        "scheduler UpdateSchedule": ("scheduler", 50, 50.0, ("UpdateSchedule",)),
        "scheduler DeleteSchedule": ("scheduler", 50, 50.0, ("DeleteSchedule",)),
    }
    from ferry_emulation import throttling

    for bucket in bench.QUOTA_BUCKETS:
        for op in bucket.operations or ("RegisterScalableTarget", "PutScalingPolicy"):
            emulated = [c for _, c in throttling.buckets_for(bucket.service, op, bench.REGION)]
            assert (bucket.burst, bucket.refill) in [(c.capacity, c.refill) for c in emulated], (
                bucket.name, op)
    assert bench.REFILL_WAIT >= max(b.burst / b.refill for b in bench.QUOTA_BUCKETS)


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


def test_the_mix_of_200_apps():
    mixes = [bench.mix_of(n) for n in range(1, 201)]
    assert bench.mix_counts(mixes) == {"apps": 200, "services": 400, "task_definitions": 440,
                                       "autoscaled": 40, "scheduled": 40}
    assert not any(a and s for a, s in mixes)  # different apps
    assert mixes[0] == (True, False) and mixes[2] == (False, True)  # bench-0001, bench-0003
    assert mixes[-1] == (False, False)  # hotfix's app (the last one) is plain


def test_writes_needed_by_the_mix_and_their_bound():
    mixes = [bench.mix_of(n) for n in range(1, 201)]
    cold = bench.writes_needed(mixes, create=True)
    assert cold == {"RegisterTaskDefinition": 440, "CreateService": 400,
                    "scheduler:CreateSchedule": 40,
                    "application-autoscaling:RegisterScalableTarget": 40,
                    "application-autoscaling:PutScalingPolicy": 40}
    bound, per = bench.quota_bound(cold)
    assert bound == 420.0 and per["autoscaling (all actions)"] == 35.0
    assert per["service writes"] == 70.0 and per["scheduler CreateSchedule"] == 0.0
    image = bench.writes_needed(mixes, create=False)
    assert image == {"RegisterTaskDefinition": 440, "UpdateService": 400,
                     "scheduler:UpdateSchedule": 40}  # targets and policies stay
    assert bench.quota_bound(image)[0] == 420.0
    # hotfix: the bulk, then the last app once more
    assert bench.writes_needed(mixes + [mixes[-1]], create=False)["RegisterTaskDefinition"] == 442
    assert bench.writes_needed([(False, True)], create=False) == {
        "RegisterTaskDefinition": 3, "UpdateService": 2, "scheduler:UpdateSchedule": 1}


def test_mixed_manifests_autoscale_web_and_add_a_schedule_the_schema_accepts():
    import jsonschema
    import yaml

    schema = json.loads((LOCAL.parent.parent / "schema" / "ferry-manifest.schema.json").read_text())
    autoscaled = yaml.safe_load(bench.manifest("bench-0001", bench.image("v1"), autoscaled=True))
    scheduled = yaml.safe_load(bench.manifest("bench-0003", bench.image("v1"), scheduled=True))
    plain = yaml.safe_load(bench.manifest("bench-0002", bench.image("v1")))
    for doc in (autoscaled, scheduled, plain):
        jsonschema.validate(doc, schema)
    assert autoscaled["spec"]["processes"]["web"]["autoscaling"] == {"min": 1, "max": 3, "cpu": 60}
    assert "autoscaling" not in autoscaled["spec"]["processes"]["worker"]
    assert set(autoscaled["spec"]["processes"]) == set(bench.PROCESSES)
    report = scheduled["spec"]["processes"][bench.SCHEDULED_PROCESS]
    assert report["schedule"] == "cron(0 3 1 1 ? *)" and "scale" not in report
    assert report["command"] == bench.SCHEDULED_COMMAND
    assert set(scheduled["spec"]["processes"]) == set(bench.PROCESSES) | {"report"}
    assert all("autoscaling" not in p for p in plain["spec"]["processes"].values())


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


MIXED_LOG = LOG + [
    {"t": 15.0, "service": "application-autoscaling", "operation": "DescribeScalableTargets",
     "status": 200, "agent": "ferry-bench"},
    {"t": 15.5, "service": "application-autoscaling", "operation": "RegisterScalableTarget",
     "status": 400, "throttled": True, "agent": "ferry-bench"},
    {"t": 16.0, "service": "scheduler", "operation": "ListSchedules", "status": 200,
     "agent": "ferry-bench"},
    {"t": 16.5, "service": "scheduler", "operation": "ListSchedules", "status": 200,
     "agent": "ferry-bench"},
    {"t": 17.0, "service": "ecs", "operation": "ListTasks", "status": 200, "agent": "ferry-bench"},
]


def test_calls_by_service_and_the_calls_table():
    calls = bench.calls_by_service(bench.in_window(MIXED_LOG, 0, 100, agent="ferry-bench"))
    assert list(calls) == ["application-autoscaling", "dynamodb", "ecs", "scheduler"]
    assert calls["application-autoscaling"] == {
        "DescribeScalableTargets": {"calls": 1, "throttled": 0, "errors": 0},
        "RegisterScalableTarget": {"calls": 1, "throttled": 1, "errors": 0}}
    assert calls["scheduler"] == {"ListSchedules": {"calls": 2, "throttled": 0, "errors": 0}}
    text = bench.calls_table(calls)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["service", "operation"]
    services = [line.split()[0] for line in lines[2:]]
    assert services.index("ecs") < services.index("application-autoscaling") < services.index("scheduler")
    assert "dynamodb" not in services
    assert any(line.split()[:3] == ["application-autoscaling", "total", "2"] and line.split()[3] == "1"
               for line in lines)
    # A service of the table without calls says so.
    assert "(no calls)" in bench.calls_table({"ecs": calls["ecs"]})
    assert "elbv2" in bench.calls_table({"elbv2": {"DescribeRules": {"calls": 1, "throttled": 0,
                                                                     "errors": 0}}})


def test_calls_per_resync_of_the_other_services():
    calls = bench.calls_by_service(bench.in_window(MIXED_LOG, 0, 100, agent="ferry-bench"))
    others = bench.per_resync(calls, 2, {"ecs": bench.STEADY_OTHER_ECS, "application-autoscaling": None,
                                         "scheduler": None})
    assert others == {"ecs": {"ListTasks": 0.5},
                      "application-autoscaling": {"DescribeScalableTargets": 0.5,
                                                  "RegisterScalableTarget": 0.5},
                      "scheduler": {"ListSchedules": 1.0}}
    assert bench.per_resync(calls, 0, {"ecs": None}) == {}
    assert bench.other_text(others) == ("ecs task reads 0.5, application-autoscaling 1.0, "
                                        "scheduler 1.0")


def test_stopped_task_reads_count_list_describe_and_log_reads():
    log = MIXED_LOG + [
        {"t": 18.0, "service": "ecs", "operation": "DescribeTasks", "status": 200, "agent": "ferry-bench"},
        {"t": 18.5, "service": "logs", "operation": "GetLogEvents", "status": 200, "agent": "ferry-bench"},
        {"t": 19.0, "service": "logs", "operation": "GetLogEvents", "status": 200, "agent": "other"},
    ]
    calls = bench.calls_by_service(bench.in_window(log, 0, 100, agent="ferry-bench"))
    reads = bench.stopped_task_reads(calls)
    assert reads == {"ListTasks": 1, "DescribeTasks": 1, "GetLogEvents": 1}
    assert bench.stopped_task_reads({}) == {"ListTasks": 0, "DescribeTasks": 0, "GetLogEvents": 0}
    assert bench.stopped_reads_text(reads) == "1 / 1 / 1"
    results = {"image": {"quota_bound_seconds": 10.0, "wall_seconds": 5.0,
                         "throttle_errors_in_status": {}, "stopped_task_reads": reads}}
    rows = {row[0]: row[1:] for row in bench.summary_rows(results)}
    assert rows[f"image: {bench.STOPPED_READS_LABEL}"] == ("1 / 1 / 1", "-", "-")


def test_rollout_calls_count_service_deployments_and_alarm_calls():
    log = MIXED_LOG + [
        {"t": 18.0, "service": "ecs", "operation": "DescribeServiceDeployments", "status": 200,
         "agent": "ferry-bench"},
        {"t": 18.2, "service": "monitoring", "operation": "DescribeAlarms", "status": 200,
         "agent": "ferry-bench"},
        {"t": 18.4, "service": "monitoring", "operation": "ListTagsForResource", "status": 200,
         "agent": "ferry-bench"},
        {"t": 18.6, "service": "monitoring", "operation": "PutMetricAlarm", "status": 200,
         "agent": "ferry-bench"},
        {"t": 18.8, "service": "monitoring", "operation": "PutMetricAlarm", "status": 200,
         "agent": "other"},
    ]
    calls = bench.calls_by_service(bench.in_window(log, 0, 100, agent="ferry-bench"))
    counted = bench.rollout_calls(calls)
    assert counted == {"DescribeServiceDeployments": 1, "PutMetricAlarm": 1, "DescribeAlarms": 1,
                       "ListTagsForResource": 1}
    assert bench.rollout_calls_text(counted) == "1 / 1 / 1 / 1"
    assert bench.rollout_calls_text(None) == "-"
    results = {"image": {"quota_bound_seconds": 10.0, "wall_seconds": 5.0,
                         "throttle_errors_in_status": {}, "rollout_calls": counted}}
    rows = {row[0]: row[1:] for row in bench.summary_rows(results)}
    assert rows[f"image: {bench.ROLLOUT_CALLS_LABEL}"] == ("1 / 1 / 1 / 1", "-", "-")


def test_summary_shows_throttled_calls_by_service():
    results = {"cold": {"quota_bound_seconds": 420.0, "wall_seconds": 430.0,
                        "throttle_errors_in_status": {}, "throttled_controller": 3,
                        "throttled_controller_by_service": {"ecs": 1, "application-autoscaling": 2}}}
    rows = {row[0]: row[1:] for row in bench.summary_rows(results)}
    assert rows["cold: throttled calls (controller)"] == (
        "3 (ecs 1, application-autoscaling 2, scheduler 0)", "-", "-")
    assert rows["cold: wall (s)"] == ("430.0", "<= 1.1 x 420 = 462", "yes")


def _camel(method):
    return "".join(part.title() for part in method.split("_"))


def test_every_throttled_service_is_probed_hard_enough():
    from ferry_emulation import throttling

    assert {probe[0] for probe in bench.THROTTLING_PROBES} == set(throttling.LIMITS)
    for service, method, calls, _ in bench.THROTTLING_PROBES:
        buckets = [c for _, c in throttling.buckets_for(service, _camel(method), bench.REGION)]
        assert buckets, (service, method)
        # Unless the calls take this long, some are throttled; at least 5 s.
        escape = min((calls - c.capacity) / c.refill for c in buckets)
        assert escape >= 5.0, (service, method, escape)
    assert bench.probe_text({"ecs": {"calls": 240, "throttled": 120}, "logs": {"calls": 60, "throttled": 0}}) == (
        "ecs 120/240, logs 0/60")


def test_parse_metrics_reads_samples_with_and_without_labels():
    text = ('# HELP resyncs_total Resyncs\n# TYPE resyncs_total counter\nresyncs_total 7\n'
            'apps{condition="Ready"} 200\nresync_interval_seconds 100\nbroken line\n')
    assert bench.parse_metrics(text) == {"resyncs_total": 7.0, 'apps{condition="Ready"}': 200.0,
                                         "resync_interval_seconds": 100.0}
