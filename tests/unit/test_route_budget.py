"""Route budgets: a view or form may spend only its declared share of kintone's daily
requests, counted across every caller, refused with 429 route_budget_exhausted past it,
with an operator metric at 80 %; `sekisho check` adds up each app's budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sekisho import metrics
from sekisho.cli import main
from sekisho.errors import RouteBudgetExhausted
from sekisho.guard.budget import spend_or_refuse
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.policy import Rate
from sekisho.policy.validation import parse_policy
from sekisho.policy.validation.lint import lint_policy

KEY = b"unit-test-hash-key-0123456789abcdef"
DAY = 86_400
MIDNIGHT = 1_800_057_600  # a multiple of 86,400: 00:00 UTC
SCOPE = "view:deal-status"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MIDNIGHT + 3600)


@pytest.fixture
def guard(clock) -> Guard:
    return Guard(InMemoryGuardStore(clock=clock), hash_key=KEY, clock=clock)


# ------------------------------------------------------------------------ the counter


def test_a_budget_admits_exactly_its_count_in_a_window_then_refuses_until_it_ends(guard, clock):
    budget = Rate.parse("3/day")
    for _ in range(3):
        spend_or_refuse(guard, SCOPE, budget)

    with pytest.raises(RouteBudgetExhausted) as refused:
        spend_or_refuse(guard, SCOPE, budget)

    assert refused.value.status == 429
    assert refused.value.problem()["code"] == "route_budget_exhausted"
    # An hour into the day: the budget comes back at the next midnight (UTC).
    assert refused.value.retry_after == DAY - 3600
    clock.now = MIDNIGHT + DAY
    spend_or_refuse(guard, SCOPE, budget)


def test_the_budget_of_one_route_is_not_spent_by_another(guard):
    budget = Rate.parse("1/hour")
    spend_or_refuse(guard, SCOPE, budget)
    spend_or_refuse(guard, "form:seminar-apply", budget)
    with pytest.raises(RouteBudgetExhausted):
        spend_or_refuse(guard, SCOPE, budget)


def test_the_guard_reads_an_exhausted_budget_with_the_lockout_counters(guard):
    budget = Rate.parse("2/day")
    failures = Rate.parse("5/hour")
    values = {"owner_id": "A1", "deal_id": "D000001"}
    assert guard.standing(SCOPE, values, failures, budget=budget).budget_exhausted is False
    for _ in range(2):
        spend_or_refuse(guard, SCOPE, budget)

    standing = guard.standing(SCOPE, values, failures, budget=budget)

    assert standing.budget_exhausted is True
    assert standing.locked is False
    assert standing.budget_resets_in == DAY - 3600


def test_the_request_that_spends_eighty_percent_writes_one_metric(guard, capsys):
    budget = Rate.parse("10/day")
    for _ in range(10):
        spend_or_refuse(guard, SCOPE, budget)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 1, "written once, by the 8th of 10"
    (directive,) = emf[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.NAMESPACE
    assert [m["Name"] for m in directive["Metrics"]] == [metrics.ROUTE_BUDGET_NEARLY_SPENT]
    assert directive["Dimensions"] == [["service"]]
    assert emf[0]["service"] == metrics.SERVICE
    assert emf[0][metrics.ROUTE_BUDGET_NEARLY_SPENT] == [1.0]
    assert (emf[0]["route"], emf[0]["spent"], emf[0]["limit"]) == (SCOPE, 8, 10)


def test_a_budget_counter_is_keyed_by_the_routes_scope(guard, clock):
    spend_or_refuse(guard, SCOPE, Rate.parse("5/day"))
    (key,) = guard._store.items()
    assert key == f"{SCOPE}#budget#{DAY}#{int(clock.now // DAY)}"


# ------------------------------------------------------------------------ leases


def shared_count(store: InMemoryGuardStore) -> int:
    ((count, _),) = store.items().values()
    return count


def two_containers(clock) -> tuple[InMemoryGuardStore, Guard, Guard]:
    store = InMemoryGuardStore(clock=clock)
    return store, *(Guard(store, hash_key=KEY, clock=clock) for _ in range(2))


def test_a_container_reserves_ten_units_at_once_of_a_large_budget(clock):
    store, guard, _ = two_containers(clock)
    budget = Rate.parse("1000/day")
    for _ in range(10):
        spend_or_refuse(guard, SCOPE, budget)
    assert (store.calls, shared_count(store)) == (1, 10)

    spend_or_refuse(guard, SCOPE, budget)

    assert (store.calls, shared_count(store)) == (2, 20)


def test_containers_sharing_a_budget_never_spend_more_than_it_together(clock):
    _, first, second = two_containers(clock)
    budget = Rate.parse("1005/day")
    spent = 0
    for n in range(1100):
        try:
            spend_or_refuse(first if n % 3 else second, SCOPE, budget)
            spent += 1
        except RouteBudgetExhausted:
            pass
    # Every reserved unit was spent by the container that holds it: exactly the budget.
    assert spent == 1005


def test_the_last_units_of_a_budget_are_reserved_one_by_one(clock):
    store, guard, other = two_containers(clock)
    budget = Rate.parse("1005/day")
    for _ in range(1000):
        spend_or_refuse(guard, SCOPE, budget)
    for _ in range(5):
        spend_or_refuse(other, SCOPE, budget)  # a lease of ten no longer fits

    with pytest.raises(RouteBudgetExhausted):
        spend_or_refuse(other, SCOPE, budget)
    assert shared_count(store) == 1005


def test_a_container_still_holding_units_is_not_told_the_budget_is_spent(clock):
    _, guard, other = two_containers(clock)
    budget = Rate.parse("200/day")
    failures = Rate.parse("5/hour")
    spend_or_refuse(guard, SCOPE, budget)  # reserves 2, spends 1
    for _ in range(198):
        spend_or_refuse(other, SCOPE, budget)

    assert guard.standing(SCOPE, {"v": "x"}, failures, budget=budget).budget_exhausted is False
    assert other.standing(SCOPE, {"v": "x"}, failures, budget=budget).budget_exhausted is True
    spend_or_refuse(guard, SCOPE, budget)
    assert guard.standing(SCOPE, {"v": "x"}, failures, budget=budget).budget_exhausted is True


def test_a_lease_of_an_ended_window_is_worth_nothing(clock):
    store, guard, _ = two_containers(clock)
    budget = Rate.parse("1000/hour")
    spend_or_refuse(guard, SCOPE, budget)
    clock.now += 3600

    spend_or_refuse(guard, SCOPE, budget)

    assert store.calls == 2, "the new hour's unit came from the new hour's counter"


def test_with_leases_the_eighty_percent_metric_is_still_written_once(clock, capsys):
    _, first, second = two_containers(clock)
    budget = Rate.parse("1000/day")
    for n in range(1000):
        spend_or_refuse(first if n % 2 else second, SCOPE, budget)

    emf = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(emf) == 1
    assert json.loads(emf[0])["spent"] == 800


# ------------------------------------------------------------------------ the policy

POLICY = """
kintone: {base_url: "https://example.cybozu.com"}
apps:
  1:
    name: deals
    fields: {担当ID: SINGLE_LINE_TEXT, 取引ID: SINGLE_LINE_TEXT, 取引名: SINGLE_LINE_TEXT}
  2:
    name: seminar
    fields: {受付ID: SINGLE_LINE_TEXT, 氏名: SINGLE_LINE_TEXT}
