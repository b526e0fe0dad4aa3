"""Every events/webhook_*.json through WebhookFunction's handler, against moto (GuardTable,
WebhookQueue, Secrets Manager) and the kintone emulator (demo-kintone's refetch):
valid deliveries are queued once, tampered and stale ones refused, a sender's retry is a
duplicate.

The webhook secrets in moto are the test-only keys of tests/webhook_event_keys.py, and the
service's clock reads each event's arrival time (requestContext.requestTimeEpoch):
EVENT_TIME, or a minute later for a retry.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from sekisho import aws, runtime
from sekisho.kintone import client as kintone_client
from sekisho.wiring import webhook as webhook_wiring
from tests.function_log import function_log
from tests.tools import make_webhook_events
from tests.webhook_event_keys import EVENT_TIME, SOURCES, key_values, stored_versions

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SCHEMES = list(SOURCES.values())
DEMO_VIEW_TOKEN = "deals-view-token"  # the emulator seed's view-only token for app 1

GITHUB_BODY = json.loads((EVENTS / "webhook_github_valid.json").read_text(encoding="utf-8"))[
    "body"
].encode("utf-8")
# What each valid event must be queued as: its dedupe key and event type.
EXPECTED = {
    "standard": ("msg_2pTqSekishoDemoInvoicePaid01", "invoice.paid"),
    "stripe": ("evt_3QSekishoDemo0001", "payment_intent.succeeded"),
    # GitHub's delivery headers are unsigned: the key is its signed body's digest.
    "github": (f"sha256:{hashlib.sha256(GITHUB_BODY).hexdigest()}", "push"),
    "box": ("0f46a6ca-86bf-44ab-8cf5-f08e1e02876b", "FILE.UPLOADED"),
    "slack": ("Ev0SEKISHO0001", "message"),
    "kintone": ("01934f6e-2b1a-7c3d-9e8f-0a1b2c3d4e5f", "ADD_RECORD"),
}

pytestmark = pytest.mark.emulator


class Context:
    function_name = "WebhookFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:WebhookFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000005"
    log_group_name = "/sekisho/local/webhook"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 12_000


def event_file(scheme: str, scenario: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"webhook_{scheme}_{scenario}.json").read_text(encoding="utf-8"))


def refetch_secret_name() -> str:
    policy = yaml.safe_load((ROOT / "policy.yaml").read_text(encoding="utf-8"))
    return policy["webhooks"]["demo-kintone"]["refetch"]["token_secret"]


class Stack:
    """WebhookFunction's resources in moto, its secrets, and its handler over them."""

    def __init__(self, moto_url: str, kintone) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.kintone = kintone
        self.dynamodb = boto3.client("dynamodb", endpoint_url=moto_url)
        self.sqs = boto3.client("sqs", endpoint_url=moto_url)
        self.secretsmanager = boto3.client("secretsmanager", endpoint_url=moto_url)
        self.table = f"GuardTable-{suffix}"
        self.dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.queue_url = self.sqs.create_queue(QueueName=f"WebhookQueue-{suffix}")["QueueUrl"]
        for source in SOURCES:
            self.store(f"sekisho/webhook/{source}", *stored_versions(source))
        self.store(refetch_secret_name(), {"kind": "kintone-token", "token": DEMO_VIEW_TOKEN})
        self.env = {
            "AWS_ENDPOINT_URL": moto_url,
            "GUARD_TABLE": self.table,
            "WEBHOOK_QUEUE_URL": self.queue_url,
            "MAX_BODY_BYTES": "196608",
            "SEKISHO_POLICY": str(ROOT / "policy.yaml"),
            "KINTONE_BASE_URL": kintone.url,
            "POWERTOOLS_SERVICE_NAME": "sekisho",
        }
        self.handler: Any = None

    def store(self, name: str, *versions: dict[str, Any]) -> None:
        """Put ``versions`` in order: the last is AWSCURRENT, the one before AWSPREVIOUS."""
        first, *rest = (json.dumps(version) for version in versions)
        try:
            self.secretsmanager.create_secret(Name=name, SecretString=first)
        except self.secretsmanager.exceptions.ResourceExistsException:
            self.secretsmanager.put_secret_value(SecretId=name, SecretString=first)
        for value in rest:
            self.secretsmanager.put_secret_value(SecretId=name, SecretString=value)

    def send(self, event: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        # The service's clock says when API Gateway received the event.
        arrived = event["requestContext"]["requestTimeEpoch"] / 1000
        webhook_wiring.webhook_service().clock = lambda: arrived
        response = self.handler(event, Context())
        body = json.loads(response["body"]) if response.get("body") else None
        return response["statusCode"], body

    def deliver(self, scheme: str, scenario: str) -> tuple[int, dict[str, Any] | None]:
        return self.send(event_file(scheme, scenario))

    def queued(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return messages
            messages += got


def clear_container_caches() -> None:
    for cached in (
        runtime.settings,
        runtime.policy,
        webhook_wiring.webhook_service,
        aws.client,
    ):
        cached.cache_clear()


def load_handler():
    spec = importlib.util.spec_from_file_location(
        f"webhook_app_{uuid.uuid4().hex}", ROOT / "functions" / "webhook" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@pytest.fixture
def stack(kintone, moto_url, monkeypatch):
    """A fresh WebhookFunction container over fresh AWS resources."""
    built = Stack(moto_url, kintone)
    for name, value in built.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(kintone_client, "_breakers", {})
    clear_container_caches()
    built.handler = load_handler()
    yield built
    clear_container_caches()


# --------------------------------------------------------------------------- the files


# Every file, by name: the tests above invoke each through event_file(scheme, scenario).
EVENT_FILES = (
    "webhook_standard_valid.json",
    "webhook_standard_tampered.json",
    "webhook_standard_stale.json",
    "webhook_standard_replayed.json",
    "webhook_stripe_valid.json",
    "webhook_stripe_tampered.json",
    "webhook_stripe_stale.json",
    "webhook_stripe_replayed.json",
    "webhook_github_valid.json",
    "webhook_github_tampered.json",
    "webhook_github_stale.json",
    "webhook_github_replayed.json",
    "webhook_box_valid.json",
    "webhook_box_tampered.json",
    "webhook_box_stale.json",
    "webhook_box_replayed.json",
    "webhook_slack_valid.json",
    "webhook_slack_tampered.json",
    "webhook_slack_stale.json",
    "webhook_slack_replayed.json",
    "webhook_kintone_valid.json",
    "webhook_kintone_tampered.json",
    "webhook_kintone_stale.json",
    "webhook_kintone_replayed.json",
)


def test_every_webhook_event_file_is_what_the_generator_makes():
    generated = make_webhook_events.events()
    on_disk = {path.name for path in EVENTS.glob("webhook_*.json")}
    assert on_disk == set(generated) == set(EVENT_FILES)
    for name, event in generated.items():
        text = (EVENTS / name).read_text(encoding="utf-8")
        assert text == make_webhook_events.render(event), f"{name}: run make_webhook_events"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_there_is_a_valid_tampered_stale_and_replayed_event_for_each_scheme(scheme):
    for scenario in make_webhook_events.SCENARIOS:
        event = event_file(scheme, scenario)
        assert event["pathParameters"] == {"source": f"demo-{scheme}"}
        assert event["resource"] == "/webhooks/{source}"


@pytest.mark.parametrize("source", [s for s in SOURCES if SOURCES[s] != "kintone"])
def test_no_event_file_holds_a_signing_key(source):
    # Signatures only. (kintone signs nothing: its URL token is its only proof.)
    texts = [p.read_text(encoding="utf-8") for p in EVENTS.glob("webhook_*.json")]
    for key in key_values(source):
        assert not any(key in text for text in texts), source


def test_one_event_arrives_base64_encoded_and_others_carry_non_ascii_bytes():
    events = [event_file(scheme, "valid") for scheme in SCHEMES]
    encoded = [e for e in events if e["isBase64Encoded"]]
    assert encoded
    assert any(not base64.b64decode(e["body"]).isascii() for e in encoded)
    assert sum(not e["body"].isascii() for e in events if not e["isBase64Encoded"]) >= 3


# --------------------------------------------------------------------------- receipt


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_valid_delivery_is_queued_once_with_its_dedupe_key(stack, scheme):
    status, body = stack.deliver(scheme, "valid")
    assert (status, body) == (200, {"status": "queued"})
    [message] = stack.queued()
    dedupe_key, event_type = EXPECTED[scheme]
    attributes = message["MessageAttributes"]
    assert attributes["dedupe_key"] == {"StringValue": dedupe_key, "DataType": "String"}
    assert attributes["source"] == {"StringValue": f"demo-{scheme}", "DataType": "String"}
    queued = json.loads(message["Body"])
    assert queued["source"] == f"demo-{scheme}"
    assert queued["scheme"] == scheme
    assert queued["dedupe_key"] == dedupe_key
    assert queued["event_type"] == event_type
    assert queued["received_at"] == "2026-11-22T02:00:00Z"


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "kintone"])
def test_the_queued_event_carries_the_verified_body_exactly(stack, scheme):
    event = event_file(scheme, "valid")
    sent = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
    stack.send(event)
    [message] = stack.queued()
    queued = json.loads(message["Body"])
    assert queued["body"].encode("utf-8") == sent
    assert queued["content_type"] == event["headers"]["Content-Type"]


def test_a_kintone_event_carries_kintones_current_record_not_the_posted_one(stack):
    # The record changed after kintone notified: the consumer gets what kintone holds now.
    store = stack.kintone.emulator.store
    record = store.record(1, 1)
    record["ステータス"]["value"] = "受注"
    store.replace_record(1, record, "2026-11-22T02:00:30Z")
    status, _ = stack.deliver("kintone", "valid")
    assert status == 200
    [message] = stack.queued()
    queued = json.loads(message["Body"])
    assert "body" not in queued
    assert (queued["refetched"], queued["app"], queued["record_id"]) == (True, 1, "1")
    assert queued["record"]["ステータス"]["value"] == "受注"
    assert queued["record"]["$revision"]["value"] == "2"
    assert event_file("kintone", "valid")["body"].count("商談中") == 1


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_tampered_delivery_is_refused_and_nothing_is_queued(stack, scheme):
    status, body = stack.deliver(scheme, "tampered")
    assert (status, body["code"]) == (401, "signature_invalid")
    assert stack.queued() == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_stale_delivery_is_refused_and_nothing_is_queued(stack, scheme):
    status, body = stack.deliver(scheme, "stale")
    assert (status, body["code"]) == (401, "signature_invalid")
    assert stack.queued() == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_senders_retry_is_a_duplicate_and_the_event_is_queued_once(stack, scheme):
    assert stack.deliver(scheme, "valid") == (200, {"status": "queued"})
    assert stack.deliver(scheme, "replayed") == (200, {"status": "duplicate"})
    [message] = stack.queued()
    assert message["MessageAttributes"]["dedupe_key"]["StringValue"] == EXPECTED[scheme][0]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_retry_is_itself_a_valid_delivery_when_the_first_never_arrived(stack, scheme):
    assert stack.deliver(scheme, "replayed") == (200, {"status": "queued"})
    assert len(stack.queued()) == 1


@pytest.mark.parametrize("scheme", ["github", "kintone"])
def test_the_rotated_away_key_still_passes_inside_the_grace_period(stack, scheme):
    # Their "stale" events are signed with the previous key: refused only because the
    # rotation is older than the grace period. Make it an hour old and they pass.
    source = f"demo-{scheme}"
    previous, current = stored_versions(source)
    stack.store(f"sekisho/webhook/{source}", previous, {**current, "rotated_at": EVENT_TIME - 3600})
    assert stack.deliver(scheme, "stale") == (200, {"status": "queued"})


def test_a_delivery_to_an_unknown_source_is_not_found(stack):
    event = event_file("stripe", "valid")
    event["path"] = "/webhooks/demo-paypal"
    event["pathParameters"] = {"source": "demo-paypal"}
    status, body = stack.send(event)
    assert (status, body["code"]) == (404, "not_found")
    assert stack.queued() == []


# ------------------------------------------------------------------ the URL token


def kintone_delivery(scenario: str) -> dict[str, Any]:
    """A kintone delivery as the scenario names it; the token is the URL's query."""
    if scenario in ("valid", "tampered", "stale", "replayed"):
        return event_file("kintone", scenario)
    event = event_file("kintone", "valid")
    (token,) = event["multiValueQueryStringParameters"]["token"]
    if scenario == "token twice":
        event["multiValueQueryStringParameters"]["token"] = [token, token]
    elif scenario == "not json":
        event["body"] = "{not json"
    return event


@pytest.mark.parametrize(
    "scenario",
    ["valid", "tampered", "stale", "replayed", "token twice", "not json", "kintone down"],
)
def test_no_log_line_answer_or_queued_event_carries_a_kintone_url_token(stack, scenario, caplog):
    # Everything else at INFO, as Lambda would pass it on (botocore's DEBUG lines quote
    # whole responses, secrets included, and are never on in a function).
    caplog.set_level("INFO")
    event = kintone_delivery(scenario)
    tokens = {
        value for values in event["multiValueQueryStringParameters"].values() for value in values
    }
    if scenario == "kintone down":
        stack.kintone.emulator.controls.maintenance = True
    try:
        with function_log() as log:
            response = stack.handler(event, Context())
    finally:
        stack.kintone.emulator.controls.maintenance = False

    records = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    written = "\n".join([log.text, records, json.dumps(response), json.dumps(stack.queued())])
    assert log.named("webhook.receipt"), "the function logged its audit line"
    for token in tokens:
        assert token not in written
    assert "token=" not in written
