"""A small evaluator of IAM identity policies, for replaying requests.

The local AWS evaluates no IAM. The request log records, for each request,
the IAM actions AWS would authorize, with the resource and the condition
context of each (``authz.py``); this module decides whether a policy allows
one such authorization, following AWS's policy evaluation logic for a
principal in its own account with identity-based policies only (no
resource policy, permissions boundary, SCP or session policy):

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html

* Every request is denied by default; an ``Allow`` statement that applies
  allows it; a ``Deny`` statement that applies wins over every Allow.
* A statement applies when its ``Action`` (or ``NotAction``), its
  ``Resource`` (or ``NotResource``) and every condition match.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
* Actions match case-insensitively, with ``*`` and ``?`` wildcards.
  Resources match case-sensitively: ``*`` alone matches everything; an ARN
  pattern is matched component by component (``arn:partition:service:
  region:account:resource``), each component with ``*`` (any run of
  characters, ``/`` and ``:`` included in the last) and ``?`` (one
  character).
* Conditions (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_logic_multiple_context_keys_or_values.html):
  all operators of a statement must match (AND), all keys of an operator
  (AND), and a key matches when any of the policy's values matches (OR).
  Condition key names are case-insensitive.
* Operators (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
  Arn{Equals,Like,NotEquals,NotLike}, Numeric*, Bool, Null, each with the
  ``IfExists`` suffix (a missing key then matches) but Null. A key absent
  from the request context makes a positive operator false and a negated
  one (``...Not...``) true.
* Set operators (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html):
  ``ForAllValues:`` is true when every value of the context key matches
  some policy value, and so true for a missing key or an empty set;
  ``ForAnyValue:`` when at least one does, and so false for a missing key
  or an empty set. A plain operator given a multivalued context key is
  treated as ``ForAnyValue`` (for a negated operator: no value matches).
* ``Null``: ``"true"`` matches when the key is absent (or an empty set),
  ``"false"`` when it is present.

Anything else (an unknown operator, a policy variable, a Date operator)
raises ``PolicyError``: the caller reports it, never takes it as a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ALLOW = "Allow"
DENY = "Deny"


class PolicyError(ValueError):
    """The policy uses something this evaluator does not know."""


@dataclass
class Request:
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    allowed: bool
    # "explicit-deny", "allow" or "implicit-deny"
    reason: str
    # The Sid (or index) of the statement that decided: the Deny that
    # matched, the Allow that matched, or for an implicit deny the Allow
    # statement that came closest, with what did not match in it.
    statement: str | None = None
    mismatches: list[str] = field(default_factory=list)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.S | (re.I if ignore_case else 0))


def _check_no_variables(pattern: str) -> None:
    if "${" in pattern:
        raise PolicyError(f"policy variables are not supported: {pattern!r}")


def action_matches(pattern: str, action: str) -> bool:
    """Case-insensitive, with ``*`` and ``?``."""
    return _glob(pattern, ignore_case=True).fullmatch(action) is not None


def arn_matches(pattern: str, value: str) -> bool:
    """An ARN pattern (or ``*``) against a resource, per component, case-sensitive."""
    _check_no_variables(pattern)
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        if pattern.startswith("arn:") or value.startswith("arn:"):
            # An ARN against a pattern of another shape: the components
            # do not line up, so nothing matches.
            return False
        return _glob(pattern).fullmatch(value) is not None
    return all(_glob(p).fullmatch(v) is not None for p, v in zip(pattern_parts, value_parts))


# -- conditions ----------------------------------------------------------------

def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _string_like(policy: str, value: str) -> bool:
    _check_no_variables(policy)
    return _glob(policy).fullmatch(value) is not None


def _numeric(compare):
    def match(policy: str, value: str) -> bool:
        try:
            return compare(float(value), float(policy))
        except (TypeError, ValueError):
            return False
    return match


def _bool(policy: str, value: str) -> bool:
    return str(policy).lower() == str(value).lower()


# operator -> (match one policy value against one context value, negated)
_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (arn_matches, False),
    "ArnLike": (arn_matches, False),
    "ArnNotEquals": (arn_matches, True),
    "ArnNotLike": (arn_matches, True),
    "NumericEquals": (_numeric(lambda v, p: v == p), False),
    "NumericNotEquals": (_numeric(lambda v, p: v == p), True),
    "NumericLessThan": (_numeric(lambda v, p: v < p), False),
    "NumericLessThanEquals": (_numeric(lambda v, p: v <= p), False),
    "NumericGreaterThan": (_numeric(lambda v, p: v > p), False),
    "NumericGreaterThanEquals": (_numeric(lambda v, p: v >= p), False),
    "Bool": (_bool, False),
}


def _lookup(context: Mapping[str, Any], key: str) -> tuple[bool, list[str]]:
    """(present, values) of a context key; names compare case-insensitively."""
    wanted = key.lower()
    for name, value in context.items():
        if name.lower() == wanted:
            if value is None:
                return False, []
            return True, [_text(v) for v in _as_list(value)]
    return False, []


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_multivalued(context: Mapping[str, Any], key: str) -> bool:
    wanted = key.lower()
    return any(name.lower() == wanted and isinstance(value, (list, tuple))
               for name, value in context.items())


def condition_matches(operator: str, key: str, policy_values: Any,
                      context: Mapping[str, Any]) -> bool:
    """One key of one condition operator against a request context."""
    qualifier = None
    name = operator
    if ":" in name:
        qualifier, name = name.split(":", 1)
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            raise PolicyError(f"unknown set operator {qualifier!r}")
    if_exists = name.endswith("IfExists")
    if if_exists:
        name = name[: -len("IfExists")]
    wanted = [_text(v) for v in _as_list(policy_values)]
    present, values = _lookup(context, key)

    if name == "Null":
        if if_exists or qualifier:
            raise PolicyError(f"{operator} is not a valid operator")
        is_null = not present or not values
        return any((w.lower() == "true") == is_null for w in wanted)

    if name not in _OPERATORS:
        raise PolicyError(f"unsupported condition operator {operator!r}")
    match, negated = _OPERATORS[name]

    def one(value: str) -> bool:
        # A negated operator matches a value that matches none of the
        # policy's values; a positive one a value that matches any.
        hit = any(match(w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if not present:
        # IfExists: a missing key matches. Otherwise a positive operator
        # is false and a negated one true.
        return True if if_exists else negated
    if _is_multivalued(context, key) and len(values) != 1:
        if not values:
            return negated
        return all(one(v) for v in values) if negated else any(one(v) for v in values)
    return one(values[0])


def conditions_mismatching(conditions: Mapping[str, Any] | None,
                           context: Mapping[str, Any]) -> list[str]:
    """The ``operator key`` pairs of a statement's Condition block that do not match."""
    failed = []
    for operator, keys in (conditions or {}).items():
        if not isinstance(keys, Mapping):
            raise PolicyError(f"condition {operator!r} must map keys to values")
        for key, values in keys.items():
            if not condition_matches(operator, key, values, context):
                present, actual = _lookup(context, key)
                failed.append(f"{operator} {key} {_as_list(values)!r} "
                              f"(request: {actual if present else 'absent'})")
    return failed


