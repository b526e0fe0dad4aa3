"""The kintone client against the local emulator: typed errors, retries, breaker, tokens."""

import pytest
import requests

from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, Timeouts, TokenSource
from sekisho.kintone.errors import (
    KintoneBusy,
    KintoneCircuitOpen,
    KintoneConnectionError,
    KintoneInvalidToken,
    KintoneMaintenance,
    KintoneNotFound,
    KintonePermissionDenied,
    KintoneQueryError,
    KintoneTimeout,
    KintoneUniqueViolation,
    KintoneValidationError,
)
from sekisho.kintone.query import Predicate, compile_query
from sekisho.kintone.retry import RetryPolicy

pytestmark = pytest.mark.emulator

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, budget=5.0)


def client(kintone, token, *, retry=FAST_RETRY, breaker=None, refresh=None, timeouts=None):
    source = TokenSource(current=lambda: token) if refresh is None else refresh
    return KintoneClient(
        kintone.url,
        source,
        retry=retry,
        breaker=breaker or CircuitBreaker(failure_threshold=100),
        timeouts=timeouts,
    )


def admin(kintone, path, payload):
    response = requests.post(f"{kintone.url}/_emulator/{path}", json=payload, timeout=5)
    response.raise_for_status()


def requests_served(kintone) -> int:
    return requests.get(f"{kintone.url}/_emulator/stats", timeout=5).json()["requests"]


def owners(records):
    return sorted(r["取引ID"]["value"] for r in records)


def test_view_token_reads_records_with_a_projection(kintone):
    page = client(kintone, "deals-view-token").get_records(
        1, '取引ID = "D000001"', fields=["取引ID", "金額"], total_count=True
    )
    assert page.total_count == 1
    assert page.records == [
        {
            "取引ID": {"type": "SINGLE_LINE_TEXT", "value": "D000001"},
            "金額": {"type": "NUMBER", "value": "1200000"},
        }
    ]


def test_compiled_owner_predicate_returns_only_that_owners_records(kintone):
    query = compile_query([Predicate("担当ID", "SINGLE_LINE_TEXT", "A1")])
    page = client(kintone, "deals-view-token").get_records(1, query, fields=["取引ID"])
    assert owners(page.records) == ["D000001", "D000002", "D000003"]


@pytest.mark.parametrize(
    ("owner", "deal"),
    [
        ("A1 ", "D000011"),
        ('Q"1', "D000012"),
        ("B\\", "D000013"),
        ("田中", "D000014"),
        ("a1", "D000015"),
    ],
)
def test_owner_values_with_quotes_backslashes_and_spaces_match_exactly(kintone, owner, deal):
    query = compile_query([Predicate("担当ID", "SINGLE_LINE_TEXT", owner)])
    page = client(kintone, "deals-view-token").get_records(1, query, fields=["取引ID"])
    assert owners(page.records) == [deal]


def test_a_value_crafted_to_close_the_literal_matches_nothing(kintone):
    query = compile_query([Predicate("担当ID", "SINGLE_LINE_TEXT", 'x" or 担当ID != "')])
    assert client(kintone, "deals-view-token").get_records(1, query).records == []


def test_add_only_token_cannot_read_records_and_is_not_retried(kintone):
    before = requests_served(kintone)
    with pytest.raises(KintonePermissionDenied) as caught:
        client(kintone, "deals-add-token").get_records(1, "")
    assert caught.value.kintone_code == "GAIA_NO01"
    assert caught.value.http_status == 403
    assert requests_served(kintone) - before == 1


def test_view_token_of_another_app_is_permission_denied(kintone):
    with pytest.raises(KintonePermissionDenied):
        client(kintone, "seminar-view-token").get_records(1, "")


def test_view_token_cannot_add_records(kintone):
    with pytest.raises(KintonePermissionDenied):
        client(kintone, "deals-view-token").add_record(1, {"取引ID": "D999999"})


