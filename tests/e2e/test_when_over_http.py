"""when: over HTTP on the local stack: a form whose period has ended answers 403 closed and
kintone hears nothing (the emulator counts every request it serves); a view open only to
10.0.0.0/8 refuses the stack's 127.0.0.1, whatever X-Forwarded-For says; a realm whose
period has not begun mails no code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from devstack import stack as devstack
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]
CLOSED = {"opens": "2020-01-01T00:00:00+09:00", "closes": "2021-01-01T00:00:00+09:00"}
LOOKUP = {"match": {"owner_id": "A1", "deal_id": "D000001"}}
APPLICATION = {"fields": {"name": "山田 花子", "email": "hanako@example.com", "seats": 2}}


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    policy["forms"]["seminar-apply"]["when"] = CLOSED
    policy["views"]["deal-status"]["when"] = {"networks": ["10.0.0.0/8"]}
    policy["realms"]["applicants"]["when"] = {"opens": "2099-04-01T09:00:00+09:00"}
    path = tmp_path_factory.mktemp("when") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(policy_file: Path) -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, policy=policy_file, pump=False) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def kintone_requests(stack: RunningStack) -> int:
    return int(stack.kintone.emulator.controls.stats()["requests"])


def problem_of(answer: requests.Response) -> dict:
    assert answer.headers["Content-Type"].startswith("application/problem+json"), answer.text
    return answer.json()


def test_a_form_whose_period_has_ended_answers_closed_without_calling_kintone(stack, http):
    before = kintone_requests(stack)
    answer = http.post(f"{stack.router_url}/forms/seminar-apply", json=APPLICATION, timeout=30)
    assert answer.status_code == 403, answer.text
    problem = problem_of(answer)
    assert (problem["code"], problem["closes"]) == ("closed", "2021-01-01T00:00:00+09:00")
    assert problem["type"] == "urn:sekisho:problem:closed"
    assert kintone_requests(stack) == before


def test_a_view_open_to_10_0_0_0_8_refuses_127_0_0_1_whatever_x_forwarded_for_says(stack, http):
    before = kintone_requests(stack)
    for headers in ({}, {"X-Forwarded-For": "10.1.2.3"}):
        answer = http.post(
            f"{stack.router_url}/views/deal-status", json=LOOKUP, headers=headers, timeout=30
        )
        assert answer.status_code == 403, answer.text
        problem = problem_of(answer)
        assert problem["code"] == "network_not_allowed"
        assert not {"opens", "closes", "next_open"} & set(problem)
    assert kintone_requests(stack) == before


def test_a_realm_not_open_yet_mails_no_code_and_says_when_it_opens(stack, http):
    before = kintone_requests(stack)
    answer = http.post(
        f"{stack.router_url}/sessions/applicants/code",
        json={"email": "hanako@example.com"},
        timeout=30,
    )
    assert answer.status_code == 403, answer.text
    problem = problem_of(answer)
    assert problem["code"] == "not_open_yet"
    assert problem["opens"] == "2099-04-01T09:00:00+09:00"
    assert kintone_requests(stack) == before


def test_the_routes_without_when_answer_as_usual(stack, http):
    answer = http.post(
        f"{stack.router_url}/views/my-applications", json={}, timeout=30
    )  # no session: the usual 401
    assert answer.status_code == 401, answer.text
