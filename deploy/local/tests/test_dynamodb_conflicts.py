"""DynamoDB transaction conflicts, with boto3 against emulator.py (emulated).

moto (and the layer before it) serialized every request behind one lock, so
concurrent transactions on one item never conflicted. DynamoDB cancels them
("Transaction conflict handling in DynamoDB", transaction-apis.html). The
emulator here holds each TransactWriteItems open for
FERRY_EMULATOR_TRANSACTION_SECONDS, so a second request can meet it in
flight.
"""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import start_emulator

HOLD = 1.5
TABLE = "conflicts"


@pytest.fixture(scope="module")
def held(emulator_with):
    emu = emulator_with("held", {"FERRY_EMULATOR_TRANSACTION_SECONDS": str(HOLD)})
    emu.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}])
    return emu


def key(name: str) -> dict:
    return {"pk": {"S": "app"}, "sk": {"S": name}}


def put(name: str, value: str) -> dict:
    return {"Put": {"TableName": TABLE, "Item": {**key(name), "v": {"S": value}}}}


def value_of(ddb, name: str) -> str | None:
    item = ddb.get_item(TableName=TABLE, Key=key(name), ConsistentRead=True).get("Item")
    return item["v"]["S"] if item else None


def in_flight(emu, items: list[dict]) -> tuple[threading.Thread, list]:
    """Start a transaction in a thread; return once it is (surely) held."""
    outcome: list = []
    client = emu.client("dynamodb")  # made here: a boto3 client takes a while to build

    def run() -> None:
        try:
            outcome.append(client.transact_write_items(TransactItems=items))
        except ClientError as err:  # pragma: no cover - reported by the assertion
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(HOLD / 3)
    return thread, outcome


def test_a_transaction_meeting_one_in_flight_is_cancelled_with_transaction_conflict(held):
    ddb = held.client("dynamodb")
    thread, outcome = in_flight(held, [put("a", "first"), put("b", "first")])
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(TransactItems=[put("c", "second"), put("a", "second")])
    thread.join()
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert error["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, TransactionConflict]")
    # The shape ferry-store's classify_cancellation reads: one reason per
    # item, in request order, code "None" where nothing went wrong.
    assert error["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
    assert not isinstance(outcome[0], Exception)
    assert (value_of(ddb, "a"), value_of(ddb, "b"), value_of(ddb, "c")) == ("first", "first", None)


def test_single_item_writes_get_transaction_conflict_exception_and_reads_see_the_old_item(held):
    ddb = held.client("dynamodb")
    ddb.put_item(TableName=TABLE, Item={**key("d"), "v": {"S": "old"}})
    thread, outcome = in_flight(held, [put("d", "new")])
    for call in (
        lambda: ddb.put_item(TableName=TABLE, Item={**key("d"), "v": {"S": "mine"}}),
        lambda: ddb.update_item(TableName=TABLE, Key=key("d"), UpdateExpression="SET v = :v",
                                ExpressionAttributeValues={":v": {"S": "mine"}}),
        lambda: ddb.delete_item(TableName=TABLE, Key=key("d")),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "TransactionConflictException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert value_of(ddb, "d") == "old"  # not applied yet: reads see the committed item
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key("d")}}])
    assert excinfo.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert excinfo.value.response["CancellationReasons"][0]["Code"] == "TransactionConflict"
    # Other items are not held.
    ddb.put_item(TableName=TABLE, Item={**key("e"), "v": {"S": "free"}})
    thread.join()
    assert not isinstance(outcome[0], Exception)
    assert value_of(ddb, "d") == "new"
    ddb.put_item(TableName=TABLE, Item={**key("d"), "v": {"S": "after"}})  # released
    assert value_of(ddb, "d") == "after"


def test_a_held_transaction_stays_all_or_nothing(held):
    ddb = held.client("dynamodb")
    ddb.put_item(TableName=TABLE, Item={**key("g"), "v": {"S": "1"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(TransactItems=[
            put("f", "written?"),
            {"ConditionCheck": {"TableName": TABLE, "Key": key("g"),
                                "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert [r["Code"] for r in excinfo.value.response["CancellationReasons"]] == [
        "None", "ConditionalCheckFailed"]
    assert value_of(ddb, "f") is None
    ddb.put_item(TableName=TABLE, Item={**key("f"), "v": {"S": "free"}})  # released too


def test_without_a_hold_nothing_conflicts(emulator):
    """The default (0): transactions are applied at once, under the lock."""
    ddb = emulator.client("dynamodb")
    ddb.create_table(TableName="nohold", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    errors: list = []

    def write(i: int) -> None:
        try:
            emulator.client("dynamodb").transact_write_items(TransactItems=[{"Put": {
                "TableName": "nohold", "Item": {"pk": {"S": "x"}, "n": {"N": str(i)}}}}])
        except ClientError as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_unusable_hold_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="FERRY_EMULATOR_TRANSACTION_SECONDS must be"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_TRANSACTION_SECONDS": "-1"})
