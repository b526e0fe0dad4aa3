"""schemathesis over every route of openapi.json, against the local stack's API.

Generated requests that fit the contract and requests that do not, for every view, form
and webhook source: the relay must never answer 5xx, every answer must be one the
contract declares (status, content type, headers, body), and every error must be an
RFC 9457 problem. The number of examples per route is bounded (FUZZ_EXAMPLES) and the
figures of the run are written to build/fuzz/summary.json.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

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

import devstack
from devstack.stack import RunningStack
from sekisho.intake.header import KEY_PATTERN

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
ROUTES = sorted(schema.raw_schema["paths"])
seen: dict[str, Counter[int]] = defaultdict(Counter)


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
    for section in ("views", "forms"):
        for route in policy[section].values():
            route.setdefault("guard", {})["per_ip"] = "100000/hour"
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[RunningStack]:
    policy = roomy_policy(tmp_path_factory.mktemp("fuzz"))
    with devstack.start(repo_root=REPO, policy=policy, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


@schema.parametrize()
def test_the_relay_answers_every_generated_request_as_its_contract_says(case, stack, http):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key):
        # The generator repeats its few simplest keys, and a key sent again with another
        # body is 422 by design; a fresh one lets the body itself reach the relay.
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    strict = any(case.path.startswith(prefix) for prefix in STRICT)
    checks = [*CHECKS, negative_data_rejection] if strict else CHECKS
    response = case.call_and_validate(base_url=stack.router_url, session=http, checks=checks)
    seen[case.path][response.status_code] += 1


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
    figures = {
        route: {"examples": seen[route].total(), "statuses": dict(sorted(seen[route].items()))}
        for route in ROUTES
    }
    SUMMARY.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures))
    assert all(figures[route]["examples"] > 0 for route in ROUTES), figures