# -- statements and policies -----------------------------------------------------

def statement_mismatches(statement: Mapping[str, Any], request: Request) -> list[str]:
    """Why a statement does not apply to a request; empty when it applies."""
    out = []
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in _as_list(statement["Action"])):
            out.append(f"Action does not include {request.action}")
    elif "NotAction" in statement:
        if any(action_matches(p, request.action) for p in _as_list(statement["NotAction"])):
            out.append(f"NotAction excludes {request.action}")
    else:
        raise PolicyError("a statement needs Action or NotAction")
    if "Resource" in statement:
        if not any(arn_matches(p, request.resource) for p in _as_list(statement["Resource"])):
            out.append(f"Resource does not include {request.resource}")
    elif "NotResource" in statement:
        if any(arn_matches(p, request.resource) for p in _as_list(statement["NotResource"])):
            out.append(f"NotResource excludes {request.resource}")
    else:
        raise PolicyError("a statement needs Resource or NotResource")
    out.extend(conditions_mismatching(statement.get("Condition"), request.context))
    return out


def statements_of(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out = []
    for policy in policies:
        for statement in _as_list(policy.get("Statement")):
            if statement.get("Effect") not in (ALLOW, DENY):
                raise PolicyError(f"statement {statement.get('Sid')!r}: Effect must be Allow or Deny")
            out.append(statement)
    return out


def evaluate(policies: Mapping[str, Any] | Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """Whether identity policies allow a request (explicit deny, then allow,
    else the implicit deny)."""
    if isinstance(policies, Mapping):
        policies = [policies]
    statements = statements_of(policies)
    labelled = [(s.get("Sid") or f"#{i}", s) for i, s in enumerate(statements)]
    for sid, statement in labelled:
        if statement["Effect"] == DENY and not statement_mismatches(statement, request):
            return Decision(False, "explicit-deny", sid)
    closest: tuple[int, str, list[str]] | None = None
    for sid, statement in labelled:
        if statement["Effect"] != ALLOW:
            continue
        mismatches = statement_mismatches(statement, request)
        if not mismatches:
            return Decision(True, "allow", sid)
        # Closest: of the statements for this action, the one with the
        # fewest misses (none when no statement names the action).
        if any(m.startswith(("Action ", "NotAction ")) for m in mismatches):
            continue
        if closest is None or len(mismatches) < closest[0]:
            closest = (len(mismatches), sid, mismatches)
    if closest is None:
        return Decision(False, "implicit-deny")
    return Decision(False, "implicit-deny", closest[1], closest[2])
