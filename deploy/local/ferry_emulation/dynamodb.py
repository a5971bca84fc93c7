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
relies on exactly that guarantee, so this layer runs every DynamoDB request
against moto one at a time (``locks.DYNAMODB``).

Transaction conflicts
---------------------
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html
("Transaction conflict handling in DynamoDB"): concurrent item-level
requests conflict when a PutItem, UpdateItem or DeleteItem names an item an
ongoing TransactWriteItems includes, when an item of a TransactWriteItems
is part of another ongoing TransactWriteItems, and when an item of a
TransactGetItems is part of an ongoing TransactWriteItems.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
(TransactionCanceledException): "There is an ongoing TransactWriteItems
operation that conflicts with a concurrent TransactWriteItems request. In
this case the TransactWriteItems operation fails with a
TransactionCanceledException." The cancellation reasons are in request
order, code ``None`` for the items without an error.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
(likewise UpdateItem, DeleteItem): TransactionConflictException,
"Operation was rejected because there is an ongoing transaction for the
item.", HTTP 400.

A TransactWriteItems here holds the items it names (table and primary key,
read from DescribeTable) from the moment it is accepted until it has been
applied. While they are held:

* another TransactWriteItems naming any of them is cancelled, not
  executed: TransactionCanceledException, reason ``TransactionConflict``
  (message ``Transaction is ongoing for the item``) at each conflicting
  index, ``None`` at the others; message ``Transaction cancelled, please
  refer cancellation reasons for specific reasons [None,
  TransactionConflict]`` (moto's shape for its own cancellations:
  ``CancellationReasons`` with ``Code`` and ``Message``);
* a PutItem, UpdateItem or DeleteItem of one of them fails with
  TransactionConflictException and is not executed;
* a TransactGetItems naming one of them is cancelled the same way.

Reads (GetItem, Query, Scan) see the items as they were: a transaction is
applied in one step under the lock. Conditions are evaluated then, so the
atomicity above is unchanged.

