"""A form's route budget: submissions sent to kintone, counted across every caller; a
filled honeypot spends it as a real submission does and waits as long as one takes."""

from __future__ import annotations

import pytest
import yaml

from sekisho.errors import RouteBudgetExhausted
from sekisho.intake.timing import DEFAULT_SECONDS, AnswerTimes
from sekisho.policy.validation import parse_policy
from tests.unit.test_intake_service import POLICY, VALID, Harness

BOT = {"fields": {**VALID["fields"], "website": "https://spam.example"}}


def budgeted(budget: str) -> Harness:
    data = yaml.safe_load(POLICY)
    data["forms"]["seminar-apply"]["guard"] = {"per_ip": "100/hour", "budget": budget}
    return Harness(parse_policy(yaml.safe_dump(data, allow_unicode=True)))


def test_the_third_submission_past_a_budget_of_two_is_refused_whatever_the_client():
    intake = budgeted("2/day")
    intake.submit(ip="203.0.113.1")
    intake.submit(ip="203.0.113.2")

    with pytest.raises(RouteBudgetExhausted) as refused:
        intake.submit(ip="198.51.100.3")

    assert refused.value.problem()["code"] == "route_budget_exhausted"
    assert 0 < refused.value.retry_after <= 86_400
    assert len(intake.kintone.added) == 2


def test_a_refused_submission_is_not_remembered_under_its_idempotency_key():
    intake = budgeted("1/day")
    intake.submit()
    for _ in range(2):
        # Refused again, not "in progress" nor replayed: nothing was stored for the key,
        # so the retry after the window is a new attempt.
        with pytest.raises(RouteBudgetExhausted):
            intake.submit(idempotency_key="retry-me-later-0001")


def test_an_invalid_submission_spends_no_budget():
    intake = budgeted("1/day")
    with pytest.raises(Exception, match="not valid"):
        intake.submit({"fields": {"name": ""}})
    assert intake.submit().status_code == 201


def test_a_filled_honeypot_spends_the_budget_so_its_answer_cannot_differ():
    intake = budgeted("1/day")
    intake.service._answer_times = AnswerTimes(default=0)
    assert intake.submit(BOT).status_code == 201

    with pytest.raises(RouteBudgetExhausted):
        intake.submit(BOT)
    with pytest.raises(RouteBudgetExhausted):
        intake.submit()
    assert intake.kintone.added == []


def test_a_honeypot_waits_as_long_as_a_recorded_submission_took():
    times = AnswerTimes()
    assert times.sample() == DEFAULT_SECONDS, "before anything was recorded"
    for seconds in (0.31, 0.33, 0.35):
        times.record(seconds)
    assert {times.sample() for _ in range(200)} == {0.31, 0.33, 0.35}


def test_only_the_recent_durations_are_kept():
    times = AnswerTimes(keep=2)
    for seconds in (9.0, 0.2, 0.3):
        times.record(seconds)
    assert {times.sample() for _ in range(100)} == {0.2, 0.3}
