"""schemathesis over every route of openapi.json, against the local stack's API.

Generated requests that fit the contract and requests that do not, for every view, form
and webhook source: the relay must never answer 5xx, every answer must be one the
contract declares (status, content type, headers, body), and every error must be an
RFC 9457 problem. The number of examples per route is bounded (FUZZ_EXAMPLES) and the
figures of the run are written to build/fuzz/summary.json.

A generated webhook request would stop at the signature: nothing random matches a key.
So most are signed with the source's real key from the stack's moto, each scheme its own
way, over the bytes that are sent, and most of those bodies also carry what the scheme
reads after the signature (an event id, kintone's app and record) beside what was
generated (tests/fuzz/webhook_deliveries.py). The rest are signed wrongly or left as
generated, and must be 401. A request the contract refuses keeps what makes it invalid
when it is signed, so negative_data_rejection still holds the relay to the contract.

"Past the verifier" is the relay's own word, not a guess from the status (a 401 is the
answer to a forgery, and also to a verified notification naming a record that does not
exist): the workers' output goes to a file, and a request got past when the webhook
function logged its ``webhook.receipt`` audit line with ``outcome="verified"`` (the
scheme's verifier accepted it: signature, time window, dedupe id), matched to the request
by the API request id (``x-amzn-RequestId``, the lines' ``correlation_id``). A matched
signature over a body the verifier cannot take an id from is therefore not counted as
past it; the audit's refusal reasons in the summary show those. The summary gives, per
source, the signed, wrongly signed and unsigned requests, their statuses, how many got
past the verifier, their statuses and the relay's last outcome for them, and 5xx. No
secret is printed or written: the kintone token goes to the transport, not into the case
(and schemathesis masks ``token`` in what it reports), the keys only sign, and a test
checks that neither the workers' log nor the summary holds one.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import schemathesis
import yaml
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack import stack as devstack
from devstack.mailbox import latest_code
from devstack.provision import local_secret_name
from devstack.stack import RunningStack
from sekisho.intake.header import KEY_PATTERN
from sekisho.policy.validation.loader import read_policy
from tests.fuzz.webhook_deliveries import (
    PREFIX,
    SIGNED,
    Tally,
    WebhookDeliveries,
    WorkerLog,
    children_writing_to,
)

REPO = Path(__file__).resolve().parents[2]
SUMMARY = REPO / "build" / "fuzz" / "summary.json"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
IDEMPOTENCY_KEY = re.compile(KEY_PATTERN)
PROBLEM_MEMBERS = {"type", "title", "status", "code"}

schema = schemathesis.openapi.from_path(REPO / "openapi.json")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    database="none",
)
# A body past the route's size limit is refused with 413 before it is read: a rejection
# too (a cursor longer than its maxLength, written as \u escapes, can pass 16 KB).
schema.config.checks.negative_data_rejection.expected_statuses.append("413")
ROUTES = sorted(schema.raw_schema["paths"])
WEBHOOK_ROUTES = [route for route in ROUTES if route.startswith(PREFIX)]
seen: dict[str, Counter[int]] = defaultdict(Counter)
webhooks = Tally()


def problem_document(ctx, response, case) -> None:
    """Every answer that is not 2xx is an RFC 9457 problem with a stable code."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), content_type
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_MEMBERS, body
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:sekisho:problem:{body['code']}"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    problem_document,
]
# A request the contract refuses must be refused by the relay too: the relay is at least
# as strict as what it publishes. Not for forms: intake normalises before it validates
# (NFC, trimming; a blank optional value is absent), so " 2" for a number or a name with
# a trailing space past max_length is accepted, and JSON Schema cannot say "after
# trimming". Their schema is the canonical value a client sends.
STRICT = {"/views/", "/webhooks/"}


