"""The lookup route over HTTP on the local stack, each function in two worker processes:
what a browser (or an attacker with curl) gets, and a guard that holds across containers."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from devstack import emf_log
from devstack import stack as devstack
from devstack.metrics_report import summarise
from devstack.stack import RunningStack

REPO = Path(__file__).resolve().parents[2]
PROJECTED = {"取引名", "金額", "ステータス"}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def lookup(stack, http, match, *, raw=None) -> requests.Response:
    return http.post(
        f"{stack.router_url}/views/deal-status",
        json=None if raw is not None else {"match": match},
        data=raw,
        headers={"content-type": "application/json"},
        timeout=30,
    )


def test_the_right_pair_returns_one_record_with_exactly_the_projected_fields(stack, http):
    answer = lookup(stack, http, {"owner_id": "A1", "deal_id": "D000001"})
    assert answer.status_code == 200
    (record,) = answer.json()["records"]
    assert set(record) == PROJECTED
    assert answer.headers["Cache-Control"] == "no-store"


ATTEMPTS = [
    {"owner_id": "A1", "deal_id": "D000002x"},
    {"owner_id": "A1", "deal_id": "D000010"},
    {"owner_id": "A1"},
    {"deal_id": "D000001"},
    {"owner_id": "A1", "deal_id": "D000001", "取引ID": "D000002"},
    {"owner_id": "A1", "deal_id": "D000001", "社内メモ": "x"},
    {"owner_id": 'A1" or 担当ID != "', "deal_id": "D000001"},
    {"owner_id": "A1\\", "deal_id": "D000001"},
    {"owner_id": "A1", "deal_id": 'D000001" or "1" = "1'},
    {"owner_id": "TODAY()", "deal_id": "D000001"},
    {"owner_id": ") or (", "deal_id": "D000001"},
    {"owner_id": "A1\n", "deal_id": "D000001"},
    {"owner_id": "", "deal_id": ""},
    {"owner_id": None, "deal_id": "D000001"},
    {"owner_id": {"$ne": ""}, "deal_id": "D000001"},
    {"owner_id": ["A1"], "deal_id": ["D000001"]},
]


@pytest.mark.parametrize("match", ATTEMPTS, ids=[str(i) for i in range(len(ATTEMPTS))])
def test_anything_but_the_right_pair_returns_no_record_and_never_a_server_error(stack, http, match):
    answer = lookup(stack, http, match)
    assert answer.status_code in (400, 404), answer.text
    assert "records" not in answer.json()
    assert answer.json()["code"] in ("validation_failed", "not_found")


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ('{"match": ', "application/json", 400),
        ('{"match": {"owner_id": "A1", "deal_id": "D000001"}} x', "application/json", 400),
        ("owner_id=A1&deal_id=D000001", "application/x-www-form-urlencoded", 415),
        (
            '{"match": {"owner_id": "A1", "owner_id": "B\\\\", "deal_id": "D000013"}}',
            "application/json",
            400,
        ),
        ("[" * 100_000, "application/json", 413),
    ],
    ids=["truncated", "trailing-garbage", "form-encoded", "duplicate-key", "huge"],
)
def test_malformed_bodies_get_a_4xx_problem(stack, http, raw, content_type, status):
    answer = http.post(
        f"{stack.router_url}/views/deal-status",
        data=raw.encode(),
        headers={"content-type": content_type},
        timeout=30,
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_a_locked_out_owner_gets_not_found_even_for_the_right_pair(stack, http):
    wrong = [{"owner_id": "田中", "deal_id": f"D10000{n}"} for n in range(1, 6)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # both worker processes take some
        statuses = list(pool.map(lambda m: lookup(stack, http, m).status_code, wrong))
    assert statuses == [404] * 5
    assert lookup(stack, http, {"owner_id": "田中", "deal_id": "D000014"}).status_code == 404
    assert lookup(stack, http, {"owner_id": "B\\", "deal_id": "D000013"}).status_code == 200


def test_a_route_budget_of_three_a_day_answers_the_fourth_lookup_429(tmp_path, http):
    policy = (REPO / "policy.yaml").read_text(encoding="utf-8")
    assert "budget: 5000/day" in policy
    policy = policy.replace("budget: 5000/day", "budget: 3/day")
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    with devstack.start(repo_root=REPO, workers=2, policy=tmp_path / "policy.yaml") as stack:
        match = {"owner_id": "A1", "deal_id": "D000001"}
        answers = [lookup(stack, http, match) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["code"] == "route_budget_exhausted"
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert 0 < int(refused.headers["Retry-After"]) <= 86_400


def test_the_ip_limit_answers_429_once_the_hour_is_spent(tmp_path, http):
    policy = (REPO / "policy.yaml").read_text(encoding="utf-8")
    policy = policy.replace("per_ip: 30/hour", "per_ip: 3/hour")
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    with devstack.start(repo_root=REPO, workers=2, policy=tmp_path / "policy.yaml") as stack:
        match = {"owner_id": "A1", "deal_id": "D000001"}
        statuses = [lookup(stack, http, match).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_each_answer_is_counted_in_the_metrics_make_metrics_reads(stack, http):
    def requests_ok() -> int:
        found = summarise(emf_log.lines(stack.metrics_log))
        return sum(
            s.count
            for s in found
            if s.name == "Requests"
            and dict(s.dimensions)
            == {"service": "sekisho", "route": "view:deal-status", "outcome": "ok"}
        )

    before = requests_ok()
    assert lookup(stack, http, {"owner_id": "A1", "deal_id": "D000001"}).status_code == 200
    # The worker writes the line before it answers.
    assert requests_ok() == before + 1
