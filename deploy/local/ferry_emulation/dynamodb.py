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
"""

from __future__ import annotations

import threading
from typing import Any

SERVICE = "dynamodb"

_lock = threading.Lock()


def serialize(request: Any, forward: Any) -> Any:
    with _lock:
        return forward(request)


def register(layer: Any) -> None:
    layer.register(SERVICE, "*", serialize)
