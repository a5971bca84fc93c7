"""ECS's blue/green, canary and linear service deployments, as a pure model of time.

No moto, no wire format, no clock: a ``Run`` (one service deployment) is
fed what happened to it (when its new revision's tasks were all healthy,
hook decisions, an alarm, a stop) and ``Run.view(now)`` computes where it
stands at ``now``; the same inputs give the same answer whenever it is
asked. The handlers (``deployments.py``) feed it and render it.

What ECS does
-------------
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
  lifecycleStage: "RECONCILE_SERVICE The reconciliation stage that only
  happens when you start a new service deployment with more than 1 service
  revision in an ACTIVE state." "PRE_SCALE_UP The green service revision
  has not started. The blue service revision is handling 100% of the
  production traffic. There is no test traffic." "SCALE_UP The stage when
  the green service revision scales up to 100% and launches new tasks. The
  green service revision is not serving any traffic at this point."
  "POST_SCALE_UP The green service revision has started." "TEST_TRAFFIC_SHIFT
  ... The green service revision is migrating from 0% to 100% of test
  traffic." "POST_TEST_TRAFFIC_SHIFT The test traffic shift is complete."
  "PRODUCTION_TRAFFIC_SHIFT Production traffic is shifting to the green
  service revision." "POST_PRODUCTION_TRAFFIC_SHIFT The production traffic
  shift is complete." "BAKE_TIME The stage when both blue and green service
  revisions are running simultaneously after the production traffic has
  shifted." "CLEAN_UP The stage when the blue service revision has
  completely scaled down to 0 running tasks."
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html
  (canary): canaryPercent of production traffic moves first, then
  canaryBakeTimeInMinutes, then the rest; defaults 5 % and 10 minutes
  (paraphrased: the defaults are in API_CanaryConfiguration).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment.html
  (linear): production traffic moves in equal steps of stepPercent with
  stepBakeTimeInMinutes between them (defaults 10 % and 6 minutes); the
  PRE_PRODUCTION_TRAFFIC_SHIFT hooks run before each step (paraphrased).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html
  A hook may not be attached to TEST_TRAFFIC_SHIFT or
  PRODUCTION_TRAFFIC_SHIFT (paraphrased). A PAUSE hook waits until
  ContinueServiceDeployment (CONTINUE goes on, ROLLBACK rolls back) or its
  timeoutConfiguration's timeoutInMinutes (default 1440), when its action
  (ROLLBACK by default, or CONTINUE) is taken.

The layer's timeline for one deployment, every timer in minutes times the
``FERRY_EMULATOR_DEPLOYMENT_TIME_SCALE`` (``scale``):
  RECONCILE_SERVICE (only with more than one active revision), PRE_SCALE_UP,
  SCALE_UP (until ``scaled_up_at``: the handlers set it when the new
  revision's tasks are all healthy), POST_SCALE_UP, TEST_TRAFFIC_SHIFT (test
  weight 100 on the new revision), POST_TEST_TRAFFIC_SHIFT, then per
  production step: PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT
  at the step's weight, with the step bake after every step but the last;
  POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (bakeTimeInMinutes), CLEAN_UP (the
  old revision's tasks stop: the handlers stop them), SUCCESSFUL. A stage
  without a timer or a hook lasts no time. A hook at a stage waits at the
  stage's start.

A rollback (an alarm in ALARM, the circuit breaker, a hook's ROLLBACK, its
timeout, StopServiceDeployment) at time t: production and test weights go
back to the old revision (0 on the new), status ROLLBACK_IN_PROGRESS (for
StopServiceDeployment STOP_REQUESTED first, at the same time) until
``ROLLBACK_SECONDS`` later, then ROLLBACK_SUCCESSFUL. The old revision's
tasks ran throughout (ECS keeps blue until CLEAN_UP), so a rollback needs
no task to start.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROLLING, BLUE_GREEN, CANARY, LINEAR = "ROLLING", "BLUE_GREEN", "CANARY", "LINEAR"
STRATEGIES = (ROLLING, BLUE_GREEN, CANARY, LINEAR)

STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
          "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
          "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP")
# API_DeploymentLifecycleHook: hooks may not run where ECS shifts traffic.
HOOKLESS_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")

# API_DeploymentConfiguration / API_CanaryConfiguration / API_LinearConfiguration defaults.
DEFAULT_CANARY_PERCENT = 5.0
DEFAULT_CANARY_BAKE_MINUTES = 10.0
DEFAULT_STEP_PERCENT = 10.0
DEFAULT_STEP_BAKE_MINUTES = 6.0
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440.0
MAX_MINUTES = 1440.0
# How long a rollback takes once started (the layer's: weights move back at once).
ROLLBACK_SECONDS = 1.0

PENDING, IN_PROGRESS, SUCCESSFUL = "PENDING", "IN_PROGRESS", "SUCCESSFUL"
STOP_REQUESTED = "STOP_REQUESTED"
ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL = "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"
FINAL = (SUCCESSFUL, ROLLBACK_SUCCESSFUL, "ROLLBACK_FAILED", "STOPPED")


class Refused(ValueError):
    """A configuration ECS refuses (InvalidParameterException, with this message)."""


@dataclass(frozen=True)
class Hook:
    """A PAUSE lifecycle hook at one stage."""

    stage: str
    timeout_minutes: float = DEFAULT_HOOK_TIMEOUT_MINUTES
    timeout_action: str = "ROLLBACK"


@dataclass(frozen=True)
class Strategy:
    """The strategy part of a service's ``deploymentConfiguration``."""

    kind: str = ROLLING
    bake_minutes: float = 0.0
    production_steps: tuple[float, ...] = (100.0,)
    step_bake_minutes: float = 0.0
    hooks: tuple[Hook, ...] = ()
    # Alarms ECS watches and rolls back on (enable and rollback both true).
    rollback_alarms: tuple[str, ...] = ()

    def hook_at(self, stage: str) -> Hook | None:
        return next((h for h in self.hooks if h.stage == stage), None)


