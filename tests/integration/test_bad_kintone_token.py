"""A kintone token stored by hand with a trailing line break, through the real functions:
the lookup answers its 500 configuration_error, the deliverer backs the message off like
any configuration error, and no log line holds the token."""

from __future__ import annotations

import json
import logging

import boto3
import pytest

from tests.function_log import function_log
from tests.integration.test_deliver_function import Context as DeliverContext
from tests.integration.test_deliver_function import batch_event, deliver, records
from tests.integration.test_lookup_function import handler, invoke

pytestmark = pytest.mark.emulator

__all__ = ["deliver", "handler"]  # fixtures of the functions' own tests, reused as they are


@pytest.fixture
def stored_token(moto_url):
    """Puts a token into a secret for one test; the seeded good one is back afterwards."""
    sm = boto3.client("secretsmanager", endpoint_url=moto_url)
    restore: list[tuple[str, str]] = []

    def put(name: str, token: str) -> None:
        good = sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
        restore.append((name, good))
        sm.put_secret_value(
            SecretId=name, SecretString=json.dumps({"kind": "kintone-token", "token": token})
        )

    yield put
    for name, good in reversed(restore):
        sm.put_secret_value(SecretId=name, SecretString=good)


def everything_logged(caplog, log) -> str:
    records = json.dumps([vars(r) for r in caplog.records], ensure_ascii=False, default=str)
    return records + log.text


def test_a_lookup_with_a_token_stored_with_a_line_break_is_a_configuration_error(
    handler, stored_token, caplog
):
    stored_token("sekisho/kintone/deals-view", "deals-view-token\n")
    caplog.set_level(logging.INFO)
    with function_log() as log:
        status, headers, body = invoke(handler, "lookup_valid.json")
    assert (status, body["code"]) == (500, "configuration_error")
    assert "detail" not in body
    assert headers["Cache-Control"] == "no-store"
    [failed] = log.named("request failed")
    assert failed["error"] == "SecretMalformed"
    assert "sekisho/kintone/deals-view" in failed["detail"]
    assert "deals-view-token" not in everything_logged(caplog, log)


def test_a_delivery_with_a_token_stored_with_a_line_break_is_backed_off_and_not_logged(
    deliver, stored_token, caplog
):
    stored_token("sekisho/kintone/seminar-add", "seminar-add-token\n")
    caplog.set_level(logging.INFO)
    deliver.send(batch_event()["Records"][0]["body"])
    batch = deliver.receive()
    with function_log() as log:
        response = deliver.handler({"Records": batch}, DeliverContext())
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [batch[0]["messageId"]]
    # The queue's own visibility timeout is 0: only the backoff keeps it out of sight.
    assert deliver.receive() == []
    assert records(deliver.kintone) == []
    [failed] = log.named("delivery failed")
    assert failed["error"] == "SecretMalformed"
    assert "sekisho/kintone/seminar-add" in failed["detail"]
    assert "seminar-add-token" not in everything_logged(caplog, log)
