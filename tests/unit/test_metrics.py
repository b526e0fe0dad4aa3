"""The metrics contract: each metric by the code path that should write it, with its name,
unit and dimensions; route names only from the policy; nothing outside a request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from sekisho import metrics
from sekisho.actions.dead_letters import InMemoryDeadLetters
from sekisho.actions.service import KEY_PREFIX, ActionService
from sekisho.errors import NotFound, SekishoError, UpstreamUnavailable, ValidationFailed
from sekisho.http import HttpSettings, create_resolver
from sekisho.intake.attachments import InMemoryAttachmentStore
from sekisho.intake.delivery import DeliverService
from sekisho.intake.queue import InMemoryQueue
from sekisho.intake.reply import Replies
from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.kintone.errors import KintoneMaintenance
from sekisho.kintone.retry import RetryPolicy
from sekisho.mail.sender import InMemoryMailer
from sekisho.once import InMemoryPersistenceLayer, RunOnce
from sekisho.policy.metric_routes import request_route, request_routes
from sekisho.policy.validation import load_policy
from sekisho.redelivery import Backoff, InMemoryVisibility
from tests.action_support import checkout_completed, sqs_record, stripe_message
from tests.apigw import rest_event
from tests.metrics_support import DIMENSION_VALUES, dimensions, emitted, named
from tests.unit.test_intake_delivery import FakeKintone, submission

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(ROOT / "policy.yaml")
KINTONE = "https://example.cybozu.com"


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:test"
    aws_request_id = "req-1"


def out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


# ------------------------------------------------------------------ route names


@pytest.mark.parametrize(
    ("params", "route"),
    [
        ({"view": "deal-status"}, "view:deal-status"),
        ({"view": "partner-deals"}, "view:partner-deals"),
        # A session view, a correction and a sign-in count under their realm.
        ({"view": "my-applications"}, "session:applicants"),
        ({"view": "my-applications", "ticket": "t-1"}, "session:applicants"),
        ({"form": "seminar-apply", "ref": "r-1"}, "session:applicants"),
        ({"realm": "applicants"}, "session:applicants"),
        ({"form": "seminar-apply"}, "form:seminar-apply"),
        # A receipt is a path parameter, never part of the route.
        ({"form": "seminar-apply", "receipt": "6VS3-HGBP-J3M"}, "form:seminar-apply"),
        ({"source": "demo-stripe"}, "webhook:demo-stripe"),
        ({}, "undeclared"),
    ],
)
def test_a_declared_route_is_named_by_its_kind_and_policy_name(params, route):
    assert request_route(POLICY, params) == route


@pytest.mark.parametrize(
    "params",
    [
        {"view": "no-such-view"},
        {"view": "Deal-Status"},
        {"view": "deal-status\n"},
        {"view": "203.0.113.10"},
        {"form": "seminar-apply%00"},
        {"form": "6VS3-HGBP-J3M"},
        {"source": "demo-strip"},
        {"realm": "admins"},
        {"realm": "hanako@example.com"},
    ],
)
def test_a_name_the_policy_does_not_declare_never_becomes_a_dimension(params):
    assert request_route(POLICY, params) == metrics.UNDECLARED


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/views/deal-status", "view:deal-status"),
        ("/views/my-applications/files/t-1", "session:applicants"),
        ("/forms/seminar-apply/receipts/6VS3-HGBP-J3M", "form:seminar-apply"),
        ("/forms/seminar-apply/entries/r-1/cancel", "session:applicants"),
        ("/partners/forms/seminar-apply", "form:seminar-apply"),
        ("/sessions/applicants/code", "session:applicants"),
        ("/webhooks/demo-github", "webhook:demo-github"),
        ("/webhooks", "undeclared"),
        ("/admin/deal-status", "undeclared"),
        ("/", "undeclared"),
    ],
)
def test_a_request_no_route_took_is_named_by_its_paths_shape(path, route):
    assert request_route(POLICY, {}, path) == route


# ------------------------------------------------------------------ the HTTP edge


@pytest.fixture
def app():
    app = create_resolver(HttpSettings(route_of=request_routes(POLICY)))

    @app.post("/views/<view>")
    def view(view: str) -> dict:
        if view == "deal-status":
            return {"records": []}
        raise ValidationFailed("bad")

    @app.post("/forms/<form>")
    def form(form: str) -> dict:
        raise UpstreamUnavailable("kintone is away")

    @app.post("/webhooks/<source>")
    def webhook(source: str) -> dict:
        raise RuntimeError("a bug")

    return app


def test_an_answered_request_counts_once_as_ok_under_its_route(app, capsys):
    app.resolve(rest_event("POST", "/views/deal-status", body={}), Context())
    lines = out(capsys)
    assert dimensions(lines, "Requests") == [{"route": "view:deal-status", "outcome": "ok"}]
    assert named(lines, "Refusals") == []
    (request,) = named(lines, "Requests")
    assert (request.unit, request.values) == ("Count", [1.0])


def test_a_refused_request_counts_as_refused_and_as_a_refusal_by_its_code(app, capsys):
    app.resolve(rest_event("POST", "/views/partner-deals", body={}), Context())
    lines = out(capsys)
    assert dimensions(lines, "Requests") == [{"route": "view:partner-deals", "outcome": "refused"}]
    assert dimensions(lines, "Refusals") == [
        {"route": "view:partner-deals", "outcome": "validation_failed"}
    ]


@pytest.mark.parametrize(
    ("path", "route"),
    [("/forms/seminar-apply", "form:seminar-apply"), ("/webhooks/demo-box", "webhook:demo-box")],
)
def test_a_5xx_answer_counts_as_failed_and_is_no_refusal(app, capsys, path, route):
    app.resolve(rest_event("POST", path, body={}), Context())
    lines = out(capsys)
    assert dimensions(lines, "Requests") == [{"route": route, "outcome": "failed"}]
    assert named(lines, "Refusals") == []


def test_a_path_no_route_matches_is_an_undeclared_not_found(app, capsys):
    app.resolve(rest_event("POST", "/admin/203.0.113.10", body={}), Context())
    lines = out(capsys)
    assert dimensions(lines, "Refusals") == [{"route": "undeclared", "outcome": "not_found"}]


def test_a_preflight_counts_under_the_route_it_asks_for(capsys):
    app = create_resolver(
        HttpSettings(allowed_origins=("https://example.com",), route_of=request_routes(POLICY))
    )

    @app.post("/views/<view>")
    def view(view: str) -> dict:
        return {}

    event = rest_event("OPTIONS", "/views/deal-status", headers={"Origin": "https://example.com"})
    assert app.resolve(event, Context())["statusCode"] == 204
    assert dimensions(out(capsys), "Requests") == [{"route": "view:deal-status", "outcome": "ok"}]


def test_a_route_of_a_literal_path_is_named_from_the_matched_parameters(capsys):
    # API Gateway's event has no pathParameters for /views/my-applications.
    app = create_resolver(HttpSettings(route_of=request_routes(POLICY)))

    @app.post("/views/<view>")
    def view(view: str) -> dict:
        raise NotFound()

    app.resolve(rest_event("POST", "/views/my-applications", body={}), Context())
    assert dimensions(out(capsys), "Requests") == [
        {"route": "session:applicants", "outcome": "refused"}
    ]


def test_the_partner_gate_names_the_route_of_a_declared_partner_only_inside_a_request(capsys):
    metrics.name_route("partner:demo-erp")  # no request: nothing to name
    assert metrics.current_route() is None
    with metrics.route_scope("view:partner-deals"):
        metrics.name_route("partner:demo-erp")
        assert metrics.current_route() == "partner:demo-erp"
    assert metrics.current_route() is None


# ------------------------------------------------------------------ kintone


class Session:
    """A requests.Session that answers from a list: a status and JSON, or an exception."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        response = requests.Response()
        response.status_code = answer[0]
        response._content = json.dumps(answer[1]).encode()
        response.headers["Content-Type"] = "application/json"
        return response