def _minutes(value: Any, default: float, name: str) -> float:
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= MAX_MINUTES:
        raise Refused(f"{name} must be between 0 and 1440.")
    return float(value)


def _percent(value: Any, default: float, low: float, name: str) -> float:
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= 100:
        raise Refused(f"{name} must be between {low:g} and 100.")
    return float(value)


def linear_steps(step_percent: float) -> tuple[float, ...]:
    """The production weights of a linear deployment's steps: step, 2 x step, ... 100."""
    steps: list[float] = []
    weight = 0.0
    while weight < 100.0:
        weight = min(100.0, round(weight + step_percent, 1))
        steps.append(weight)
    return tuple(steps)


def strategy_of(configuration: Mapping[str, Any]) -> Strategy:
    """The strategy of a ``deploymentConfiguration``; Refused for what ECS refuses."""
    kind = configuration.get("strategy") or ROLLING
    if kind not in STRATEGIES:
        raise Refused(f"Invalid deployment strategy: {kind}.")
    bake = _minutes(configuration.get("bakeTimeInMinutes"), 0.0, "bakeTimeInMinutes")
    steps: tuple[float, ...] = (100.0,)
    step_bake = 0.0
    if kind == CANARY:
        canary = configuration.get("canaryConfiguration") or {}
        percent = _percent(canary.get("canaryPercent"), DEFAULT_CANARY_PERCENT, 0.1,
                           "canaryPercent")
        step_bake = _minutes(canary.get("canaryBakeTimeInMinutes"), DEFAULT_CANARY_BAKE_MINUTES,
                             "canaryBakeTimeInMinutes")
        steps = (percent, 100.0) if percent < 100 else (100.0,)
    elif kind == LINEAR:
        linear = configuration.get("linearConfiguration") or {}
        percent = _percent(linear.get("stepPercent"), DEFAULT_STEP_PERCENT, 3.0, "stepPercent")
        step_bake = _minutes(linear.get("stepBakeTimeInMinutes"), DEFAULT_STEP_BAKE_MINUTES,
                             "stepBakeTimeInMinutes")
        steps = linear_steps(percent)
    hooks = []
    for entry in configuration.get("lifecycleHooks") or []:
        if not isinstance(entry, dict) or entry.get("targetType", "PAUSE") != "PAUSE":
            continue  # Lambda hooks are not modelled
        timeout = entry.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes")
        if minutes is not None and (not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES):
            raise Refused("timeoutInMinutes must be between 1 and 1440.")
        action = timeout.get("action") or "ROLLBACK"
        if action not in ("ROLLBACK", "CONTINUE"):
            raise Refused(f"Invalid lifecycle hook timeout action: {action}.")
        for stage in entry.get("lifecycleStages") or []:
            if stage in HOOKLESS_STAGES or stage not in STAGES:
                raise Refused(f"Lifecycle hooks are not supported for the {stage} stage.")
            hooks.append(Hook(stage, float(minutes or DEFAULT_HOOK_TIMEOUT_MINUTES), action))
    alarms = configuration.get("alarms") or {}
    names: tuple[str, ...] = ()
    if alarms.get("enable") and alarms.get("rollback"):
        names = tuple(n for n in alarms.get("alarmNames") or [] if isinstance(n, str))
    return Strategy(kind, bake, steps, step_bake, tuple(hooks), names)


