"""The local stack's webhook tooling: demo secrets, the emulator's webhooks into the router,
`python -m devstack send` deliveries and the `webhooks` report, without starting a stack."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import yaml
from moto import mock_aws

from devstack import cli
from devstack.__main__ import main
from devstack.demo_secrets import SecretsFile, load_secrets_file, secret_strings
from devstack.errors import SecretsFileError
from devstack.kintone_webhooks import (
    KintoneWebhook,
    kintone_webhooks,
    read_secret,
    register_kintone_webhooks,
    routed_sources,
)
from devstack.provision import local_secret_name
from devstack.routing import RouteTable
from devstack.sam import ApiSpec, Route
from devstack.send import DEMO_SEMINAR_RECEIPT, demo_body, new_event_id
from devstack.webhook_report import describe_event, queue_name, webhook_report
from kintone_emulator.schema import load_seed
from kintone_emulator.webhooks import EVENTS, Webhooks
from sekisho.policy import WebhookPolicy
from sekisho.policy.validation import schema, validate
from sekisho.policy.validation.loader import read_policy
from sekisho.webhooks.delivery import Delivery
from sekisho.webhooks.schemes import VERIFIERS
from webhook_senders import demo_secret, sign

REPO = Path(__file__).resolve().parents[2]
NOW = 1_775_000_000
SCHEMES = ("standard", "stripe", "github", "box", "slack", "kintone")
API = ApiSpec("Api", "Prod", (), {})


def hook(scheme: str) -> WebhookPolicy:
    return validate(schema.WebhookPolicy, {"scheme": scheme, "secret": f"demo/{scheme}"})


def verified(scheme: str, body: bytes, secret: dict[str, str], event_id: str) -> Any:
    signed = sign(scheme, body, secret, now=NOW, delivery_id=event_id)
    delivery = Delivery.build(body, signed.headers, signed.query, "127.0.0.1")
    return VERIFIERS[scheme](delivery, secret, now=NOW)


# -- secrets.yaml ------------------------------------------------------------------------


def shipped_webhook_secrets() -> dict[str, str]:
    spec = load_secrets_file()
    webhooks = {name: source for name, source in spec.secrets.items() if source.kind == "webhook"}
    return secret_strings(SecretsFile(secrets=webhooks), load_seed())


def test_every_webhook_source_of_the_policy_has_a_demo_secret_of_its_scheme() -> None:
    policy = read_policy(REPO / "policy.yaml")
    spec = load_secrets_file()

    declared = {
        name: source.scheme for name, source in spec.secrets.items() if source.kind == "webhook"
    }
    assert declared == {hook.secret: hook.scheme for hook in policy.webhooks.values()}
    for hook_policy in policy.webhooks.values():
        if hook_policy.refetch:
            assert hook_policy.refetch.token_secret in spec.secrets


def test_webhook_secrets_are_fresh_on_every_start_and_written_nowhere() -> None:
    first, second = shipped_webhook_secrets(), shipped_webhook_secrets()
    text = (REPO / "local" / "devstack" / "secrets.yaml").read_text(encoding="utf-8")

    for name in first:
        assert first[name] != second[name]
        # The kind ("hmac", "webhook-key") is a word of secrets.yaml too; the key values are not.
        values = json.loads(first[name])
        assert all(v not in text for k, v in values.items() if k != "kind")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_shipped_webhook_secret_signs_deliveries_its_scheme_verifies(scheme: str) -> None:
    secret = json.loads(shipped_webhook_secrets()[f"sekisho/webhook/demo-{scheme}"])
    event_id = new_event_id(scheme)

    assert verified(scheme, demo_body(scheme, event_id, hook(scheme)), secret, event_id)


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "webhook", "scheme": "gitlab"},
        {"kind": "webhook"},
        {"kind": "webhook", "scheme": "github", "secret": "written-down"},
    ],
)
def test_webhook_entry_of_an_unknown_scheme_or_with_a_value_is_rejected(
    tmp_path: Path, entry: dict[str, Any]
) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump({"secrets": {"sekisho/webhook/x": entry}}), encoding="utf-8")

    with pytest.raises(SecretsFileError):
        load_secrets_file(path)


# -- send's demo deliveries --------------------------------------------------------------


def expected_dedupe_key(scheme: str, event_id: str, body: bytes) -> str:
    # GitHub's delivery headers are unsigned: its events are told apart by their body.
    return f"sha256:{hashlib.sha256(body).hexdigest()}" if scheme == "github" else event_id


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_demo_delivery_is_deduplicated_by_its_event_id(scheme: str) -> None:
    secret = demo_secret(scheme)
    event_id = new_event_id(scheme)

    first = demo_body(scheme, event_id, hook(scheme))
    again = demo_body(scheme, event_id, hook(scheme))

    assert first == again
    assert verified(scheme, first, secret, event_id).dedupe_key == expected_dedupe_key(
        scheme, event_id, first
    )


@pytest.mark.parametrize("scheme", SCHEMES)
def test_demo_bodies_are_utf8_json_with_non_ascii_text(scheme: str) -> None:
    body = demo_body(scheme, new_event_id(scheme), hook(scheme))

    assert isinstance(json.loads(body.decode("utf-8")), dict)
    assert not body.isascii()


def test_the_kintone_demo_delivery_names_the_refetch_app() -> None:
    source = validate(
        schema.WebhookPolicy,
        {
            "scheme": "kintone",
            "secret": "demo/kintone",
            "refetch": {"app": 7, "token_secret": "demo/view", "fields": ["取引ID"]},
        },
    )

    body = json.loads(demo_body("kintone", "e1", source))

    assert (body["id"], body["app"]["id"], body["record"]["$id"]["value"]) == ("e1", "7", "1")


def at(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON pointer, as the action consumer reads events."""
    for escaped in pointer.split("/")[1:]:
        token = escaped.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def stripe_demo(event_id: str = "evt_demo_1", **options: Any) -> dict[str, Any]:
    return json.loads(demo_body("stripe", event_id, hook("stripe"), **options))