def test_unknown_token_is_invalid_and_not_retried_without_a_refresh(kintone):
    before = requests_served(kintone)
    with pytest.raises(KintoneInvalidToken) as caught:
        client(kintone, "no-such-token").get_records(1, "")
    assert caught.value.kintone_code == "GAIA_IA02"
    assert requests_served(kintone) - before == 1


def test_invalid_token_refreshes_the_secret_once_and_retries_once(kintone):
    tokens = iter(["revoked-token", "deals-view-token"])
    state = {"token": next(tokens), "refreshes": 0}

    def refresh():
        state["refreshes"] += 1
        state["token"] = next(tokens)
        return True

    source = TokenSource(current=lambda: state["token"], refresh=refresh)
    page = client(kintone, None, refresh=source).get_records(1, '取引ID = "D000002"')
    assert owners(page.records) == ["D000002"]
    assert state["refreshes"] == 1


def test_a_refresh_that_still_gives_an_invalid_token_fails_after_one_retry(kintone):
    calls = []
    source = TokenSource(current=lambda: "still-wrong", refresh=lambda: calls.append(1) or True)
    before = requests_served(kintone)
    with pytest.raises(KintoneInvalidToken):
        client(kintone, None, refresh=source).get_records(1, "")
    assert calls == [1]
    assert requests_served(kintone) - before == 2


def test_a_raw_newline_inside_a_literal_is_a_query_syntax_error(kintone):
    with pytest.raises(KintoneQueryError) as caught:
        client(kintone, "deals-view-token").get_records(1, '担当ID = "A\n1"')
    assert caught.value.kintone_code == "CB_VA01"
    assert "query" in caught.value.field_errors


def test_drop_down_with_equals_is_refused_by_kintone(kintone):
    with pytest.raises(KintoneQueryError) as caught:
        client(kintone, "deals-view-token").get_records(1, 'ステータス = "取消"')
    assert caught.value.kintone_code == "GAIA_IQ03"


def test_maintenance_page_is_retried_then_raised_as_a_typed_error(kintone):
    admin(kintone, "maintenance", {"enabled": True})
    before = requests_served(kintone)
    with pytest.raises(KintoneMaintenance) as caught:
        client(kintone, "deals-view-token").get_records(1, "")
    assert caught.value.http_status == 503
    assert requests_served(kintone) - before == FAST_RETRY.max_attempts


def test_concurrency_limit_answers_are_retried_then_raised_as_busy(kintone):
    admin(kintone, "faults", {"rate_429": 1.0})
    before = requests_served(kintone)
    with pytest.raises(KintoneBusy) as caught:
        client(kintone, "deals-view-token").get_records(1, "")
    assert caught.value.kintone_code == "GAIA_TO04"
    assert requests_served(kintone) - before == FAST_RETRY.max_attempts


def test_a_transient_failure_followed_by_success_returns_the_records(kintone):
    admin(kintone, "maintenance", {"enabled": True})
    sleeps = []

    def sleep_then_end_maintenance(seconds):
        sleeps.append(seconds)
        admin(kintone, "maintenance", {"enabled": False})

    kc = KintoneClient(
        kintone.url,
        TokenSource.fixed("deals-view-token"),
        retry=FAST_RETRY,
        breaker=CircuitBreaker(),
        sleep=sleep_then_end_maintenance,
    )
    assert len(kc.get_records(1, "").records) == 9
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= FAST_RETRY.base_delay


def test_retries_stop_when_the_time_budget_would_be_exceeded(kintone):
    admin(kintone, "maintenance", {"enabled": True})
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1.0, budget=0.0)
    before = requests_served(kintone)
    with pytest.raises(KintoneMaintenance):
        client(kintone, "deals-view-token", retry=policy).get_records(1, "")
    assert requests_served(kintone) - before == 1