def client(*answers: Any) -> KintoneClient:
    return KintoneClient(
        KINTONE,
        TokenSource.fixed("token"),
        session=Session(*answers),  # type: ignore[arg-type]
        retry=RetryPolicy(max_attempts=3, base_delay=0),
        breaker=CircuitBreaker(),
        sleep=lambda seconds: None,
    )


def test_each_kintone_call_of_a_request_writes_its_latency_under_the_route(capsys):
    with metrics.route_scope("view:deal-status"):
        client((200, {"records": []})).get_records(1)
    (latency,) = named(out(capsys), "KintoneLatency")
    assert latency.unit == "Milliseconds"
    assert latency.dimensions == {"service": "sekisho", "route": "view:deal-status"}
    assert 0 <= latency.values[0] < 1000


def test_a_retried_kintone_call_counts_each_retry_and_each_attempts_latency(capsys):
    reset = requests.ConnectionError("reset by peer")
    with metrics.route_scope("form:seminar-apply"):
        client(reset, reset, (200, {"records": []})).get_records(2)
    lines = out(capsys)
    assert len(named(lines, "KintoneLatency")) == 3
    assert dimensions(lines, "KintoneRetries") == [{"route": "form:seminar-apply"}] * 2
    assert {m.unit for m in named(lines, "KintoneRetries")} == {"Count"}