ADVANCED_FIELDS = ("alternateTargetGroupArn", "productionListenerRule", "roleArn")


def missing_advanced_configuration(kind: str, load_balancers: list[Any]) -> str | None:
    """ECS's refusal of a strategy other than ROLLING whose load balancer entries lack
    ``advancedConfiguration`` (alternate group, production rule, test rule for an
    ALB, role), or None."""
    if kind == ROLLING:
        return None
    for entry in load_balancers:
        if not isinstance(entry, dict) or not entry.get("targetGroupArn"):
            continue
        advanced = entry.get("advancedConfiguration")
        if not isinstance(advanced, dict):
            return (f"advancedConfiguration is required for a load balancer when the deployment "
                    f"strategy is {kind}.")
        for name in ADVANCED_FIELDS + ("testListenerRule",):
            if not isinstance(advanced.get(name), str) or not advanced[name]:
                return f"advancedConfiguration.{name} is required for an Application Load Balancer."
        if advanced["alternateTargetGroupArn"] == entry["targetGroupArn"]:
            return "The alternate target group must differ from the target group."
    return None


# -- one service deployment over time ----------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of the timeline: from ``start`` at ``stage`` with these weights (the
    new revision's share of production and test traffic); ``hook``: a PAUSE hook
    awaiting action from ``start`` until ``expires_at``."""

    start: float
    stage: str
    production: float
    test: float
    hook: Hook | None = None
    hook_id: str = ""
    expires_at: float | None = None


@dataclass
class Decision:
    """A ContinueServiceDeployment on a hook (CONTINUE or ROLLBACK) at ``at``."""

    hook_id: str
    action: str
    at: float


@dataclass(frozen=True)
class View:
    """A service deployment at one time."""

    status: str
    stage: str
    production: float
    test: float
    updated_at: float
    awaiting: Segment | None = None
    finished_at: float | None = None
    rollback_reason: str | None = None
    rollback_at: float | None = None
    # Hooks that timed out by then: hook id -> the action taken.
    timed_out: tuple[str, ...] = ()
    cleaned_up: bool = False


@dataclass
class Run:
    """One blue/green, canary or linear service deployment.

    Inputs, set by the handlers: ``scaled_up_at`` (the new revision's tasks
    all healthy), ``decisions`` (ContinueServiceDeployment), ``rollback``
    (time and reason of the first alarm, breaker trip or stop), ``stop_requested``."""

    arn: str
    strategy: Strategy
    created_at: float
    scale: float = 1.0
    reconcile: bool = False
    scaled_up_at: float | None = None
    decisions: list[Decision] = field(default_factory=list)
    rollback: tuple[float, str] | None = None
    stop_requested: bool = False
    triggered_alarms: tuple[str, ...] = ()

    def hook_id(self, stage: str, step: int) -> str:
        """A hook's id: the same for the same deployment, stage and step."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.arn}/{stage}/{step}"))

    def _minutes(self, minutes: float) -> float:
        return minutes * 60.0 * self.scale

    def timeline(self, now: float) -> tuple[list[Segment], float | None, tuple[float, str] | None]:
        """The segments entered by ``now``; when CLEAN_UP ends (SUCCESSFUL), if by
        ``now``; the rollback a hook's decision or timeout started, if any."""
        segments: list[Segment] = []
        at = self.created_at
        strategy = self.strategy
        production = test = 0.0

        def enter(stage: str, step: int = 0) -> tuple[float, str] | None | bool:
            """Enter ``stage`` at ``at``; wait on its hook. False: not past it by now;
            a (time, reason): the hook rolled back; None: go on (``at`` moved)."""
            nonlocal at
            if at > now:
                return False
            hook = strategy.hook_at(stage)
            if hook is None:
                segments.append(Segment(at, stage, production, test))
                return None
            hook_id = self.hook_id(stage, step)
            expires = at + self._minutes(hook.timeout_minutes)
            segments.append(Segment(at, stage, production, test, hook, hook_id, expires))
            # ``decide`` takes a decision only while the hook awaits action (before it expires).
            decision = next((d for d in self.decisions if d.hook_id == hook_id), None)
            if decision is not None:
                if decision.action == "ROLLBACK":
                    return decision.at, "Lifecycle hook requested rollback"
                at = decision.at
                return None
            if expires > now:
                return False
            if hook.timeout_action == "ROLLBACK":
                return expires, "Lifecycle hook timed out"
            at = expires
            return None

        def wait(seconds: float) -> bool:
            nonlocal at
            at += seconds
            return at <= now

        plan: list[tuple[str, int]] = []
        if self.reconcile:
            plan.append(("RECONCILE_SERVICE", 0))
        plan.append(("PRE_SCALE_UP", 0))
        for stage, step in plan:
            outcome = enter(stage, step)
            if outcome is not None:
                return segments, None, outcome or None
        if at <= now:
            segments.append(Segment(at, "SCALE_UP", production, test))
        if at > now or self.scaled_up_at is None or self.scaled_up_at > now:
            return segments, None, None
        at = max(at, self.scaled_up_at)
        for stage in ("POST_SCALE_UP",):
            outcome = enter(stage)
            if outcome is not None:
                return segments, None, outcome or None
        test = 100.0
        for stage in ("TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT"):
            outcome = enter(stage)
            if outcome is not None:
                return segments, None, outcome or None
        for step, weight in enumerate(strategy.production_steps):
            outcome = enter("PRE_PRODUCTION_TRAFFIC_SHIFT", step)
            if outcome is not None:
                return segments, None, outcome or None
            production = weight
            if enter("PRODUCTION_TRAFFIC_SHIFT", step) is not None:
                return segments, None, None
            if weight < 100.0 and not wait(self._minutes(strategy.step_bake_minutes)):
                return segments, None, None
        for stage in ("POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"):
            outcome = enter(stage)
            if outcome is not None:
                return segments, None, outcome or None
        if not wait(self._minutes(strategy.bake_minutes)):
            return segments, None, None
        if enter("CLEAN_UP") is not None:
            return segments, None, None
        return segments, at, None

    def view(self, now: float) -> View:
        segments, finished, hook_rollback = self.timeline(now)
        rollbacks = [r for r in (self.rollback, hook_rollback) if r is not None]
        if finished is not None:
            rollbacks = [r for r in rollbacks if r[0] < finished]
        timed_out = tuple(s.hook_id for s in segments if s.expires_at is not None
                          and s.expires_at <= now
                          and not any(d.hook_id == s.hook_id and d.at <= s.expires_at
                                      for d in self.decisions))
        if rollbacks:
            at, reason = min(rollbacks)
            before = [s for s in segments if s.start <= at] or segments[:1]
            stage = before[-1].stage if before else "PRE_SCALE_UP"
            done = at + ROLLBACK_SECONDS
            if done <= now:
                return View(ROLLBACK_SUCCESSFUL, stage, 0.0, 0.0, done, finished_at=done,
                            rollback_reason=reason, rollback_at=at, timed_out=timed_out)
            status = STOP_REQUESTED if self.stop_requested else ROLLBACK_IN_PROGRESS
            return View(status, stage, 0.0, 0.0, at, rollback_reason=reason, rollback_at=at,
                        timed_out=timed_out)
        if finished is not None:
            return View(SUCCESSFUL, "CLEAN_UP", 100.0, 100.0, finished, finished_at=finished,
                        timed_out=timed_out, cleaned_up=True)
        if not segments:
            return View(PENDING, "PRE_SCALE_UP", 0.0, 0.0, self.created_at)
        last = segments[-1]
        awaiting = last if last.hook is not None and (last.expires_at or 0) > now else None
        return View(IN_PROGRESS, last.stage, last.production, last.test, last.start,
                    awaiting=awaiting, timed_out=timed_out,
                    cleaned_up=last.stage == "CLEAN_UP")

    def decide(self, hook_id: str, action: str, now: float) -> None:
        """ContinueServiceDeployment; Refused unless the hook awaits action now."""
        if action not in ("CONTINUE", "ROLLBACK"):
            raise Refused(f"Invalid action: {action}.")
        awaiting = self.view(now).awaiting
        if awaiting is None or awaiting.hook_id != hook_id:
            raise Refused(f"The lifecycle hook {hook_id} is not awaiting action.")
        self.decisions.append(Decision(hook_id, action, now))

    def start_rollback(self, now: float, reason: str, alarms: tuple[str, ...] = ()) -> bool:
        """Roll back at ``now`` (the first cause wins); False if already final."""
        view = self.view(now)
        if view.status in FINAL or view.rollback_at is not None:
            return False
        self.rollback = (now, reason)
        self.triggered_alarms = alarms
        return True

    def stop(self, now: float) -> None:
        """StopServiceDeployment ROLLBACK; Refused for a final deployment."""
        if not self.start_rollback(now, "Service deployment stopped by user"):
            raise Refused("The service deployment is already in a terminal state.")
        self.stop_requested = True