Without a hold a transaction is applied at once, under the lock, and no
other request can see it in flight: nothing conflicts, exactly as before.
``FERRY_EMULATOR_TRANSACTION_SECONDS`` (environment, default 0, read when
the emulator starts) holds every TransactWriteItems open that long before
it is applied (outside the lock: other requests go on meanwhile), which is
how tests, and anyone who wants to see how Ferry handles conflicts, make
them happen. DynamoDB's own transactions take milliseconds; a hold of a
few hundred milliseconds makes conflicts between concurrent writers
frequent, which only AWS under contention would do. BatchWriteItem is not
checked against held items (AWS's page does not say what it gets).

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
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import envsettings, locks
from .wire import json_error, json_response

SERVICE = "dynamodb"
CONTENT_TYPE = "application/x-amz-json-1.0"
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


#: How long DynamoDB remembers a client request token.
IDEMPOTENCY_WINDOW_SECONDS = 600.0

#: Token -> (when it succeeded, the request's other parameters, the answer).
_answered: dict[str, tuple[float, str, Any]] = {}


def idempotent_transactions(request: Any, forward: Any) -> Any:
    """TransactWriteItems with a ClientRequestToken, as DynamoDB runs it.

    Runs inside the lock ``Transactions`` takes to apply a transaction
    (registered after it), so a token's check and its first execution are
    one step."""
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


# -- transaction conflicts (see the module docstring) --------------------------------

HOLD_ENV = "FERRY_EMULATOR_TRANSACTION_SECONDS"
CONFLICT = "TransactionConflict"
CONFLICT_MESSAGE = "Transaction is ongoing for the item"
SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def hold_seconds(environ: Mapping[str, str] = os.environ) -> float:
    return envsettings.seconds(environ, HOLD_ENV, 0.0)


ItemId = tuple[str, str]


def canceled(codes: list[str | None]) -> Any:
    """TransactionCanceledException with one reason per item, in request order."""
    reasons = [{"Code": code, "Message": CONFLICT_MESSAGE} if code else {"Code": "None"}
               for code in codes]
    message = ("Transaction cancelled, please refer cancellation reasons for specific "
               f"reasons [{', '.join(code or 'None' for code in codes)}]")
    return json_response(400, {"__type": ERROR_PREFIX + "TransactionCanceledException",
                               "CancellationReasons": reasons, "Message": message}, CONTENT_TYPE)


def conflict() -> Any:
    return json_response(400, {"__type": ERROR_PREFIX + "TransactionConflictException",
                               "message": "Operation was rejected because there is an ongoing "
                                          "transaction for the item."}, CONTENT_TYPE)


class Transactions:
    """The items of the TransactWriteItems in flight, and the requests they turn away."""

    def __init__(self, hold: float, sleep: Callable[[float], None] = time.sleep):
        self.hold = hold
        self.sleep = sleep
        self.held: set[ItemId] = set()

    # Called with locks.DYNAMODB held.
    def _key_names(self, request: Any, forward: Any, table: str,
                   schemas: dict[str, list[str] | None]) -> list[str] | None:
        if table not in schemas:
            response = forward(request.with_operation("DescribeTable", {"TableName": table}))
            names = None
            if response.status == 200:
                schema = (response.json().get("Table") or {}).get("KeySchema") or []
                names = [k["AttributeName"] for k in schema if isinstance(k, dict)
                         and isinstance(k.get("AttributeName"), str)] or None
            schemas[table] = names
        return schemas[table]

    def item_id(self, request: Any, forward: Any, action: Any,
                schemas: dict[str, list[str] | None]) -> ItemId | None:
        """(table, key) of one action (Put, Update, Delete, ConditionCheck, Get, or a
        single-item request's parameters), or None where it cannot be told."""
        if not isinstance(action, dict) or not isinstance(action.get("TableName"), str):
            return None
        table = action["TableName"]
        names = self._key_names(request, forward, table, schemas)
        source = action.get("Key") if isinstance(action.get("Key"), dict) else action.get("Item")
        if names is None or not isinstance(source, dict) or not all(n in source for n in names):
            return None
        key = {n: source[n] for n in names}
        return table, json.dumps(key, sort_keys=True)

    def _transact_ids(self, request: Any, forward: Any) -> list[ItemId | None]:
        entries = request.json().get("TransactItems")
        schemas: dict[str, list[str] | None] = {}
        ids: list[ItemId | None] = []
        for entry in entries if isinstance(entries, list) else []:
            action = next(iter(entry.values()), None) if isinstance(entry, dict) and entry else None
            ids.append(self.item_id(request, forward, action, schemas))
        return ids

    def handle(self, request: Any, forward: Any) -> Any:
        operation = request.operation
        if operation == "TransactWriteItems":
            return self.transact_write(request, forward)
        with locks.DYNAMODB:
            if self.held and operation in SINGLE_WRITES:
                if self.item_id(request, forward, request.json(), {}) in self.held:
                    return conflict()
            if self.held and operation == "TransactGetItems":
                ids = self._transact_ids(request, forward)
                if any(i is not None and i in self.held for i in ids):
                    return canceled([CONFLICT if i is not None and i in self.held else None
                                     for i in ids])
            return forward(request)

    def transact_write(self, request: Any, forward: Any) -> Any:
        with locks.DYNAMODB:
            ids = self._transact_ids(request, forward) if (self.held or self.hold > 0) else []
            if any(i is not None and i in self.held for i in ids):
                return canceled([CONFLICT if i is not None and i in self.held else None
                                 for i in ids])
            if self.hold <= 0:
                return forward(request)
            mine = {i for i in ids if i is not None}
            self.held |= mine
        try:
            self.sleep(self.hold)
        finally:
            with locks.DYNAMODB:
                try:
                    response = forward(request)
                finally:
                    self.held -= mine
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
    layer.register(SERVICE, "*", Transactions(hold_seconds()).handle)
    layer.register(SERVICE, "TransactWriteItems", idempotent_transactions)