def roomy_policy(tmp: Path) -> Path:
    """policy.yaml with per-IP limits far above the run, so the fuzzer reaches past the
    guard instead of meeting 429 after the 30th request."""
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    for section in ("views", "forms", "realms"):
        for route in policy[section].values():
            route.setdefault("guard", {})["per_ip"] = "100000/hour"
    for realm in policy["realms"].values():
        realm["guard"] |= {"per_address": "100000/hour", "failures_per_key": "100000/hour"}
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def stack(fuzz_dir: Path) -> Iterator[RunningStack]:
    policy = roomy_policy(fuzz_dir)
    # The workers are spawned by start(): their log lines go where its stdout and stderr
    # point then, and the webhook checks read them there.
    with children_writing_to(fuzz_dir / "workers.log"):
        # A code request answers at its floor: short here, or the run would take minutes.
        running = devstack.start(
            repo_root=REPO, policy=policy, pump=False, parameters={"CodeRequestFloorMs": "50"}
        )
    with running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture(scope="module")
def aws(stack: RunningStack) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    return lambda service: session.client(service, endpoint_url=stack.moto_url)


@pytest.fixture(scope="module")
def deliveries(stack: RunningStack, aws, fuzz_dir: Path) -> WebhookDeliveries:
    hooks = read_policy(fuzz_dir / "policy.yaml").webhooks
    manager = aws("secretsmanager")
    secrets = {
        source: json.loads(
            manager.get_secret_value(SecretId=local_secret_name(hook.secret))["SecretString"]
        )
        for source, hook in hooks.items()
    }
    # The records a refetch source's notifications can name: those its app holds now.
    store = stack.kintone.emulator.store
    record_ids = {
        source: [int(record["$id"]["value"]) for record in store.records(hook.refetch.app)]
        for source, hook in hooks.items()
        if hook.refetch is not None
    }
    return WebhookDeliveries(hooks, secrets, record_ids, WorkerLog(fuzz_dir / "workers.log"))


# Routes a session opens: the fuzzer's own requests carry the session of a signed-in
# applicant (unless it generated an Authorization header itself), so its bodies reach past
# the session check. Never on sign-out: that would end the session for the rest.
SESSION_ROUTES = ("/views/my-applications", "/forms/seminar-apply/entries/")


@pytest.fixture(scope="module")
def session_token(stack: RunningStack, http: requests.Session) -> str:
    email = "hanako@example.com"
    asked = http.post(
        f"{stack.router_url}/sessions/applicants/code", json={"email": email}, timeout=10
    )
    assert asked.status_code == 202
    code = latest_code(stack.moto_url, email)
    signed = http.post(
        f"{stack.router_url}/sessions/applicants",
        json={"email": email, "code": code},
        timeout=10,
    )
    assert signed.status_code == 201, signed.text
    return str(signed.json()["token"])


def request_id(response) -> str | None:
    for name, value in response.headers.items():
        if name.lower() == "x-amzn-requestid":
            return value[0] if isinstance(value, list) else value
    return None


@schema.parametrize()
def test_the_relay_answers_every_generated_request_as_its_contract_says(
    case, stack, http, deliveries, session_token
):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key):
        # The generator repeats its few simplest keys, and a key sent again with another
        # body is 422 by design; a fresh one lets the body itself reach the relay.
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    if case.path.startswith(SESSION_ROUTES) and "Authorization" not in (case.headers or {}):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {session_token}"}
    prepared = deliveries.prepare(case)
    strict = any(case.path.startswith(prefix) for prefix in STRICT)
    checks = [*CHECKS, negative_data_rejection] if strict else CHECKS
    sent = prepared.transport() if prepared is not None else {}
    response = case.call_and_validate(
        base_url=stack.router_url, session=http, checks=checks, **sent
    )
    seen[case.path][response.status_code] += 1
    if prepared is None:
        return
    answered = deliveries.answered(prepared, response.status_code, request_id(response))
    webhooks.add(answered)
    if prepared.kind != SIGNED:
        # The contract allows a 200 too: only this says a forgery must not pass.
        assert (answered.status, answered.past_verifier) == (401, False), (
            prepared.source,
            prepared.kind,
            prepared.how,
            answered.outcomes,
        )