def test_a_kintone_call_outside_any_request_writes_no_metric(capsys):
    # An operator's command (sekisho probe) or a rotation's test: its stdout stays its own.
    client((200, {"records": []})).get_records(1)
    assert emitted(out(capsys)) == []


# ------------------------------------------------------------------ queued messages


def test_a_message_is_aged_from_its_sent_timestamp_when_taken(capsys):
    seen = metrics.MessageScope("intake", "1763700000000", now=lambda: 1_763_700_042.5)
    seen.close()
    (age,) = named(out(capsys), "QueueAge")
    assert (age.unit, age.dimensions, age.values) == (
        "Seconds",
        {"service": "sekisho", "queue": "intake"},
        [42.5],
    )


def test_a_message_without_a_sent_timestamp_is_not_aged(capsys):
    metrics.MessageScope("webhook", None).close()
    assert emitted(out(capsys)) == []


def test_a_message_counts_what_became_of_it_once(capsys):
    seen = metrics.MessageScope("intake", None)
    metrics.name_route("form:seminar-apply")
    seen.done(metrics.RETRIED)
    seen.done(metrics.RECORDED)
    seen.close()
    assert dimensions(out(capsys), "Deliveries") == [
        {"route": "form:seminar-apply", "outcome": "retried"}
    ]
    assert metrics.current_route() is None


def deliver_service(kintone: FakeKintone) -> DeliverService:
    return DeliverService(
        POLICY,
        lambda name: TokenSource.fixed("unused"),
        KINTONE,
        attachments=InMemoryAttachmentStore(),
        visibility=InMemoryVisibility(),
        client_factory=lambda url, token, breaker: kintone,
        breaker=CircuitBreaker(),
        max_receives=2,
        replies=Replies(InMemoryMailer(), InMemoryPersistenceLayer()),
    )


def queued(receives: int = 1) -> dict[str, Any]:
    queue = InMemoryQueue("arn:aws:sqs:ap-northeast-1:123456789012:IntakeQueue")
    message = submission()
    queue.send(message.to_json(), message.receipt)
    for _ in range(receives - 1):
        queue.sqs_event()
    (record,) = queue.sqs_event()["Records"]
    return record


def test_a_delivered_submission_is_a_recorded_delivery_of_its_form_aged_on_the_intake_queue(
    capsys,
):
    kintone = FakeKintone()
    assert deliver_service(kintone).deliver_record(queued()) == "recorded"
    lines = out(capsys)
    assert dimensions(lines, "QueueAge") == [{"queue": "intake"}]
    assert named(lines, "QueueAge")[0].unit == "Seconds"
    assert dimensions(lines, "Deliveries") == [
        {"route": "form:seminar-apply", "outcome": "recorded"}
    ]
    assert named(lines, "DeadLetters") == []


@pytest.mark.parametrize(("receive", "outcome"), [(1, "retried"), (2, "dead_lettered")])
def test_a_failing_delivery_is_retried_until_the_queues_last_receive_then_a_dead_letter(
    capsys, receive, outcome
):
    kintone = FakeKintone()
    kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))
    with pytest.raises(SekishoError):
        deliver_service(kintone).deliver_record(queued(receive))
    lines = out(capsys)
    assert dimensions(lines, "Deliveries") == [{"route": "form:seminar-apply", "outcome": outcome}]
    expected = [{"queue": "intake"}] if outcome == "dead_lettered" else []
    assert dimensions(lines, "DeadLetters") == expected


class Writer:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    def apply(self, *args: Any, **kwargs: Any) -> str:
        if self.failure is not None:
            raise self.failure
        return "applied"


def action_service(writer: Writer, dead_letters: InMemoryDeadLetters) -> ActionService:
    return ActionService(
        POLICY,
        writer,  # type: ignore[arg-type]
        RunOnce(InMemoryPersistenceLayer(), key_prefix=KEY_PREFIX, expires_after_seconds=60),
        dead_letters,
        Backoff(InMemoryVisibility(), min_seconds=1),
        max_receives=3,
    )


def paid(event_id: str = "evt_metrics_1", **session: Any) -> dict[str, Any]:
    return stripe_message(checkout_completed(event_id, **session))