def test_the_breaker_opens_after_repeated_failures_and_stops_calling_kintone(kintone):
    admin(kintone, "maintenance", {"enabled": True})
    breaker = CircuitBreaker(failure_threshold=2, reset_after=60)
    kc = client(kintone, "deals-view-token", breaker=breaker)
    with pytest.raises(KintoneCircuitOpen):
        kc.get_records(1, "")
    assert breaker.state == "open"
    admin(kintone, "maintenance", {"enabled": False})
    before = requests_served(kintone)
    with pytest.raises(KintoneCircuitOpen):
        kc.get_records(1, "")
    assert requests_served(kintone) == before


def test_a_slow_kintone_is_a_timeout(kintone):
    admin(kintone, "faults", {"latency_ms": 400})
    with pytest.raises(KintoneTimeout):
        client(kintone, "deals-view-token", timeouts=Timeouts(connect=1, read=0.05)).get_records(
            1, ""
        )


def test_an_unreachable_kintone_is_a_connection_error(unused_loopback_url):
    kc = KintoneClient(
        unused_loopback_url,
        TokenSource.fixed("deals-view-token"),
        retry=FAST_RETRY,
        breaker=CircuitBreaker(),
    )
    with pytest.raises(KintoneConnectionError):
        kc.get_records(1, "")


def test_a_query_too_long_for_a_url_goes_as_post_with_method_override(kintone):
    deals = [f"D{n:06d}" for n in range(1, 700)]
    query = compile_query([Predicate("取引ID", "SINGLE_LINE_TEXT", deals)])
    assert len(query) > 6000
    page = client(kintone, "deals-view-token").get_records(1, query, fields=["取引ID"])
    assert owners(page.records) == [
        "D000001",
        "D000002",
        "D000003",
        "D000010",
        "D000011",
        "D000012",
        "D000013",
        "D000014",
        "D000015",
    ]


def test_get_record_returns_one_record_and_a_missing_one_is_not_found(kintone):
    kc = client(kintone, "deals-view-token")
    assert kc.get_record(1, 1)["取引ID"]["value"] == "D000001"
    with pytest.raises(KintoneNotFound):
        kc.get_record(1, 99999)


def test_add_record_returns_id_and_revision_and_the_record_reads_back(kintone):
    added = client(kintone, "seminar-add-token").add_record(
        2, {"受付ID": "r-1", "氏名": "山田 花子", "メール": "hanako@example.com", "人数": "2"}
    )
    assert added.revision == "1"
    record = client(kintone, "seminar-view-token").get_record(2, added.id)
    assert record["氏名"]["value"] == "山田 花子"


def test_a_duplicate_receipt_is_a_unique_violation_on_that_field(kintone):
    kc = client(kintone, "seminar-add-token")
    submission = {"受付ID": "r-dup", "氏名": "A", "メール": "a@example.com"}
    kc.add_record(2, submission)
    with pytest.raises(KintoneUniqueViolation) as caught:
        kc.add_record(2, submission)
    assert caught.value.duplicate_fields() == {"受付ID"}


def test_missing_required_fields_are_a_validation_error_with_paths(kintone):
    with pytest.raises(KintoneValidationError) as caught:
        client(kintone, "seminar-add-token").add_record(2, {"受付ID": "r-2"})
    assert not isinstance(caught.value, KintoneUniqueViolation)
    assert caught.value.fields() == {"氏名", "メール"}


def test_an_uploaded_file_is_attached_in_the_record_add(kintone):
    kc = client(kintone, "seminar-add-token")
    key = kc.upload_file("cv.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")
    added = kc.add_record(
        2, {"受付ID": "r-3", "氏名": "B", "メール": "b@example.com", "履歴書": [{"fileKey": key}]}
    )
    files = client(kintone, "seminar-view-token").get_record(2, added.id)["履歴書"]["value"]
    assert [(f["name"], f["contentType"]) for f in files] == [("cv.pdf", "application/pdf")]


def test_form_fields_describe_the_app(kintone):
    fields = client(kintone, "deals-view-token").get_form_fields(1)
    assert fields["ステータス"]["type"] == "DROP_DOWN"
    assert fields["取引ID"]["unique"] is True
