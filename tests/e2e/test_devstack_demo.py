"""`make dev` with the real template.yaml, policy.yaml and functions: what the banner promises
a developer works, and the demo page's origin is one the lookup function allows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import devstack
from devstack.cli import DEMO_BODY, banner
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO) as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def test_banner_curl_line_finds_the_demo_deal(
    stack: RunningStack, client: requests.Session
) -> None:
    assert f"curl -s -X POST {stack.router_url}/views/deal-status" in banner(stack)

    answer = client.post(
        stack.router_url + "/views/deal-status",
        data=DEMO_BODY,
        headers={"content-type": "application/json"},
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["records"] == [
        {"取引名": "倉庫管理システム更改", "金額": "1200000", "ステータス": "商談中"}
    ]


def test_demo_page_origin_passes_the_lookup_functions_cors_check(
    stack: RunningStack, client: requests.Session
) -> None:
    preflight = client.options(
        stack.router_url + "/views/deal-status",
        headers={
            "Origin": stack.router_url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    page = client.get(stack.router_url + "/", timeout=30)

    assert preflight.headers["Access-Control-Allow-Origin"] == stack.router_url
    assert page.status_code == 200
    assert 'action="/views/deal-status"' in page.text


def test_unknown_route_answers_with_the_templates_gateway_response(
    stack: RunningStack, client: requests.Session
) -> None:
    answer = client.get(stack.router_url + "/views/deal-status", timeout=30)

    # The template turns API Gateway's 403 "Missing Authentication Token" into a problem.
    assert answer.status_code == 404
    assert json.loads(answer.text)["code"] == "not_found"
    assert answer.headers["Access-Control-Allow-Origin"] == stack.router_url