def test_the_stripe_demo_event_is_a_paid_checkout_session_for_the_seed_application() -> None:
    event = stripe_demo()

    session = event["data"]["object"]
    assert (event["id"], event["object"], event["type"]) == (
        "evt_demo_1",
        "event",
        "checkout.session.completed",
    )
    assert type(event["created"]) is int  # epoch seconds, as Stripe sends them
    assert event["livemode"] is False
    assert session["id"].startswith("cs_test_")
    assert (session["object"], session["payment_status"]) == ("checkout.session", "paid")
    assert (session["amount_total"], session["currency"]) == (12000, "jpy")
    assert session["metadata"] == {"seminar_receipt": DEMO_SEMINAR_RECEIPT}


def test_a_stripe_demo_event_names_the_receipt_it_is_given_and_nothing_else_changes() -> None:
    default, other = stripe_demo(), stripe_demo(receipt="8f0c-form-receipt")

    assert other["data"]["object"]["metadata"] == {"seminar_receipt": "8f0c-form-receipt"}
    other["data"]["object"]["metadata"] = default["data"]["object"]["metadata"]
    assert other == default


def test_two_stripe_demo_events_are_two_checkout_sessions() -> None:
    first, second = stripe_demo("evt_demo_1"), stripe_demo("evt_demo_2")

    assert first["data"]["object"]["id"] != second["data"]["object"]["id"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_demo_body_is_the_same_bytes_whenever_it_is_made(
    scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A redelivery must be byte-identical, so nothing in a body may come from the clock.
    event_id = new_event_id(scheme)
    first = demo_body(scheme, event_id, hook(scheme))
    later = time.time() + 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "time_ns", lambda: int(later * 1e9))

    assert demo_body(scheme, event_id, hook(scheme)) == first


def stripe_actions() -> dict[str, Any]:
    actions = {
        f"{source}.{name}": action
        for source, hook_policy in read_policy(REPO / "policy.yaml").webhooks.items()
        if hook_policy.scheme == "stripe"
        for name, action in hook_policy.actions.items()
    }
    assert actions, "the demo policy has a Stripe action"
    return actions


@pytest.mark.parametrize("name", sorted(stripe_actions()))
def test_the_stripe_demo_event_triggers_each_stripe_action_and_has_every_value_it_reads(
    name: str,
) -> None:
    action = stripe_actions()[name]
    event = stripe_demo()

    assert event["type"] in action.events
    for code, source in action.fields.items():
        if source.pointer is not None:
            assert at(event, source.pointer) is not None, code
    if action.key is not None:
        assert at(event, action.key.pointer) == DEMO_SEMINAR_RECEIPT


@pytest.mark.parametrize("name", sorted(stripe_actions()))
def test_the_default_receipt_is_the_key_of_one_seed_record_of_the_actions_app(name: str) -> None:
    action = stripe_actions()[name]
    if action.key is None:
        pytest.skip("an add action names no record")
    records = load_seed().apps[action.app].records

    matching = [r for r in records if str(r.get(action.key.field)) == DEMO_SEMINAR_RECEIPT]

    assert len(matching) == 1
    assert matching[0]["支払状況"] == "未払い"


# -- the emulator's webhooks into the router ---------------------------------------------


def table(*paths: str) -> RouteTable:
    return RouteTable(Route(API, path, "POST", "WebhookFunction") for path in paths)


def test_only_routed_kintone_sources_that_refetch_get_an_emulator_webhook() -> None:
    policy = read_policy(REPO / "policy.yaml")
    kintone_sources = [s for s, h in policy.webhooks.items() if h.scheme == "kintone"]

    assert kintone_webhooks(policy, table()) == []
    assert routed_sources(policy, table()) == []
    assert routed_sources(policy, table("/webhooks/{source}")) == list(policy.webhooks)
    assert [hook.source for hook in kintone_webhooks(policy, table("/webhooks/{source}"))] == [
        source for source in kintone_sources if policy.webhooks[source].refetch
    ]


class FakeSecrets:
    """The one Secrets Manager call the registration makes."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3's name
        if SecretId not in self.values:
            raise KeyError(SecretId)
        return {"SecretString": self.values[SecretId]}


@pytest.fixture
def webhooks() -> Iterator[Webhooks]:
    registry = Webhooks()
    yield registry
    registry.close()


def test_registration_points_at_the_router_with_the_token_and_survives_a_reset(
    webhooks: Webhooks,
) -> None:
    secret = demo_secret("kintone")
    hook_spec = KintoneWebhook("demo-kintone", 1, "sekisho/webhook/demo-kintone")
    secrets = FakeSecrets({hook_spec.secret_name: json.dumps(secret)})

    register_kintone_webhooks(webhooks, secrets, "http://127.0.0.1:3000", [hook_spec])
    webhooks.reset()

    (registration,) = webhooks.registrations()
    url = urlsplit(registration["url"])
    assert (registration["app"], tuple(registration["events"])) == (1, EVENTS)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://127.0.0.1:3000/webhooks/demo-kintone"
    assert parse_qs(url.query) == {"token": [secret["secret"]]}
    assert secret["secret"] not in hook_spec.describe()


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(None, id="missing"),
        pytest.param("not json", id="not_json"),
        pytest.param('["a list"]', id="not_an_object"),
        pytest.param('{"token": "wrong-key"}', id="wrong_shape"),
    ],
)
def test_a_missing_or_malformed_kintone_token_secret_stops_the_start_without_its_value(
    webhooks: Webhooks, stored: str | None
) -> None:
    hook_spec = KintoneWebhook("demo-kintone", 1, "sekisho/webhook/demo-kintone")
    secrets = FakeSecrets({} if stored is None else {hook_spec.secret_name: stored})

    with pytest.raises(SecretsFileError) as raised:
        register_kintone_webhooks(webhooks, secrets, "http://127.0.0.1:3000", [hook_spec])

    assert hook_spec.secret_name in str(raised.value)
    assert "wrong-key" not in str(raised.value)
    assert webhooks.registrations() == []


def test_read_secret_returns_the_parsed_current_value() -> None:
    secrets = FakeSecrets({"s": '{"secret": "x"}'})

    assert read_secret(secrets, "s") == {"secret": "x"}


# -- the emulator never logs a webhook URL's query ---------------------------------------


class Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def refusing_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("receiver", ["refusing", "dead"])
def test_a_failed_webhook_is_logged_without_the_token_in_its_url(
    receiver: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    base = request.getfixturevalue("refusing_url") if receiver == "refusing" else dead_url()
    app = load_seed().apps[1]
    record = {
        "$id": {"type": "__ID__", "value": "1"},
        **{code: {"value": "x"} for code in app.fields},
    }
    registry = Webhooks()
    registration = registry.register(app.id, f"{base}/webhooks/demo?token=s3cr3t-token", EVENTS)

    with caplog.at_level(logging.WARNING, logger="kintone_emulator.webhooks"):
        registry.notify("ADD_RECORD", app, record, "http://kintone.invalid")
        registry.close()  # delivers what is queued, then stops

    assert registration.failed == 1
    assert f"{base}/webhooks/demo" in caplog.text
    assert "s3cr3t-token" not in caplog.text


# -- python -m devstack webhooks ---------------------------------------------------------


def message(body: Any, receives: str = "1") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return {
        "MessageId": "m-1",
        "Body": text,
        "Attributes": {"ApproximateReceiveCount": receives, "SentTimestamp": "0"},
    }


EVENT = {
    "source": "demo-stripe",
    "scheme": "stripe",
    "dedupe_key": "evt_1",
    "event_type": "payment_intent.succeeded",
    "received_at": "2026-11-22T02:00:00Z",
    "content_type": "application/json",
    "body": '{"id": "evt_1", "data": {"description": "倉庫"}}',
}
REFETCHED = {
    "source": "demo-kintone",
    "scheme": "kintone",
    "dedupe_key": "n-1",
    "event_type": "ADD_RECORD",
    "received_at": "2026-11-22T02:00:00Z",
    "content_type": "application/json",
    "refetched": True,
    "app": 1,
    "record_id": "5",
    "record": {"取引名": {"type": "SINGLE_LINE_TEXT", "value": "新規"}},
}


def test_an_event_shows_what_was_verified_and_its_body_pretty_printed() -> None:
    lines = describe_event(message(EVENT, receives="3"))

    assert lines[0] == "- demo-stripe (stripe)  payment_intent.succeeded  dedupe key evt_1"
    assert lines[1] == "  received 2026-11-22T02:00:00Z  receives 3"
    assert json.loads("\n".join(lines[3:])) == json.loads(EVENT["body"])
    assert '        "description": "倉庫"' in lines


def test_a_refetched_event_shows_kintones_record_and_a_deleted_one_says_so() -> None:
    shown = describe_event(message(REFETCHED))
    deleted = describe_event(message({**REFETCHED, "event_type": "DELETE_RECORD", "record": None}))

    assert shown[2] == "  record 5 of app 1, as kintone holds it now:"
    assert json.loads("\n".join(shown[3:])) == REFETCHED["record"]
    assert deleted[2] == "  record 5 of app 1: gone from kintone (deleted)"
    assert len(deleted) == 3


def test_an_event_kintone_could_not_be_read_for_shows_no_record() -> None:
    deferred = describe_event(message({**REFETCHED, "refetched": False, "record": None}))

    assert deferred[2:] == [
        "  record 5 of app 1: not read (kintone was unavailable); its consumer reads it"
    ]


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("text=hello&ts=1", "    text=hello&ts=1"),
        ('{"a": 1}', '      "a": 1'),
    ],
)
def test_a_body_is_pretty_printed_when_it_is_json_and_shown_as_is_otherwise(
    body: str, shown: str
) -> None:
    assert shown in describe_event(message({**EVENT, "body": body}))


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"'])
def test_a_message_that_is_not_an_event_is_named_not_shown(body: str) -> None:
    assert describe_event(message(body)) == ["- message m-1: not a webhook event"]


def test_the_webhook_queue_is_named_from_the_template() -> None:
    assert queue_name(REPO / "template.yaml") == "WebhookQueue"


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="ap-northeast-1")


def test_the_report_lists_both_queues_and_leaves_every_event_where_it_was(sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="WebhookDeadLetterQueue")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    url = sqs.create_queue(
        QueueName="WebhookQueue",
        Attributes={
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": 10,
                }
            )
        },
    )["QueueUrl"]
    for index in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({**EVENT, "dedupe_key": f"e{index}"}))
    sqs.send_message(QueueUrl=dead, MessageBody=json.dumps(REFETCHED))

    report = webhook_report(sqs, "WebhookQueue")
    again = webhook_report(sqs, "WebhookQueue")

    assert report.splitlines()[0] == (
        "WebhookQueue: 12 events (every look is a receive: after 10 an event moves to "
        "WebhookDeadLetterQueue)"
    )
    assert "WebhookDeadLetterQueue: 1 event" in report.splitlines()
    assert all(f"dedupe key e{index}" in again for index in range(12))
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "12"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"


# -- the commands' refusals --------------------------------------------------------------


@pytest.mark.parametrize("command", [["webhooks"], ["send", "demo-github"]])
def test_the_webhook_commands_talk_to_loopback_only(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--host", "192.0.2.10"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_send_to_a_source_the_policy_does_not_declare_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["send", "no-such-source", "--policy", str(REPO / "policy.yaml")])

    assert status == 2
    assert "no-such-source" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        pytest.param(
            ["demo-github", "--receipt", "r-1"], "demo-github is a github source", id="github"
        ),
        pytest.param(["demo-kintone", "--receipt", "r-1"], "is a kintone source", id="kintone"),
        pytest.param(["demo-stripe", "--receipt", "r-1", "--body", "x.json"], "--body", id="body"),
        pytest.param(["demo-github", "--stripe", "unpaid"], "is a github source", id="step"),
        pytest.param(["demo-box", "--session", "cs_1"], "is a box source", id="session"),
        pytest.param(
            ["demo-stripe", "--stripe", "failed", "--body", "x.json"], "--body", id="step-body"
        ),
    ],
)
def test_send_refuses_a_receipt_it_could_not_put_into_the_body(
    options: list[str], refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = int(dead_url().rsplit(":", 1)[1])

    status = main(
        ["send", *options, "--policy", str(REPO / "policy.yaml"), "--moto-port", str(port)]
    )

    assert status == 2
    error = capsys.readouterr().err
    assert refusal in error
    assert "is the stack running" not in error, "refused before anything is read or sent"


class Recording(BaseHTTPRequestHandler):
    """A stand-in router: keeps every POST and answers as WebhookFunction does."""

    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        answer = b'{"status": "queued"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[Any], dict[str, str]]]:
    """A recording router on loopback, and the stripe source's secret where send reads it."""
    received: list[Any] = []
    handler = type("Handler", (Recording,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    key = demo_secret("stripe")
    # Where the local stack keeps it: under its secret name prefix.
    stored = FakeSecrets({local_secret_name("sekisho/webhook/demo-stripe"): json.dumps(key)})
    monkeypatch.setattr(cli, "moto_client", lambda url, service: stored)
    yield server.server_address[1], received, key
    server.shutdown()
    server.server_close()


def send_stripe(port: int, *options: str) -> int:
    policy = str(REPO / "policy.yaml")
    return main(["send", "demo-stripe", "--policy", policy, "--port", str(port), *options])


def verified_stripe(received: tuple[str, dict[str, str], bytes], key: dict[str, str]) -> Any:
    path, headers, body = received
    assert path == "/webhooks/demo-stripe"
    delivery = Delivery.build(body, headers, {}, "127.0.0.1")
    return VERIFIERS["stripe"](delivery, key, now=int(time.time()))


def test_send_pays_the_seed_application_unless_a_receipt_names_another(
    router: tuple[int, list[Any], dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, received, key = router

    statuses = [send_stripe(port), send_stripe(port, "--receipt", "form-receipt-2")]

    assert statuses == [0, 0]
    receipts = [
        json.loads(body)["data"]["object"]["metadata"]["seminar_receipt"] for _, _, body in received
    ]
    assert receipts == [DEMO_SEMINAR_RECEIPT, "form-receipt-2"]
    assert all(verified_stripe(delivery, key) for delivery in received)
    assert capsys.readouterr().err == ""


def test_send_with_the_same_event_id_and_receipt_again_sends_the_same_bytes(
    router: tuple[int, list[Any], dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, received, key = router
    options = ("--event-id", "evt_again_1", "--receipt", "form-receipt-2")

    statuses = [send_stripe(port, *options), send_stripe(port, *options)]

    assert statuses == [0, 0]
    (first_body, second_body) = (body for _, _, body in received)
    assert first_body == second_body
    assert verified_stripe(received[1], key).dedupe_key == "evt_again_1"
    assert "event id evt_again_1" in capsys.readouterr().out


def test_send_without_a_running_stack_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    port = int(dead_url().rsplit(":", 1)[1])
    status = main(
        ["send", "demo-github", "--policy", str(REPO / "policy.yaml"), "--moto-port", str(port)]
    )

    assert status == 1
    assert "is the stack running" in capsys.readouterr().err


def test_send_sends_each_step_of_a_delayed_payment_for_one_session(
    router: tuple[int, list[Any], dict[str, str]],
) -> None:
    port, received, key = router

    statuses = [
        send_stripe(port, "--stripe", step, "--session", "cs_test_konbini")
        for step in ("unpaid", "succeeded", "failed")
    ]

    assert statuses == [0, 0, 0]
    events = [json.loads(body) for _, _, body in received]
    assert [(e["type"], e["data"]["object"]["payment_status"]) for e in events] == [
        ("checkout.session.completed", "unpaid"),
        ("checkout.session.async_payment_succeeded", "paid"),
        ("checkout.session.async_payment_failed", "unpaid"),
    ]
    assert {e["data"]["object"]["id"] for e in events} == {"cs_test_konbini"}
    assert all(verified_stripe(delivery, key) for delivery in received)