# Answers a fuzzer cannot reach by chance (a record it would have to guess, kintone in
# maintenance), checked against the contract the same way.
LOOKUP = {"match": {"owner_id": "A1", "deal_id": "D000001"}}
APPLICATION = {"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}}


def answer(http: requests.Session, stack: RunningStack, path: str, body: dict, **headers: str):
    case = schema[path]["POST"].Case(body=body, headers=headers or None)
    # A 503 is the expected answer here: the contract checks without not_a_server_error.
    checks = [check for check in CHECKS if check is not not_a_server_error]
    return case.call_and_validate(base_url=stack.router_url, session=http, checks=checks)


def test_a_found_record_is_answered_as_the_contract_says(stack, http):
    response = answer(http, stack, "/views/deal-status", LOOKUP)

    assert response.status_code == 200
    assert response.json()["records"]


def test_a_granted_upload_is_answered_as_the_contract_says(stack, http):
    body = {
        "field": "materials",
        "name": "資料.pdf",
        "size": 1024,
        "content_type": "application/pdf",
    }
    response = answer(http, stack, "/forms/seminar-apply/uploads", body)

    assert response.status_code == 201
    assert response.json()["url"].startswith(stack.moto_url)


def test_kintone_in_maintenance_is_answered_as_the_contract_says(stack, http):
    maintenance = f"{stack.kintone.url}/_emulator/maintenance"
    http.post(maintenance, json={"enabled": True}, timeout=10).raise_for_status()
    try:
        queued = answer(
            http,
            stack,
            "/forms/seminar-apply",
            APPLICATION,
            **{"Idempotency-Key": str(uuid.uuid4())},
        )
        lookup = answer(http, stack, "/views/deal-status", LOOKUP)
    finally:
        http.post(maintenance, json={"enabled": False}, timeout=10).raise_for_status()

    assert (queued.status_code, queued.json()["status"]) == (202, "queued")
    assert (lookup.status_code, lookup.json()["code"]) == (503, "upstream_unavailable")


def test_every_route_of_the_contract_was_fuzzed_and_the_figures_are_written():
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        route: {"examples": seen[route].total(), "statuses": dict(sorted(seen[route].items()))}
        for route in ROUTES
    }
    for route in WEBHOOK_ROUTES:
        figures[route]["deliveries"] = webhooks.figures(route.removeprefix(PREFIX))
    SUMMARY.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))
    assert all(figures[route]["examples"] > 0 for route in ROUTES), figures


def test_every_webhook_source_had_signed_deliveries_past_the_verifier_and_none_answered_5xx():
    figures = {route: webhooks.figures(route.removeprefix(PREFIX)) for route in WEBHOOK_ROUTES}
    for route, kinds in figures.items():
        signed = kinds[SIGNED]
        assert signed["past_verifier"] > 0, (route, signed)
        # Some got all the way: verified, deduplicated (refetched) and queued.
        assert signed["past_verifier_statuses"].get("200", 0) > 0, (route, signed)
        for kind, counted in kinds.items():
            assert counted["5xx"] == 0, (route, kind, counted)
            if kind != SIGNED:
                assert counted["past_verifier"] == 0, (route, kind, counted)


def test_no_secret_of_the_stack_is_in_the_workers_log_or_the_summary(stack, aws, fuzz_dir):
    manager = aws("secretsmanager")
    values = {}
    for name in stack.secret_names:
        secret = json.loads(manager.get_secret_value(SecretId=name)["SecretString"])
        for member, value in secret.items():
            # A key or token is long; the shape's own words ("kind": "hmac") are not, and
            # would be found in any text.
            if isinstance(value, str) and len(value) >= 16:
                values[f"{name}:{member}"] = value
    written = (fuzz_dir / "workers.log").read_text("utf-8", "replace") + SUMMARY.read_text(
        encoding="utf-8"
    )
    # Names only: the assertion message must not show a value either.
    assert values
    assert [name for name, value in values.items() if value in written] == []