views:
  deal-status:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner_id: {code: 担当ID, pattern: '^[A-Z0-9]{1,12}$'}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名]
    guard: {budget: 3/day}
forms:
  seminar-apply:
    app: 2
    token_secret: sekisho/kintone/seminar-add
    receipt_field: 受付ID
    fields:
      name: {code: 氏名, type: text, max_length: 100}
    guard: {budget: 100/hour}
"""


def with_guard(section: str, name: str, guard: dict | None, **kintone) -> str:
    data = yaml.safe_load(POLICY)
    if guard is None:
        data[section][name].pop("guard")
    else:
        data[section][name]["guard"] = guard
    data["kintone"].update(kintone)
    return yaml.safe_dump(data, allow_unicode=True)


def test_a_budget_is_read_from_the_policy_as_a_rate():
    policy = parse_policy(POLICY)
    assert (
        policy.views["deal-status"].guard.budget.count,
        policy.views["deal-status"].guard.budget.window_seconds,
    ) == (3, DAY)
    assert policy.forms["seminar-apply"].guard.budget.per_day == 2400
    assert policy.kintone.daily_budget == 10_000


def test_a_route_declares_no_budget_unless_it_says_so():
    policy = parse_policy(with_guard("views", "deal-status", {"per_ip": "30/hour"}))
    assert policy.views["deal-status"].guard.budget is None


@pytest.mark.parametrize("budget", ["3/minute", "3/second", "0/day", "three/day", 3])
def test_a_budget_is_counted_per_hour_or_per_day_only(budget):
    with pytest.raises(Exception, match=r"budget|rate"):
        parse_policy(with_guard("views", "deal-status", {"budget": budget}))


def test_a_daily_budget_for_kintone_must_be_a_positive_count():
    with pytest.raises(Exception, match="daily_budget"):
        parse_policy(with_guard("views", "deal-status", {"budget": "3/day"}, daily_budget=0))


def warnings(text: str) -> list[str]:
    return [str(f) for f in lint_policy(parse_policy(text)) if "budget" in f.message]


def test_routes_within_their_apps_daily_budget_draw_no_warning():
    assert warnings(POLICY) == []


def test_a_route_without_a_budget_is_warned_about():
    (warning,) = warnings(with_guard("views", "deal-status", None))
    assert warning.startswith("warning: views.deal-status.guard: no budget")
    assert "app 1" in warning


def test_the_routes_of_one_app_together_over_kintones_daily_budget_are_warned_about():
    data = yaml.safe_load(POLICY)
    data["views"]["deal-status"]["guard"] = {"budget": "300/hour"}  # 7,200 a day
    data["views"]["deal-copy"] = {**data["views"]["deal-status"], "guard": {"budget": "4000/day"}}

    (warning,) = warnings(yaml.safe_dump(data, allow_unicode=True))

    assert "app 1 may together spend 11200 kintone requests a day" in warning
    assert "more than kintone.daily_budget (10000)" in warning


def test_a_smaller_declared_daily_budget_is_the_one_compared():
    found = warnings(with_guard("views", "deal-status", {"budget": "3/day"}, daily_budget=2))
    (warning,) = [w for w in found if "app 1" in w]
    assert "more than kintone.daily_budget (2)" in warning


def test_routes_of_different_apps_are_not_added_together():
    data = yaml.safe_load(POLICY)
    data["views"]["deal-status"]["guard"] = {"budget": "9000/day"}
    data["forms"]["seminar-apply"]["guard"] = {"budget": "9000/day"}
    assert warnings(yaml.safe_dump(data, allow_unicode=True)) == []


def test_sekisho_check_prints_a_budget_warning_and_fails_it_under_strict(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(with_guard("forms", "seminar-apply", None), encoding="utf-8")

    assert main(["check", str(path)]) == 0
    assert "forms.seminar-apply.guard: no budget" in capsys.readouterr().out
    assert main(["check", "--strict", str(path)]) == 1


def test_the_shipped_policy_budgets_every_route_a_stranger_can_call():
    policy = parse_policy((Path(__file__).resolve().parents[2] / "policy.yaml").read_text())
    assert all(view.guard.budget is not None for view in policy.views.values())
    assert all(form.guard.budget is not None for form in policy.forms.values())
