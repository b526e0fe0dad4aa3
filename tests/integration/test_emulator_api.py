"""The emulator's kintone REST API, spoken over HTTP on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from kintone_emulator.server import RunningEmulator

pytestmark = pytest.mark.emulator

DEALS, SEMINAR = 1, 2
VIEW, ADD = "deals-view-token", "deals-add-token"
SEMINAR_ADD, SEMINAR_VIEW = "seminar-add-token", "seminar-view-token"
# Added by the fixture below, alongside the seed's tokens.
PENDING, DEALS_EDITOR = "deals-pending-token", "deals-editor-token"
SEMINAR_EDITOR = "seminar-editor-token"


@dataclass(frozen=True)
class Api:
    """kintone's REST API on the emulator, called with a given token."""

    url: str
    http: requests.Session

    def call(self, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["X-Cybozu-API-Token"] = token
        return self.http.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def select(self, query: str, **params: Any) -> requests.Response:
        params = {"app": DEALS, "query": query, **params}
        return self.call("GET", "/k/v1/records.json", VIEW, params=params)

    def add(self, app: int, token: str, record: dict[str, Any]) -> requests.Response:
        body = {"app": app, "record": {code: {"value": value} for code, value in record.items()}}
        return self.call("POST", "/k/v1/record.json", token, json=body)

    def record(self, app: int, record_id: int | str, token: str) -> dict[str, Any]:
        answer = self.call("GET", "/k/v1/record.json", token, params={"app": app, "id": record_id})
        assert answer.status_code == 200, answer.text
        return answer.json()["record"]


@pytest.fixture
def api(kintone: RunningEmulator, http: requests.Session) -> Api:
    tokens = [
        {"token": PENDING, "app": DEALS, "permissions": ["view"], "active": False},
        {"token": DEALS_EDITOR, "app": DEALS, "permissions": ["view", "edit", "delete"]},
        {"token": SEMINAR_EDITOR, "app": SEMINAR, "permissions": ["view", "edit"]},
    ]
    for token in tokens:
        http.post(kintone.url + "/_emulator/tokens", json=token).raise_for_status()
    return Api(kintone.url, http)


def deal_ids(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [record["取引ID"]["value"] for record in answer.json()["records"]]


def error_of(answer: requests.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


def errors_of(answer: requests.Response) -> dict[str, list[str]]:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "CB_VA01"
    return {path: detail["messages"] for path, detail in body["errors"].items()}


# -- tokens --------------------------------------------------------------------------------

TOKEN_CASES = [
    pytest.param(VIEW, DEALS, 200, None, id="view_token_reads_its_app"),
    pytest.param(ADD, DEALS, 403, "GAIA_NO01", id="add_only_token_cannot_read_records"),
    pytest.param("no-such-token", DEALS, 400, "GAIA_IA02", id="unknown_token_is_invalid"),
    pytest.param(PENDING, DEALS, 400, "GAIA_IA02", id="inactive_token_is_invalid"),
    pytest.param("", DEALS, 400, "GAIA_IA02", id="empty_token_is_invalid"),
    pytest.param(SEMINAR_VIEW, DEALS, 403, "GAIA_NO01", id="token_of_another_app_is_refused"),
    pytest.param(None, DEALS, 401, "CB_WA01", id="request_without_token_is_unauthenticated"),
    pytest.param(f"{VIEW},{ADD}", DEALS, 400, "GAIA_DA03", id="two_tokens_of_one_app_fail"),
    pytest.param(f"{SEMINAR_VIEW},{VIEW}", DEALS, 200, None, id="tokens_of_two_apps_may_combine"),
    pytest.param(f"{VIEW},no-such-token", DEALS, 400, "GAIA_IA02", id="one_bad_token_spoils_all"),
    pytest.param(",".join([VIEW] * 10), DEALS, 400, "CB_VA01", id="ten_tokens_are_too_many"),
    pytest.param(VIEW, 99, 404, "GAIA_AP01", id="missing_app_is_not_found"),
    pytest.param("no-such-token", 99, 400, "GAIA_IA02", id="token_is_checked_before_the_app"),
]


@pytest.mark.parametrize(("token", "app", "status", "code"), TOKEN_CASES)
def test_token_rules_for_reading_records(
    api: Api,
    token: str | None,
    app: int,
    status: int,
    code: str | None,
) -> None:
    answer = api.call("GET", "/k/v1/records.json", token, params={"app": app})

    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["code"] == code


OPERATION_CASES = [
    pytest.param(VIEW, "POST", "/k/v1/record.json", id="view_token_cannot_add"),
    pytest.param(VIEW, "PUT", "/k/v1/record.json", id="view_token_cannot_edit"),
    pytest.param(VIEW, "DELETE", "/k/v1/records.json", id="view_token_cannot_delete"),
    pytest.param(ADD, "PUT", "/k/v1/record.json", id="add_token_cannot_edit"),
    pytest.param(ADD, "DELETE", "/k/v1/records.json", id="add_token_cannot_delete"),
    pytest.param(ADD, "GET", "/k/v1/record.json", id="add_token_cannot_read_one_record"),
    pytest.param(SEMINAR_ADD, "POST", "/k/v1/record.json", id="token_of_another_app_cannot_add"),
]


@pytest.mark.parametrize(("token", "method", "path"), OPERATION_CASES)
def test_token_without_the_permission_is_refused(
    api: Api, token: str, method: str, path: str
) -> None:
    body = {"app": DEALS, "id": 1, "ids": [1], "record": {"取引ID": {"value": "D999"}}}
    params = {"app": DEALS, "id": 1} if method == "GET" else None

    answer = api.call(method, path, token, json=body, params=params)

    assert error_of(answer) == (403, "GAIA_NO01")
    assert len(deal_ids(api.select(""))) == 9


def test_form_fields_are_readable_with_any_permission_of_the_app(api: Api) -> None:
    answer = api.call("GET", "/k/v1/app/form/fields.json", ADD, params={"app": DEALS})

    assert answer.status_code == 200
    properties = answer.json()["properties"]
    assert properties["ステータス"]["options"]["受注"] == {"label": "受注", "index": "1"}
    assert properties["取引ID"]["unique"] is True
    assert properties["担当ID"]["maxLength"] == "64"
    assert properties["レコード番号"]["type"] == "RECORD_NUMBER"
    assert answer.json()["revision"] == "1"


def test_form_fields_of_another_app_are_refused(api: Api) -> None:
    answer = api.call("GET", "/k/v1/app/form/fields.json", ADD, params={"app": SEMINAR})

    assert error_of(answer) == (403, "GAIA_NO01")


# -- reading -------------------------------------------------------------------------------


def test_equality_matches_only_the_exact_text(api: Api) -> None:
    # Not A10, not "A1 " with a trailing space, not lower-case a1.
    answer = api.select('担当ID = "A1" order by 取引ID asc')

    assert deal_ids(answer) == ["D000001", "D000002", "D000003"]


def test_folding_collation_matches_case_and_trailing_space_variants(api: Api) -> None:
    api.http.post(api.url + "/_emulator/collation", json={"fold": True}).raise_for_status()

    answer = api.select('担当ID = "A1" order by 取引ID asc')

    assert deal_ids(answer) == ["D000001", "D000002", "D000003", "D000011", "D000015"]


def test_raw_newline_in_a_literal_is_a_syntax_error(api: Api) -> None:
    answer = api.select('担当ID = "A1\n"')

    assert errors_of(answer) == {"query": ["Query syntax is incorrect."]}


def test_equality_on_a_drop_down_is_refused(api: Api) -> None:
    assert error_of(api.select('ステータス = "取消"')) == (400, "GAIA_IQ03")


def test_unknown_field_in_a_query_is_refused(api: Api) -> None:
    assert error_of(api.select('存在しない = "x"')) == (400, "GAIA_IQ11")


@pytest.mark.parametrize("query", ['ステータス in ("保留")', 'ステータス not in ("受注", "保留")'])
def test_an_in_value_that_is_not_an_option_of_the_drop_down_is_gaia_iq10(
    api: Api, query: str
) -> None:
    answer = api.select(query)

    assert error_of(answer) == (400, "GAIA_IQ10")
    body = answer.json()
    assert set(body) == {"code", "id", "message"}
    assert "ステータス" in body["message"]
    assert "保留" in body["message"]


def test_is_empty_on_a_single_line_text_field_is_gaia_iq03(api: Api) -> None:
    assert error_of(api.select("担当ID is empty")) == (400, "GAIA_IQ03")
    assert error_of(api.select("担当ID is not empty")) == (400, "GAIA_IQ03")
    # What kintone offers instead: comparing with the empty string.
    assert deal_ids(api.select('担当ID = ""')) == []


def test_a_datetime_value_is_stored_and_returned_to_the_second(api: Api) -> None:
    answer = api.add(SEMINAR, SEMINAR_ADD, {**PERSON, "決済日時": "2026-12-06T19:15:30+09:00"})
    assert answer.status_code == 200, answer.text
    record_id = answer.json()["id"]

    record = api.record(SEMINAR, record_id, SEMINAR_VIEW)
    assert record["決済日時"] == {"type": "DATETIME", "value": "2026-12-06T10:15:30Z"}
    # The record's own timestamps stay to the minute, as kintone keeps them.
    assert record["作成日時"]["value"].endswith(":00Z")
    found = api.call(
        "GET",
        "/k/v1/records.json",
        SEMINAR_VIEW,
        params={"app": SEMINAR, "query": '決済日時 = "2026-12-06T10:15:30Z"', "fields[0]": "$id"},
    )
    assert [r["$id"]["value"] for r in found.json()["records"]] == [record_id]
    earlier = api.call(
        "GET",
        "/k/v1/records.json",
        SEMINAR_VIEW,
        params={"app": SEMINAR, "query": '決済日時 < "2026-12-06T10:15:30Z"', "fields[0]": "$id"},
    )
    assert earlier.json()["records"] == []


def test_records_come_by_id_descending_without_order_by(api: Api) -> None:
    records = api.select("").json()["records"]

    assert [r["$id"]["value"] for r in records] == [str(n) for n in range(9, 0, -1)]


def test_total_count_is_a_string_only_when_asked_for(api: Api) -> None:
    query = 'ステータス in ("商談中") limit 2'

    counted = api.select(query, totalCount="true").json()
    uncounted = api.select(query).json()

    assert (len(counted["records"]), counted["totalCount"]) == (2, "5")
    assert uncounted["totalCount"] is None


def test_fields_parameter_projects_the_records(api: Api) -> None:
    params = {"fields[0]": "取引ID", "fields[1]": "金額", "fields[2]": "存在しない"}

    records = api.select('ステータス in ("受注")', **params).json()["records"]

    assert records == [
        {
            "取引ID": {"type": "SINGLE_LINE_TEXT", "value": "D000014"},
            "金額": {"type": "NUMBER", "value": "40000"},
        },
        {
            "取引ID": {"type": "SINGLE_LINE_TEXT", "value": "D000010"},
            "金額": {"type": "NUMBER", "value": "250000"},
        },
    ]


def test_post_with_method_override_reads_records(api: Api) -> None:
    body = {"app": DEALS, "query": '担当ID = "A1"', "fields": ["取引ID"], "totalCount": True}

    answer = api.call(
        "POST",
        "/k/v1/records.json",
        VIEW,
        json=body,
        headers={"X-HTTP-Method-Override": "GET"},
    )

    assert deal_ids(answer) == ["D000003", "D000002", "D000001"]
    assert answer.json()["totalCount"] == "3"
    assert "社内メモ" not in answer.json()["records"][0]


def test_get_may_carry_its_parameters_as_a_json_body(api: Api) -> None:
    answer = api.call("GET", "/k/v1/records.json", VIEW, json={"app": DEALS, "query": "limit 1"})

    assert deal_ids(answer) == ["D000015"]


def test_one_record_is_read_in_kintone_json_shape(api: Api) -> None:
    answer = api.call("GET", "/k/v1/record.json", VIEW, params={"app": DEALS, "id": 1})

    record = answer.json()["record"]
    assert record["金額"] == {"type": "NUMBER", "value": "1200000"}
    assert record["$id"] == {"type": "__ID__", "value": "1"}
    assert record["$revision"] == {"type": "__REVISION__", "value": "1"}
    assert record["レコード番号"] == {"type": "RECORD_NUMBER", "value": "1"}
    assert record["作成日時"]["type"] == "CREATED_TIME"
    assert record["作成日時"]["value"].endswith(":00Z")


def test_missing_record_is_not_found(api: Api) -> None:
    answer = api.call("GET", "/k/v1/record.json", VIEW, params={"app": DEALS, "id": 99})

    assert error_of(answer) == (404, "GAIA_RE01")


# -- writing -------------------------------------------------------------------------------


def test_added_record_is_stored_with_every_field(api: Api) -> None:
    answer = api.add(DEALS, ADD, {"取引ID": "D000100", "金額": 1500})

    assert answer.status_code == 200
    assert answer.json() == {"id": "10", "revision": "1"}
    stored = api.call("GET", "/k/v1/record.json", VIEW, params={"app": DEALS, "id": 10})
    record = stored.json()["record"]
    assert record["金額"]["value"] == "1500"
    assert record["担当ID"]["value"] == ""
    assert record["ステータス"] == {"type": "DROP_DOWN", "value": ""}


def test_add_ignores_unknown_field_codes_silently(api: Api) -> None:
    answer = api.add(DEALS, ADD, {"取引ID": "D000100", "存在しない": "x"})

    assert answer.status_code == 200
    stored = api.call("GET", "/k/v1/record.json", VIEW, params={"app": DEALS, "id": 10})
    assert "存在しない" not in stored.json()["record"]


def test_add_cannot_set_system_fields(api: Api) -> None:
    answer = api.add(DEALS, ADD, {"$id": "500", "$revision": "7", "レコード番号": "9"})

    assert answer.json() == {"id": "10", "revision": "1"}


REQUIRED = "Required field."
DUPLICATE = "This value already exists in another record."

TOO_LONG = "Enter no more than 64 characters."
NOT_A_NUMBER = "Only numbers are allowed."
PERSON = {"氏名": "佐藤", "メール": "sato@example.com"}

VALIDATION_CASES = [
    pytest.param(
        DEALS, ADD, {"取引ID": "D000001"}, {"record.取引ID.value": [DUPLICATE]},
        id="unique_value_already_taken",
    ),
    pytest.param(
        DEALS, ADD, {"担当ID": "x" * 65}, {"record.担当ID.value": [TOO_LONG]},
        id="text_longer_than_max_length",
    ),
    pytest.param(
        DEALS, ADD, {"金額": "12a"}, {"record[金額].value": [NOT_A_NUMBER]},
        id="number_that_is_not_numeric",
    ),
    pytest.param(
        DEALS, ADD, {"金額": True}, {"record[金額].value": [NOT_A_NUMBER]},
        id="number_given_as_boolean",
    ),
    pytest.param(
        DEALS, ADD, {"ステータス": "保留"},
        {"record.ステータス.value": ['The value, "保留", is not in options.']},
        id="drop_down_value_outside_options",
    ),
    pytest.param(
        SEMINAR, SEMINAR_ADD, {"氏名": "佐藤"}, {"record.メール.value": [REQUIRED]},
        id="required_field_left_out",
    ),
    pytest.param(
        SEMINAR, SEMINAR_ADD, {**PERSON, "氏名": ""}, {"record.氏名.value": [REQUIRED]},
        id="required_field_given_empty",
    ),
    pytest.param(
        SEMINAR, SEMINAR_ADD, {**PERSON, "人数": "0"},
        {"record.人数.value": ["The value must be 1 or more."]},
        id="number_below_min_value",
    ),
    pytest.param(
        SEMINAR, SEMINAR_ADD, {**PERSON, "人数": "6"},
        {"record.人数.value": ["The value must be 5 or less."]},
        id="number_above_max_value",
    ),
    pytest.param(
        SEMINAR, SEMINAR_ADD, {**PERSON, "履歴書": "x"},
        {"record.履歴書.value": ["Missing or invalid input."]},
        id="file_value_that_is_not_a_list",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("app", "token", "record", "errors"), VALIDATION_CASES)
def test_invalid_record_is_refused_with_kintone_errors(
    api: Api,
    app: int,
    token: str,
    record: dict[str, Any],
    errors: dict[str, list[str]],
) -> None:
    answer = api.add(app, token, record)

    assert errors_of(answer) == errors


def test_all_errors_of_a_record_are_reported_together(api: Api) -> None:
    answer = api.add(SEMINAR, SEMINAR_ADD, {"人数": "many"})

    assert errors_of(answer) == {
        "record.氏名.value": [REQUIRED],
        "record.メール.value": [REQUIRED],
        "record[人数].value": ["Only numbers are allowed."],
    }


def test_empty_strings_never_count_as_duplicates(api: Api) -> None:
    first = api.add(DEALS, ADD, {"取引ID": ""})
    second = api.add(DEALS, ADD, {"取引ID": ""})

    assert (first.status_code, second.status_code) == (200, 200)


def test_update_changes_only_the_given_fields_and_bumps_the_revision(api: Api) -> None:
    body = {"app": DEALS, "id": 1, "revision": 1, "record": {"金額": {"value": "1300000"}}}

    answer = api.call("PUT", "/k/v1/record.json", DEALS_EDITOR, json=body)

    assert answer.json() == {"revision": "2"}
    stored = api.call("GET", "/k/v1/record.json", VIEW, params={"app": DEALS, "id": 1})
    record = stored.json()["record"]
    assert (record["金額"]["value"], record["取引ID"]["value"]) == ("1300000", "D000001")
    assert record["$revision"]["value"] == "2"


def test_update_with_a_stale_revision_conflicts(api: Api) -> None:
    body = {"app": DEALS, "id": 1, "revision": 5, "record": {"金額": {"value": "1"}}}

    answer = api.call("PUT", "/k/v1/record.json", DEALS_EDITOR, json=body)

    assert error_of(answer) == (409, "GAIA_CO02")


def test_update_may_keep_a_records_own_unique_value(api: Api) -> None:
    own = {"app": DEALS, "id": 1, "record": {"取引ID": {"value": "D000001"}}}
    taken = {"app": DEALS, "id": 1, "record": {"取引ID": {"value": "D000002"}}}

    kept = api.call("PUT", "/k/v1/record.json", DEALS_EDITOR, json=own)
    stolen = api.call("PUT", "/k/v1/record.json", DEALS_EDITOR, json=taken)

    assert kept.status_code == 200
    assert errors_of(stolen) == {"record.取引ID.value": [DUPLICATE]}


def test_update_of_a_missing_record_is_not_found(api: Api) -> None:
    body = {"app": DEALS, "id": 99, "record": {}}

    answer = api.call("PUT", "/k/v1/record.json", DEALS_EDITOR, json=body)

    assert error_of(answer) == (404, "GAIA_RE01")


def test_delete_removes_the_records(api: Api) -> None:
    body = {"app": DEALS, "ids": [1, 2]}

    answer = api.call("DELETE", "/k/v1/records.json", DEALS_EDITOR, json=body)

    assert answer.json() == {}
    assert len(deal_ids(api.select(""))) == 7


def test_delete_with_a_missing_id_deletes_nothing(api: Api) -> None:
    body = {"app": DEALS, "ids": [1, 99]}

    answer = api.call("DELETE", "/k/v1/records.json", DEALS_EDITOR, json=body)

    assert error_of(answer) == (404, "GAIA_RE01")
    assert len(deal_ids(api.select(""))) == 9


def test_ids_of_deleted_records_are_never_reused(api: Api) -> None:
    body = {"app": DEALS, "ids": [9]}
    api.call("DELETE", "/k/v1/records.json", DEALS_EDITOR, json=body)

    answer = api.add(DEALS, ADD, {"取引ID": "D000100"})

    assert answer.json()["id"] == "10"


# -- malformed requests --------------------------------------------------------------------

INVALID_JSON = (400, "CB_IJ01")
INVALID_INPUT = (400, "CB_VA01")
NO_SUCH_API = (404, "CB_NO01")

BAD_REQUESTS = [
    pytest.param("POST", "/k/v1/record.json", b"{not json", INVALID_JSON, id="malformed_json"),
    pytest.param("POST", "/k/v1/record.json", b"[1, 2]", INVALID_JSON, id="json_not_an_object"),
    pytest.param("POST", "/k/v1/record.json", b"\xff\xfe", INVALID_JSON, id="body_not_utf8"),
    pytest.param("POST", "/k/v1/record.json", b"{}", INVALID_INPUT, id="app_missing"),
    pytest.param(
        "POST", "/k/v1/record.json", b'{"app": "one"}', INVALID_INPUT, id="app_not_a_number"
    ),
    pytest.param(
        "POST", "/k/v1/record.json", b'{"app": 1, "record": [1]}', INVALID_INPUT,
        id="record_not_an_object",
    ),
    pytest.param(
        "POST", "/k/v1/record.json", '{"app": 1, "record": {"取引ID": "x"}}'.encode(),
        INVALID_INPUT, id="field_entry_not_an_object",
    ),
    pytest.param("PUT", "/k/v1/record.json", b'{"app": 1}', INVALID_INPUT, id="id_missing"),
    pytest.param(
        "DELETE", "/k/v1/records.json", b'{"app": 1, "ids": "1"}', INVALID_INPUT,
        id="ids_not_a_list",
    ),
    pytest.param(
        "DELETE", "/k/v1/records.json", b'{"app": 1, "ids": [' + b"1," * 100 + b"1]}",
        INVALID_INPUT, id="more_than_100_ids",
    ),
    pytest.param(
        "GET", "/k/v1/records.json", b'{"app": 1, "query": 5}', INVALID_INPUT,
        id="query_not_a_string",
    ),
    pytest.param(
        "GET", "/k/v1/records.json", b'{"app": 1, "fields": [1]}', INVALID_INPUT,
        id="fields_not_strings",
    ),
    pytest.param("GET", "/k/v1/no-such-api.json", b"", NO_SUCH_API, id="unknown_api"),
    pytest.param("PATCH", "/k/v1/record.json", b"{}", NO_SUCH_API, id="unknown_method"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "expected"), BAD_REQUESTS)
def test_bad_input_gets_a_kintone_error_never_a_crash(
    api: Api, method: str, path: str, body: bytes, expected: tuple[int, str]
) -> None:
    token = f"{ADD},{SEMINAR_VIEW}" if method == "POST" else DEALS_EDITOR
    headers = {"Content-Type": "application/json"}

    answer = api.call(method, path, token, data=body, headers=headers)

    assert error_of(answer) == expected
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.json()["id"]


def test_missing_app_is_reported_on_the_app_key(api: Api) -> None:
    answer = api.call("GET", "/k/v1/records.json", VIEW)

    assert errors_of(answer) == {"app": ["Required field."]}


# -- files ---------------------------------------------------------------------------------

PDF = b"%PDF-1.4\r\n\x00\xff\r binary \n\r\n--not-a-boundary\r\n"


def upload(api: Api, token: str | None, data: bytes = PDF) -> requests.Response:
    files = {"file": ("履歴書.pdf", data, "application/pdf")}
    return api.call("POST", "/k/v1/file.json", token, files=files)


def applicant(file_key: str) -> dict[str, Any]:
    return {"氏名": "佐藤", "メール": "sato@example.com", "履歴書": [{"fileKey": file_key}]}


def test_uploaded_file_is_attached_and_downloadable(api: Api) -> None:
    file_key = upload(api, SEMINAR_ADD).json()["fileKey"]

    added = api.add(SEMINAR, SEMINAR_ADD, applicant(file_key))

    record = api.record(SEMINAR, added.json()["id"], SEMINAR_VIEW)
    (attached,) = record["履歴書"]["value"]
    assert attached["name"] == "履歴書.pdf"
    assert attached["contentType"] == "application/pdf"
    assert attached["size"] == str(len(PDF))
    # kintone hands out a new key for the attached file.
    assert attached["fileKey"] != file_key
    download = api.call(
        "GET",
        "/k/v1/file.json",
        SEMINAR_VIEW,
        params={"fileKey": attached["fileKey"]},
    )
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.content == PDF


def test_an_uploaded_file_can_be_attached_only_once(api: Api) -> None:
    file_key = upload(api, SEMINAR_ADD).json()["fileKey"]
    api.add(SEMINAR, SEMINAR_ADD, applicant(file_key))

    again = api.add(SEMINAR, SEMINAR_ADD, applicant(file_key))

    assert error_of(again) == (404, "GAIA_BL01")


def test_a_file_key_never_uploaded_cannot_be_attached(api: Api) -> None:
    answer = api.add(SEMINAR, SEMINAR_ADD, applicant("no-such-key"))

    assert error_of(answer) == (404, "GAIA_BL01")


def test_replacing_a_file_removes_the_old_one(api: Api) -> None:
    first = upload(api, SEMINAR_ADD).json()["fileKey"]
    record_id = api.add(SEMINAR, SEMINAR_ADD, applicant(first)).json()["id"]
    old_key = api.record(SEMINAR, record_id, SEMINAR_VIEW)["履歴書"]["value"][0]["fileKey"]
    second = upload(api, SEMINAR_ADD, b"new").json()["fileKey"]

    body = {"app": SEMINAR, "id": record_id, "record": {"履歴書": {"value": [{"fileKey": second}]}}}
    updated = api.call("PUT", "/k/v1/record.json", SEMINAR_EDITOR, json=body)

    assert updated.json() == {"revision": "2"}
    gone = api.call("GET", "/k/v1/file.json", SEMINAR_VIEW, params={"fileKey": old_key})
    assert error_of(gone) == (404, "GAIA_BL01")


FILE_ACCESS_CASES = [
    pytest.param(SEMINAR_VIEW, 200, id="view_token_of_the_app_downloads"),
    pytest.param(SEMINAR_ADD, 403, id="add_only_token_cannot_download"),
    pytest.param(VIEW, 403, id="view_token_of_another_app_cannot_download"),
    pytest.param("no-such-token", 400, id="unknown_token_cannot_download"),
]


@pytest.mark.parametrize(("token", "status"), FILE_ACCESS_CASES)
def test_downloading_needs_view_on_the_records_app(api: Api, token: str, status: int) -> None:
    file_key = upload(api, SEMINAR_ADD).json()["fileKey"]
    record_id = api.add(SEMINAR, SEMINAR_ADD, applicant(file_key)).json()["id"]
    record = api.record(SEMINAR, record_id, SEMINAR_VIEW)
    attached_key = record["履歴書"]["value"][0]["fileKey"]

    answer = api.call("GET", "/k/v1/file.json", token, params={"fileKey": attached_key})

    assert answer.status_code == status


def test_an_unattached_upload_cannot_be_downloaded(api: Api) -> None:
    file_key = upload(api, SEMINAR_ADD).json()["fileKey"]

    answer = api.call("GET", "/k/v1/file.json", SEMINAR_VIEW, params={"fileKey": file_key})

    assert error_of(answer) == (404, "GAIA_BL01")


UPLOAD_CASES = [
    pytest.param(SEMINAR_VIEW, 200, None, id="token_without_add_may_upload"),
    pytest.param(VIEW, 200, None, id="token_of_any_app_may_upload"),
    pytest.param("no-such-token", 400, "GAIA_IA02", id="unknown_token_cannot_upload"),
    pytest.param(None, 401, "CB_WA01", id="upload_without_token_is_unauthenticated"),
]


@pytest.mark.parametrize(("token", "status", "code"), UPLOAD_CASES)
def test_uploading_needs_a_valid_token_but_no_permission(
    api: Api,
    token: str | None,
    status: int,
    code: str | None,
) -> None:
    answer = upload(api, token)

    assert answer.status_code == status
    if code is not None:
        assert answer.json()["code"] == code


def test_upload_without_a_file_part_is_refused(api: Api) -> None:
    files = {"document": ("a.txt", b"x", "text/plain")}

    answer = api.call("POST", "/k/v1/file.json", SEMINAR_ADD, files=files)

    assert errors_of(answer) == {"file": ["Required field."]}