def test_an_applied_event_is_a_recorded_delivery_of_its_webhook_route(capsys):
    service = action_service(Writer(), InMemoryDeadLetters())
    assert service.apply_record(sqs_record(paid())) == "applied"
    lines = out(capsys)
    assert dimensions(lines, "Deliveries") == [
        {"route": "webhook:demo-stripe", "outcome": "recorded"}
    ]
    assert dimensions(lines, "QueueAge") == [{"queue": "webhook"}]
    assert named(lines, "DeadLetters") == []


def test_a_refused_event_is_a_dead_letter_of_the_webhook_queue_at_once(capsys):
    dead_letters = InMemoryDeadLetters()
    service = action_service(Writer(), dead_letters)
    assert service.apply_record(sqs_record(paid(metadata={}))) == "dead_lettered"
    lines = out(capsys)
    assert len(dead_letters.messages) == 1
    assert dimensions(lines, "Deliveries") == [
        {"route": "webhook:demo-stripe", "outcome": "dead_lettered"}
    ]
    assert dimensions(lines, "DeadLetters") == [{"queue": "webhook"}]
    (dead,) = named(lines, "DeadLetters")
    assert (dead.unit, dead.values) == ("Count", [1.0])


@pytest.mark.parametrize(
    ("receive", "outcome"), [(1, "retried"), (2, "retried"), (3, "dead_lettered")]
)
def test_a_failing_event_is_retried_until_its_last_receive_then_a_dead_letter(
    capsys, receive, outcome
):
    service = action_service(Writer(UpstreamUnavailable("kintone is away")), InMemoryDeadLetters())
    with pytest.raises(SekishoError):
        service.apply_record(sqs_record(paid(), receive_count=receive))
    lines = out(capsys)
    assert dimensions(lines, "Deliveries") == [{"route": "webhook:demo-stripe", "outcome": outcome}]
    assert len(named(lines, "DeadLetters")) == (outcome == "dead_lettered")


def test_an_event_of_an_undeclared_source_counts_under_undeclared(capsys):
    service = action_service(Writer(), InMemoryDeadLetters())
    assert service.apply_record(sqs_record(paid())) == "applied"
    message = stripe_message(checkout_completed("evt_metrics_2"), source="203.0.113.10")
    assert service.apply_record(sqs_record(message)) == "dropped"
    routes = [d["route"] for d in dimensions(out(capsys), "Deliveries")]
    assert routes == ["webhook:demo-stripe", "undeclared"]


# ------------------------------------------------------------------ privacy

IP, RECEIPT, RECORD_ID, EMAIL = "198.51.100.23", "6VS3-HGBP-J3M", "D000001", "hanako@example.com"


def _request(path: str, body: Any = None) -> Any:
    def send(app: Any) -> None:
        app.resolve(rest_event("POST", path, body=body or {}, source_ip=IP), Context())

    return send


def _kintone(app: Any) -> None:
    with metrics.route_scope("view:deal-status"):
        client((200, {"records": [{"取引ID": {"value": RECORD_ID}}]})).get_records(1)


def _event(app: Any) -> None:
    message = paid(f"evt_{RECEIPT}", metadata={"seminar_receipt": RECEIPT, "email": EMAIL})
    action_service(Writer(), InMemoryDeadLetters()).apply_record(sqs_record(message))


SCENARIOS = {
    "a lookup with values": _request(
        "/views/deal-status", {"match": {"owner_id": "A1", "deal_id": RECORD_ID}}
    ),
    "a refused lookup": _request("/views/partner-deals", {"match": {"deal_id": RECORD_ID}}),
    "a view named by an id": _request(f"/views/{RECORD_ID}"),
    "a receipt's status": _request(f"/forms/seminar-apply/receipts/{RECEIPT}"),
    "a failed form": _request("/forms/seminar-apply", {"fields": {"email": EMAIL}}),
    "an address as a path": _request(f"/webhooks/{EMAIL}"),
    "a kintone call": _kintone,
    "a queued event": _event,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_dimension_carries_an_ip_a_receipt_a_record_id_or_an_address(app, capsys, scenario):
    SCENARIOS[scenario](app)
    found = emitted(out(capsys))
    assert found
    for metric in found:
        for key, value in metric.dimensions.items():
            assert DIMENSION_VALUES[key].match(value), (metric.name, key, value)
            assert not any(secret in value for secret in (IP, RECEIPT, RECORD_ID, EMAIL))
