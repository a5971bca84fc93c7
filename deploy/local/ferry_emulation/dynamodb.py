"""DynamoDB: make moto's writes atomic, as DynamoDB's are.

DynamoDB evaluates a ConditionExpression and applies the write as one
atomic step, and TransactWriteItems is serializable with every other write
("Amazon DynamoDB Transactions: How it works",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html,
section "Isolation levels for DynamoDB transactions": TransactWriteItems is
serializable with PutItem, UpdateItem, DeleteItem and other transactions).

moto's server runs requests on threads and its DynamoDB backend takes no
lock, so two concurrent conditional writes can both pass their condition and
both write: a lost update that real DynamoDB never allows. Ferry's apply
relies on exactly that guarantee, so this layer runs DynamoDB requests one
at a time.

moto's TransactWriteItems also keeps a deep copy of every table a
transaction names, once per item, to roll back a failed transaction. With
thousands of items that costs ~90 ms per transaction and, at the rate a
controller writes status, gigabytes of memory. DynamoDB itself isolates a
transaction per item, and only the items a transaction names can change,
so this layer saves and restores just those items instead
(``_item_rollback``); what a client sees is the same.

moto ignores TransactWriteItems' ``ClientRequestToken``. DynamoDB honours
it: "Providing a ClientRequestToken makes the call to TransactWriteItems
idempotent, meaning that multiple identical calls have the same effect as
one single call" -- a repeat within 10 minutes of a call that succeeded
"returns successfully without making any changes", and a repeat with other
parameters fails with ``IdempotentParameterMismatchException``
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#DDB-TransactWriteItems-request-ClientRequestToken,
and "Idempotency" in
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
Without it, a transaction that committed and whose answer was lost (a
connection reset after execution, ``faults.py``) would fail its own
conditions when the client sends it again. ``idempotent_transactions``
keeps the successful answers by token, for 10 minutes.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

from .wire import json_error

SERVICE = "dynamodb"

_lock = threading.Lock()

#: How long DynamoDB remembers a client request token.
IDEMPOTENCY_WINDOW_SECONDS = 600.0

#: Token -> (when it succeeded, the request's other parameters, the answer).
_answered: dict[str, tuple[float, str, Any]] = {}


def serialize(request: Any, forward: Any) -> Any:
    with _lock:
        return forward(request)


def idempotent_transactions(request: Any, forward: Any) -> Any:
    """TransactWriteItems with a ClientRequestToken, as DynamoDB runs it.

    Runs inside ``serialize``'s lock (registered after it), so a token's
    check and its first execution are one step."""
    params = request.json()
    token = params.get("ClientRequestToken")
    if not isinstance(token, str) or not token:
        return forward(request)
    rest = json.dumps({k: v for k, v in params.items() if k != "ClientRequestToken"},
                      sort_keys=True)
    now = time.monotonic()
    for old in [t for t, (at, _, _) in _answered.items() if now - at > IDEMPOTENCY_WINDOW_SECONDS]:
        del _answered[old]
    seen = _answered.get(token)
    if seen is not None:
        _, parameters, answer = seen
        if parameters != rest:
            return json_error(400, "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                              "The request uses the same client token as a previous, but "
                              "non-identical request.",
                              content_type="application/x-amz-json-1.0")
        return answer
    response = forward(request)
    if response.status == 200:
        _answered[token] = (now, rest, response)
    return response


class _TablesByReference:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a
    table is "copied" by reference (the rollback below restores its items),
    anything else as ``copy`` does."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _named_items(backend: Any, transact_items: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table name, key) of every item a transaction names, where it can be told."""
    named = []
    for entry in transact_items:
        if not isinstance(entry, dict):
            continue
        for op in entry.values():
            if not isinstance(op, dict):
                continue
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key")
            if key is None:
                attrs = op.get("Item") or {}
                names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
                if not all(n in attrs for n in names):
                    continue
                key = {n: attrs[n] for n in names}
            named.append((op["TableName"], key))
    return named


def _item_rollback(original: Any) -> Any:
    def transact_write_items(self: Any, transact_items: list[Any]) -> None:
        saved = []
        for table_name, key in _named_items(self, transact_items):
            try:
                item = self.get_item(table_name, key)
            except Exception:  # an invalid key: moto reports it below
                continue
            saved.append((table_name, key, copy.deepcopy(item)))
        try:
            original(self, transact_items)
        except BaseException:
            for table_name, key, item in reversed(saved):
                if item is None:
                    self.tables[table_name].delete_item(
                        *_hash_and_range(self.tables[table_name], key))
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise

    return transact_write_items


def _hash_and_range(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


_installed = False


def _install_item_rollback() -> None:
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models

    models.copy = _TablesByReference()  # type: ignore[assignment]
    backend = models.DynamoDBBackend
    backend.transact_write_items = _item_rollback(backend.transact_write_items)  # type: ignore[method-assign]
    _installed = True


def register(layer: Any) -> None:
    _install_item_rollback()
    layer.register(SERVICE, "*", serialize)
    layer.register(SERVICE, "TransactWriteItems", idempotent_transactions)
