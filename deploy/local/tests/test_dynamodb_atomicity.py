"""DynamoDB conditional writes are atomic through the emulation layer.

Many threads race the same conditional update; DynamoDB lets exactly one
win. Without ``ferry_emulation.dynamodb`` moto lets several through.
"""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError


def test_racing_conditional_writes_have_exactly_one_winner(emulator):
    ddb = emulator.client("dynamodb")
    table = "atomicity"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    for round_ in range(10):
        key = f"item-{round_}"
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "generation": {"N": "1"}})
        wins: list[int] = []
        conflicts: list[int] = []
        barrier = threading.Barrier(8)

        def write(i: int) -> None:
            client = emulator.client("dynamodb")
            barrier.wait()
            try:
                client.transact_write_items(TransactItems=[{
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": key}, "generation": {"N": "2"},
                                 "writer": {"N": str(i)}},
                        "ConditionExpression": "generation = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }])
                wins.append(i)
            except ClientError as err:
                assert err.response["Error"]["Code"] == "TransactionCanceledException"
                conflicts.append(i)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1, f"round {round_}: winners {wins}"
        assert len(conflicts) == 7
        item = ddb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
        assert item["writer"]["N"] == str(wins[0])


def test_a_cancelled_transaction_changes_nothing(emulator):
    """TransactWriteItems is all or nothing: when one item's condition fails,
    the writes of the items before it are undone (DynamoDB developer guide,
    "TransactWriteItems": "either all of them succeed or none of them
    succeeds"). The layer rolls back only the items a transaction names, so
    this also checks that it restores puts, updates and deletes."""
    ddb = emulator.client("dynamodb")
    table = "rollback"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    key = lambda name: {"pk": {"S": "app"}, "sk": {"S": name}}  # noqa: E731
    ddb.put_item(TableName=table, Item={**key("kept"), "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**key("deleted"), "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**key("guard"), "v": {"N": "1"}})
    try:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**key("new"), "v": {"N": "1"}}}},
            {"Update": {"TableName": table, "Key": key("kept"),
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Delete": {"TableName": table, "Key": key("deleted")}},
            {"ConditionCheck": {"TableName": table, "Key": key("guard"),
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    except ClientError as e:
        assert e.response["Error"]["Code"] == "TransactionCanceledException"
    else:
        raise AssertionError("the transaction should have been cancelled")
    items = ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "app"}})["Items"]
    assert sorted((i["sk"]["S"], i["v"]["N"]) for i in items) == [
        ("deleted", "1"), ("guard", "1"), ("kept", "1")]


def test_a_transaction_repeated_with_its_client_token_is_done_once(emulator):
    """TransactWriteItems with a ClientRequestToken is idempotent: a repeat
    within 10 minutes of a success succeeds without writing again, and a
    repeat with other parameters is refused with
    IdempotentParameterMismatchException (DynamoDB API reference,
    TransactWriteItems, ClientRequestToken)."""
    ddb = emulator.client("dynamodb")
    table = "idempotent"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    put = {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}, "n": {"N": "1"}},
                   "ConditionExpression": "attribute_not_exists(pk)"}}
    bump = {"Update": {"TableName": table, "Key": {"pk": {"S": "count"}},
                       "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}
    token = "ferry-test-token-1"
    ddb.transact_write_items(TransactItems=[put, bump], ClientRequestToken=token)
    # The answer was lost; the client sends the same request again.
    ddb.transact_write_items(TransactItems=[put, bump], ClientRequestToken=token)
    count = ddb.get_item(TableName=table, Key={"pk": {"S": "count"}})["Item"]["n"]["N"]
    assert count == "1", "the repeat wrote nothing"

    other = {**put, "Put": {**put["Put"], "Item": {"pk": {"S": "b"}}}}
    try:
        ddb.transact_write_items(TransactItems=[other], ClientRequestToken=token)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    else:
        raise AssertionError("a different request with the same token must be refused")

    # Without a token of its own each call is new: the condition fails.
    try:
        ddb.transact_write_items(TransactItems=[put], ClientRequestToken="ferry-test-token-2")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "TransactionCanceledException"
    else:
        raise AssertionError("a new token is a new transaction")
