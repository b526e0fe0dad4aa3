"""The probe's judgement of kintone's answers, against a scripted client.

The emulator shows the probe end to end (tests/integration/test_token_probe.py); here
each of kintone's possible answers, including ones the emulator never gives (a 2xx to a
probe write, a lookup field, kintone in a different order), is scripted one at a time.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from sekisho.kintone.client import AddedRecord, RecordsPage
from sekisho.kintone.errors import (
    KintoneError,
    KintoneInvalidToken,
    KintoneMaintenance,
    KintoneNotFound,
    KintonePermissionDenied,
    KintoneTimeout,
    KintoneValidationError,
)
from sekisho.policy import AppPolicy
from sekisho.tokens import (
    PERMISSIONS,
    PROBE_RECORD_ID,
    PROBE_VALUE,
    DeclaredToken,
    ProbeReport,
    ProbeRow,
    probe_client,
    probe_token,
)

APP = 7
SECRET = "tokens/app7-view"
VIEW_TOKEN = DeclaredToken(SECRET, APP, frozenset({"view"}), ("views.status", "views.other"))
DEALS = AppPolicy(name="deals", fields={"取引名": "SINGLE_LINE_TEXT", "金額": "NUMBER"})
LIVE_FIELDS = {
    "取引名": {"type": "SINGLE_LINE_TEXT", "code": "取引名"},
    "金額": {"type": "NUMBER", "code": "金額"},
}


def denied() -> KintonePermissionDenied:
    return KintonePermissionDenied("no", kintone_code="GAIA_NO01", http_status=403)


def invalid_value(path: str = "record[金額].value") -> KintoneValidationError:
    return KintoneValidationError(
        "Missing or invalid input.",
        kintone_code="CB_VA01",
        http_status=400,
        field_errors={path: ["Only numbers are allowed."]},
    )


def record_not_found() -> KintoneNotFound:
    return KintoneNotFound("no record", kintone_code="GAIA_RE01", http_status=404)


def invalid_token() -> KintoneInvalidToken:
    return KintoneInvalidToken("bad token", kintone_code="GAIA_IA02", http_status=400)


# What the emulator answers a view-only token: the reads work, every write is refused.
VIEW_ONLY: dict[str, Any] = {
    "get_records": RecordsPage(records=[]),
    "get_form_fields": LIVE_FIELDS,
    "add_record": denied(),
    "update_record": denied(),
    "delete_records": denied(),
    "get_preview_form_fields": denied(),
}


class ScriptedKintone:
    """kintone's answer per client method: a value to return or an error to raise."""

    def __init__(self, **answers: Any) -> None:
        self.answers = {**VIEW_ONLY, **answers}
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def _answer(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((method, args, kwargs))
        answer = self.answers[method]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_records(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("get_records", *args, **kwargs)

    def get_form_fields(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("get_form_fields", *args, **kwargs)

    def add_record(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("add_record", *args, **kwargs)

    def update_record(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("update_record", *args, **kwargs)

    def delete_records(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("delete_records", *args, **kwargs)

    def get_preview_form_fields(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("get_preview_form_fields", *args, **kwargs)

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.calls]

    def call(self, method: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        [(args, kwargs)] = [(a, k) for m, a, k in self.calls if m == method]
        return args, kwargs


def probe(
    kintone: ScriptedKintone, declared: DeclaredToken = VIEW_TOKEN, app: AppPolicy = DEALS
) -> ProbeReport:
    return probe_token(kintone, declared, app)  # type: ignore[arg-type]


def observed(report: ProbeReport) -> dict[str, str]:
    return {row.permission: row.observed for row in report.rows}


# -- rows and reports -------------------------------------------------------------------

ROW_CASES = [
    pytest.param(True, "allowed", True, id="declared_and_allowed_is_ok"),
    pytest.param(False, "denied", True, id="undeclared_and_denied_is_ok"),
    pytest.param(False, "allowed", False, id="undeclared_but_allowed_is_excess"),
    pytest.param(True, "denied", False, id="declared_but_denied_is_missing"),
    pytest.param(True, "invalid_token", False, id="invalid_token_is_never_ok_when_declared"),
    pytest.param(False, "invalid_token", False, id="invalid_token_is_never_ok_when_undeclared"),
    pytest.param(False, "unknown:KintoneMaintenance", False, id="unknown_is_never_ok"),
    pytest.param(True, "unknown:no field to probe with", False, id="no_probe_field_is_not_ok"),
]


@pytest.mark.parametrize(("expected", "seen", "ok"), ROW_CASES)
def test_a_row_is_ok_only_when_kintone_answered_as_declared(
    expected: bool, seen: str, ok: bool
) -> None:
    assert ProbeRow("add", expected, seen).ok is ok


def test_a_report_names_excess_and_missing_permissions() -> None:
    report = ProbeReport(
        SECRET,
        APP,
        (
            ProbeRow("view", True, "denied"),
            ProbeRow("add", False, "allowed"),
            ProbeRow("edit", False, "denied"),
            ProbeRow("delete", True, "unknown:KintoneTimeout"),
            ProbeRow("manage", False, "allowed"),
        ),
    )

    assert not report.ok
    assert report.excess == ("add", "manage")
    assert report.missing == ("view", "delete")


def test_a_report_without_rows_proves_nothing() -> None:
    assert not ProbeReport(SECRET, APP, ()).ok


# -- the method -------------------------------------------------------------------------


def test_a_view_only_token_declared_view_passes() -> None:
    report = probe(ScriptedKintone())

    assert report.ok
    assert (report.secret, report.app) == (SECRET, APP)
    assert [row.permission for row in report.rows] == list(PERMISSIONS)


def test_the_read_comes_first_and_asks_for_one_id_only() -> None:
    kintone = ScriptedKintone()

    probe(kintone)

    assert kintone.methods()[0] == "get_records"
    assert kintone.call("get_records") == ((APP, "limit 1"), {"fields": ["$id"]})


def test_every_write_carries_the_refused_value_and_the_missing_record() -> None:
    kintone = ScriptedKintone()

    probe(kintone)

    assert kintone.call("add_record") == ((APP, {"金額": PROBE_VALUE}), {})
    assert kintone.call("update_record") == ((APP, PROBE_RECORD_ID, {"金額": PROBE_VALUE}), {})
    assert kintone.call("delete_records") == ((APP, [PROBE_RECORD_ID]), {"revisions": [1]})
    assert PROBE_RECORD_ID == 2**53


ANSWER_CASES = [
    pytest.param("add_record", invalid_value(), "add", "allowed", id="add_refused_on_the_value"),
    pytest.param(
        "add_record",
        invalid_value("record.氏名.value"),
        "add",
        "unknown:KintoneValidationError",
        id="add_refused_but_not_on_the_probe_field_is_unclear",
    ),
    pytest.param("update_record", record_not_found(), "edit", "allowed", id="edit_finds_no_record"),
    pytest.param("update_record", invalid_value(), "edit", "allowed", id="edit_refused_on_value"),
    pytest.param(
        "update_record",
        KintoneNotFound("no app", kintone_code="GAIA_AP01", http_status=404),
        "edit",
        "unknown:KintoneNotFound",
        id="edit_on_a_missing_app_is_unclear",
    ),
    pytest.param(
        "delete_records", record_not_found(), "delete", "allowed", id="delete_finds_no_record"
    ),
    pytest.param(
        "delete_records",
        KintoneError("stale", kintone_code="GAIA_CO02", http_status=409),
        "delete",
        "allowed",
        id="delete_meets_a_revision_conflict",
    ),
    pytest.param(
        "delete_records",
        invalid_value("ids[0]"),
        "delete",
        "unknown:KintoneValidationError",
        id="delete_refused_on_its_parameters_is_unclear",
    ),
    pytest.param(
        "get_preview_form_fields", {}, "manage", "allowed", id="manage_reads_the_preview_form"
    ),
    pytest.param(
        "get_records",
        KintoneMaintenance("down", http_status=503),
        "view",
        "unknown:KintoneMaintenance",
        id="maintenance_is_unclear",
    ),
    pytest.param(
        "get_records", KintoneTimeout("slow"), "view", "unknown:KintoneTimeout", id="timeout"
    ),
    pytest.param("get_records", denied(), "view", "denied", id="view_refused"),
]


@pytest.mark.parametrize(("method", "answer", "permission", "seen"), ANSWER_CASES)
def test_kintones_answer_decides_what_the_probe_observed(
    method: str, answer: Any, permission: str, seen: str
) -> None:
    report = probe(ScriptedKintone(**{method: answer}))

    assert observed(report)[permission] == seen


def test_a_transient_failure_spoils_only_its_own_row() -> None:
    report = probe(ScriptedKintone(get_records=KintoneMaintenance("down", http_status=503)))

    assert observed(report) == {
        "view": "unknown:KintoneMaintenance",
        "add": "denied",
        "edit": "denied",
        "delete": "denied",
        "manage": "denied",
    }
    assert not report.ok


def test_an_invalid_token_marks_every_row_and_no_write_is_tried() -> None:
    kintone = ScriptedKintone(get_records=invalid_token())

    report = probe(kintone)

    assert set(observed(report).values()) == {"invalid_token"}
    assert not report.ok
    assert kintone.methods() == ["get_records"]


def test_an_invalid_token_found_later_still_marks_every_row() -> None:
    report = probe(ScriptedKintone(delete_records=invalid_token()))

    assert set(observed(report).values()) == {"invalid_token"}


class UnreachableKintone(requests.Session):
    """Records every request, then sends it to a port nothing listens on."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.sent: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(f"{method!s} {url!s}")
        return super().request(method, url, *args, **kwargs)


UNSENDABLE_TOKENS = [
    pytest.param("トークン1", id="japanese"),
    pytest.param("ｔｏｋｅｎ１", id="full_width"),
    pytest.param("tökén1", id="latin_1"),
    pytest.param("tok\nen", id="line_break"),
    pytest.param("tok en", id="space"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("token", UNSENDABLE_TOKENS)
def test_a_token_that_cannot_be_sent_in_a_header_is_invalid_and_never_sent(token: str) -> None:
    session = UnreachableKintone()
    client = probe_client("http://127.0.0.1:9", token, session=session)

    report = probe_token(client, VIEW_TOKEN, DEALS)

    assert set(observed(report).values()) == {"invalid_token"}
    assert not report.ok
    assert session.sent == []


def test_a_visible_ascii_token_is_sent_as_is() -> None:
    session = UnreachableKintone()
    client = probe_client("http://127.0.0.1:9", "deals-view-token", session=session)

    report = probe_token(client, VIEW_TOKEN, DEALS)

    assert observed(report)["view"] == "unknown:KintoneConnectionError"
    assert session.sent[0].startswith("GET http://127.0.0.1:9/k/v1/records.json")


# -- the probe field --------------------------------------------------------------------


def test_an_app_without_a_number_or_date_field_gets_no_add_and_an_id_only_edit() -> None:
    kintone = ScriptedKintone()
    texts_only = AppPolicy(name="notes", fields={"本文": "MULTI_LINE_TEXT"})

    report = probe(kintone, app=texts_only)

    assert observed(report)["add"] == "unknown:no field to probe with"
    assert not report.ok
    assert "add_record" not in kintone.methods()
    assert "get_form_fields" not in kintone.methods()
    assert kintone.call("update_record") == ((APP, PROBE_RECORD_ID, {}), {})


def test_a_declared_number_that_kintone_does_not_have_is_never_sent() -> None:
    # kintone ignores unknown field codes: an add with only this field could be stored.
    kintone = ScriptedKintone(get_form_fields={"取引名": LIVE_FIELDS["取引名"]})

    report = probe(kintone)

    assert observed(report)["add"].startswith("unknown:")
    assert "add_record" not in kintone.methods()
    assert kintone.call("update_record") == ((APP, PROBE_RECORD_ID, {}), {})


def test_a_declared_number_that_is_text_in_kintone_is_never_sent() -> None:
    kintone = ScriptedKintone(get_form_fields={"金額": {"type": "SINGLE_LINE_TEXT"}})

    probe(kintone)

    assert "add_record" not in kintone.methods()


def test_a_lookup_number_is_passed_over_for_a_date() -> None:
    app = AppPolicy(name="orders", fields={"顧客番号": "NUMBER", "受注日": "DATE"})
    live = {
        "顧客番号": {"type": "NUMBER", "lookup": {"relatedApp": {"app": "3"}}},
        "受注日": {"type": "DATE"},
    }
    kintone = ScriptedKintone(get_form_fields=live)

    probe(kintone, app=app)

    assert kintone.call("add_record") == ((APP, {"受注日": PROBE_VALUE}), {})


def test_a_number_is_preferred_to_a_date_declared_before_it() -> None:
    app = AppPolicy(name="orders", fields={"受注日": "DATE", "数量": "NUMBER"})
    kintone = ScriptedKintone(
        get_form_fields={"受注日": {"type": "DATE"}, "数量": {"type": "NUMBER"}}
    )

    probe(kintone, app=app)

    assert kintone.call("add_record") == ((APP, {"数量": PROBE_VALUE}), {})


def test_a_token_that_cannot_read_the_form_cannot_add_and_is_not_asked_to() -> None:
    # Reading the live form needs view, add or app management (cybozu's reference).
    kintone = ScriptedKintone(get_records=denied(), get_form_fields=denied())
    edit_only = DeclaredToken(SECRET, APP, frozenset({"edit"}), ("views.status",))

    report = probe(kintone, declared=edit_only)

    assert observed(report)["add"] == "denied"
    assert "add_record" not in kintone.methods()


def test_an_unreadable_form_leaves_add_unclear() -> None:
    kintone = ScriptedKintone(get_form_fields=KintoneMaintenance("down", http_status=503))

    report = probe(kintone)

    assert observed(report)["add"] == "unknown:KintoneMaintenance"
    assert "add_record" not in kintone.methods()


# -- a write that went through -----------------------------------------------------------

WRITE_CASES = [
    pytest.param("add_record", AddedRecord(id="10", revision="1"), "add", id="add"),
    pytest.param("update_record", "2", "edit", id="edit"),
    pytest.param("delete_records", None, "delete", id="delete"),
]


@pytest.mark.parametrize(("method", "answer", "permission"), WRITE_CASES)
def test_a_probe_write_kintone_carried_out_is_allowed_and_logged_by_route(
    method: str, answer: Any, permission: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sekisho.tokens.probe")

    report = probe(ScriptedKintone(**{method: answer}))

    assert observed(report)[permission] == "allowed"
    assert report.excess == (permission,)
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.routes == ["views.status", "views.other"]
    assert (record.kintone_app, record.permission) == (APP, permission)


def test_reads_that_work_log_no_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sekisho.tokens.probe")

    probe(ScriptedKintone(get_preview_form_fields={}))

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
