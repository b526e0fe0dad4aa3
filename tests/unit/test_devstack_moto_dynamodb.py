"""moto's DynamoDB as the local stack fits it: each expression parsed once, the answers
and errors of every call unchanged, request ids drawn in one go."""

from __future__ import annotations

import re

import boto3
import moto.core.responses
import moto.utilities.aws_headers
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from devstack import moto_dynamodb
from sekisho.guard.dynamodb import DynamoGuardStore

TABLE = "guard"


@pytest.fixture
def fitted():
    # fit() changes moto for the whole process: put it back for the other tests.
    parse = ConditionExpressionParser.__dict__["parse"]
    make = UpdateExpressionParser.__dict__["make"]
    request_ids = moto.utilities.aws_headers.gen_amzn_requestid_long
    moto_dynamodb.fit()
    try:
        yield
    finally:
        ConditionExpressionParser.parse = parse
        UpdateExpressionParser.make = make
        moto.core.responses.gen_amzn_requestid_long = request_ids
        moto.utilities.aws_headers.gen_amzn_requestid_long = request_ids


@pytest.fixture
def dynamodb(fitted):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_a_guard_counter_counts_to_its_limit_and_no_further_with_parses_kept(dynamodb):
    store = DynamoGuardStore(TABLE, dynamodb, clock=lambda: 1_000)
    counts = [store.increment("ip#a", limit=3, expires_at=5_000) for _ in range(5)]
    assert counts == [1, 2, 3, None, None]


def test_an_expired_counter_restarts_though_its_condition_was_parsed_before(dynamodb):
    now = [1_000]
    store = DynamoGuardStore(TABLE, dynamodb, clock=lambda: now[0])
    assert store.increment("ip#b", limit=1, expires_at=1_010) == 1
    assert store.increment("ip#b", limit=1, expires_at=1_010) is None
    now[0] = 2_000
    assert store.increment("ip#b", limit=1, expires_at=2_010) == 1


@pytest.mark.parametrize("attempt", [1, 2])
def test_an_unused_attribute_name_is_refused_on_every_call_not_only_the_first(dynamodb, attempt):
    for _ in range(attempt):
        with pytest.raises(ClientError, match="unused"):
            dynamodb.put_item(
                TableName=TABLE,
                Item={"pk": {"S": "x"}},
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeNames={"#unused": "n"},
            )


def test_a_query_with_a_kept_filter_still_checks_its_projection_names_each_time(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "q"}, "n": {"N": "1"}})
    for _ in range(3):
        answer = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            FilterExpression="#n >= :one",
            ProjectionExpression="pk, #n",
            ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":pk": {"S": "q"}, ":one": {"N": "1"}},
        )
        assert answer["Items"] == [{"pk": {"S": "q"}, "n": {"N": "1"}}]


def test_a_condition_that_does_not_parse_fails_every_time(dynamodb):
    for _ in range(2):
        # In-process moto raises its parser's ValueError; its server answers it as a 400.
        with pytest.raises((ClientError, ValueError)):
            dynamodb.put_item(
                TableName=TABLE,
                Item={"pk": {"S": "y"}},
                ConditionExpression="attribute_not_exists(",
            )


def test_request_ids_are_52_letters_or_digits_each_its_own_and_set_in_the_headers():
    headers: dict[str, str] = {}
    first = moto_dynamodb.request_id(headers)
    assert re.fullmatch(r"[A-Za-z0-9]{52}", first)
    assert headers == {"x-amzn-requestid": first}
    assert len({moto_dynamodb.request_id() for _ in range(100)}) == 100
