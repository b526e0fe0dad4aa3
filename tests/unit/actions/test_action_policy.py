"""Webhook actions in the policy: each refused shape names its place; tokens stay single-use."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sekisho.policy import PolicyError
from sekisho.policy.validation import lint_policy, parse_policy
from sekisho.tokens import declared_tokens

REPO = Path(__file__).resolve().parents[3]
POLICY = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
STRIPE = "webhooks.demo-stripe.actions.mark-seminar-paid"
KINTONE = "webhooks.demo-kintone.actions.audit-new-deal"


def _walk(data: dict, dotted: str) -> tuple[dict, str]:
    parts = dotted.split(".")
    for part in parts[:-1]:
        data = data[int(part) if part.isdigit() and int(part) in data else part]
    return data, parts[-1]


def changed(*edits: tuple[str, Any]) -> dict:
    data = copy.deepcopy(POLICY)
    for dotted, value in edits:
        target, last = _walk(data, dotted)
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


DELETE = object()


def issues_of(data: dict) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return {issue.location: issue.message for issue in caught.value.issues}


def test_the_demo_policy_declares_one_action_of_each_kind():
    policy = parse_policy((REPO / "policy.yaml").read_text(encoding="utf-8"))
    operations = {
        name: action.operation
        for hook in policy.webhooks.values()
        for name, action in hook.actions.items()
    }
    assert operations == {"mark-seminar-paid": "update", "audit-new-deal": "add"}
    assert lint_policy(policy) == []


REFUSED = [
    pytest.param((f"{STRIPE}.events", []), STRIPE + ".events", "at least 1", id="no-events"),
    pytest.param(
        (f"{STRIPE}.events", ["a b"]), STRIPE + ".events.0", "without spaces", id="event-space"
    ),
    pytest.param((f"{STRIPE}.operation", "delete"), STRIPE + ".operation", "'add'", id="delete"),
    pytest.param((f"{STRIPE}.read_secret", DELETE), STRIPE, "needs a key and a read_secret"),
    pytest.param((f"{STRIPE}.key", DELETE), STRIPE, "needs a key and a read_secret", id="no-key"),
    pytest.param(
        (f"{STRIPE}.key.from", "data/object"), STRIPE + ".key.from", "starts with /", id="ptr"
    ),
    pytest.param(
        (f"{STRIPE}.fields.決済額", {"from": "/a~2b"}),
        STRIPE + ".fields.決済額.from",
        "~0",
        id="bad-tilde",
    ),
    pytest.param(
        (f"{STRIPE}.fields.決済額", {"from": "/a", "set": "1"}),
        STRIPE + ".fields.決済額",
        "either from",
        id="from-and-set",
    ),
    pytest.param(
        (f"{STRIPE}.fields.受付ID", {"set": "x"}),
        STRIPE,
        "the key field finds the record",
        id="map-key",
    ),
    pytest.param(
        (f"{STRIPE}.fields.決済イベントID", {"set": "x"}),
        STRIPE,
        "receipt field is written by the relay",
        id="map-receipt",
    ),
    pytest.param(
        (f"{STRIPE}.fields.社内メモ", {"set": "x"}),
        STRIPE + ".fields.社内メモ",
        "not declared in app 2",
        id="undeclared-field",
    ),
    pytest.param(
        (f"{STRIPE}.fields.履歴書", {"from": "/x"}),
        STRIPE + ".fields.履歴書",
        "FILE, which an action cannot write",
        id="file-field",
    ),
    pytest.param(
        (f"{STRIPE}.fields.決済額", {"set": "たくさん"}),
        STRIPE + ".fields.決済額.set",
        "expected a number",
        id="preset-type",
    ),
    pytest.param(
        (f"{STRIPE}.key.field", "人数"),
        STRIPE + ".key.field",
        None,
        id="key-number-is-fine-but-receipt-checked",
    ),
    pytest.param(
        (f"{STRIPE}.key.field", "履歴書"),
        STRIPE + ".key.field",
        "a key field is NUMBER or SINGLE_LINE_TEXT, not FILE",
        id="key-type",
    ),
    pytest.param(
        (f"{STRIPE}.receipt_field", "人数"),
        STRIPE + ".receipt_field",
        "must be SINGLE_LINE_TEXT",
        id="receipt-type",
    ),
    pytest.param(
        (f"{STRIPE}.app", 9), STRIPE + ".app", "app 9 is not declared", id="undeclared-app"
    ),
    pytest.param(
        (f"{STRIPE}.read_secret", "sekisho/kintone/seminar-edit"),
        STRIPE,
        "two tokens",
        id="one-token-for-both",
    ),
    pytest.param(
        (f"{STRIPE}.operation", "upsert"),
        STRIPE,
        "declare permissions: [add, edit]",
        id="upsert-unspelt",
    ),
    pytest.param(
        (f"{STRIPE}.permissions", ["add"]),
        STRIPE,
        "exactly: edit",
        id="update-with-add",
    ),
    pytest.param(
        (f"{KINTONE}.key", {"field": "取引ID", "from": "/record/取引ID/value"}),
        KINTONE,
        "an add action has no key",
        id="add-with-key",
    ),
    pytest.param(
        (f"{KINTONE}.fields.取引名", {"from": "/record/社内メモ/value"}),
        KINTONE + ".fields.取引名.from",
        "refetch does not read field 社内メモ",
        id="pointer-outside-refetch",
    ),
    # The condition on the event (when): pointers as the mapping's, scalar values only.
    pytest.param((f"{STRIPE}.when", {}), STRIPE + ".when", "at least one pointer", id="when-empty"),
    pytest.param(
        (f"{STRIPE}.when", "paid"), STRIPE + ".when", "maps JSON pointers", id="when-not-a-map"
    ),
    pytest.param(
        (f"{STRIPE}.when", {"data/object/payment_status": "paid"}),
        STRIPE + ".when.data/object/payment_status.[key]",
        "starts with /",
        id="when-pointer-without-slash",
    ),
    pytest.param(
        (f"{STRIPE}.when", {"/data/a~2b": "paid"}),
        STRIPE + ".when./data/a~2b.[key]",
        "~0",
        id="when-bad-tilde",
    ),
    pytest.param(
        (f"{STRIPE}.when", {"": "paid"}),
        STRIPE + ".when..[key]",
        "one value, not the whole event",
        id="when-whole-event",
    ),
    *(
        pytest.param(
            (f"{STRIPE}.when", {"/data/object/payment_status": value}),
            STRIPE + ".when./data/object/payment_status",
            "a string, an integer, a boolean or a list of them",
            id=f"when-{name}",
        )
        for name, value in [
            ("float", 1.5),
            ("null", None),
            ("object", {"eq": "paid"}),
            ("list-of-lists", [["paid"]]),
            ("list-with-null", ["paid", None]),
            ("list-with-float", [1, 2.0]),
        ]
    ),
    pytest.param(
        (f"{STRIPE}.when", {"/data/object/payment_status": []}),
        STRIPE + ".when./data/object/payment_status",
        "an empty list allows no value",
        id="when-empty-list",
    ),
    pytest.param(
        (f"{STRIPE}.when", {"/data/object/payment_status": ["paid", "paid"]}),
        STRIPE + ".when./data/object/payment_status",
        "'paid' is listed twice",
        id="when-listed-twice",
    ),
    pytest.param(
        (f"{KINTONE}.when", {"/record/社内メモ/value": "x"}),
        KINTONE + ".when./record/社内メモ/value",
        "refetch does not read field 社内メモ",
        id="when-outside-refetch",
    ),
    pytest.param(
        (f"{KINTONE}.when", {"/record/金額/value": 5000}),
        KINTONE + ".when./record/金額/value",
        "kintone gives the value of 金額 as text",
        id="when-kintone-number-unquoted",
    ),
    pytest.param(
        (f"{KINTONE}.when", {"/record/$id/value": ["1", 2]}),
        KINTONE + ".when./record/$id/value",
        "as text",
        id="when-kintone-id-unquoted",
    ),
    pytest.param(
        ("webhooks.demo-kintone.refetch", DELETE),
        "webhooks.demo-kintone",
        "needs refetch",
        id="kintone-without-refetch",
    ),
    pytest.param(
        (
            "webhooks.demo-github.actions",
            {"x": POLICY["webhooks"]["demo-kintone"]["actions"]["audit-new-deal"]},
        ),
        "webhooks.demo-github",
        "github signs no event type",
        id="github",
    ),
]


ACCEPTED_CONDITIONS = [
    pytest.param(STRIPE, {"/data/object/payment_status": "paid"}, id="one-value"),
    pytest.param(STRIPE, {"/data/object/payment_status": ["paid", "no_payment_required"]}),
    pytest.param(STRIPE, {"/data/object/livemode": False, "/data/object/amount_total": 12000}),
    pytest.param(STRIPE, {"/data/object/flag": [1, True, "1"]}, id="three-distinct-values"),
    pytest.param(STRIPE, {"/data/object/a~1b~0c": ""}, id="escaped-and-empty"),
    pytest.param(KINTONE, {"/type": "ADD_RECORD", "/record/ステータス/value": "商談中"}),
    pytest.param(KINTONE, {"/record/金額/value": ["5000", "6000"]}, id="kintone-text-numbers"),
]


@pytest.mark.parametrize(("where", "when"), ACCEPTED_CONDITIONS)
def test_a_condition_of_scalars_on_pointers_loads_as_one_tuple_of_values_per_pointer(where, when):
    data = changed((f"{where}.when", when))
    policy = parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    hook, name = where.split(".")[1], where.split(".")[-1]
    loaded = policy.webhooks[hook].actions[name].when
    assert loaded == {
        pointer: tuple(value) if isinstance(value, list) else (value,)
        for pointer, value in when.items()
    }


def test_a_condition_on_a_field_whose_kintone_value_is_a_list_is_refused():
    data = changed(
        ("apps.1.fields.タグ", "CHECK_BOX"),
        ("webhooks.demo-kintone.refetch.fields", ["取引ID", "取引名", "金額", "タグ"]),
        (f"{KINTONE}.when", {"/record/タグ/value": "重要"}),
    )
    issues = issues_of(data)
    assert issues[KINTONE + ".when./record/タグ/value"] == (
        "field タグ is CHECK_BOX, whose value a condition cannot compare"
    )


@pytest.mark.parametrize(("edit", "location", "message"), REFUSED)
def test_an_unusable_action_is_refused_naming_its_place(edit, location, message):
    data = changed(edit)
    if message is None:
        # 人数 may be a key (NUMBER), and the policy still loads.
        parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        return
    issues = issues_of(data)
    assert location in issues, issues
    assert message in issues[location]


def test_two_actions_of_one_source_cannot_take_the_same_event_type():
    second = copy.deepcopy(POLICY["webhooks"]["demo-stripe"]["actions"]["mark-seminar-paid"])
    second["token_secret"] = "sekisho/kintone/other-edit"
    second["read_secret"] = "sekisho/kintone/other-view"
    data = changed(("webhooks.demo-stripe.actions.again", second))
    issues = issues_of(data)
    assert "taken by mark-seminar-paid and again" in issues["webhooks.demo-stripe"]


@pytest.mark.parametrize(
    "shared",
    [
        pytest.param("sekisho/kintone/seminar-add", id="a-forms-token"),
        pytest.param("sekisho/kintone/deals-view", id="a-views-token"),
        pytest.param("sekisho/kintone/audit-add", id="another-actions-token"),
    ],
)
def test_an_action_token_shared_with_any_other_purpose_is_a_lint_error(shared):
    data = changed((f"{STRIPE}.token_secret", shared))
    if shared == "sekisho/kintone/audit-add":
        data["webhooks"]["demo-kintone"]["actions"]["audit-new-deal"]["app"] = 2
        data["webhooks"]["demo-kintone"]["actions"]["audit-new-deal"]["receipt_field"] = "受付経路"
        data["webhooks"]["demo-kintone"]["actions"]["audit-new-deal"]["fields"] = {
            "氏名": {"from": "/record/取引名/value"}
        }
    policy = parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    errors = [f for f in lint_policy(policy) if f.severity == "error"]
    assert any(shared in f.message for f in errors), errors


def test_action_tokens_declare_exactly_what_their_operation_needs():
    policy = parse_policy((REPO / "policy.yaml").read_text(encoding="utf-8"))
    tokens = declared_tokens(policy)
    assert tokens["sekisho/kintone/seminar-edit"].permissions == {"edit"}
    assert tokens["sekisho/kintone/seminar-payment-view"].permissions == {"view"}
    assert tokens["sekisho/kintone/audit-add"].permissions == {"add"}
    assert tokens["sekisho/kintone/audit-add"].app == 3


def test_an_upsert_token_declares_both_add_and_edit_once():
    data = changed((f"{STRIPE}.operation", "upsert"), (f"{STRIPE}.permissions", ["add", "edit"]))
    policy = parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    token = declared_tokens(policy)["sekisho/kintone/seminar-edit"]
    assert token.permissions == {"add", "edit"}
    assert token.routes == (STRIPE,)


def test_the_action_function_may_resolve_only_its_actions_tokens_and_their_refetch_token():
    policy = parse_policy((REPO / "policy.yaml").read_text(encoding="utf-8"))
    assert policy.secret_names("actions") == {
        "sekisho/kintone/seminar-edit",
        "sekisho/kintone/seminar-payment-view",
        "sekisho/kintone/audit-add",
        "sekisho/kintone/deals-refetch",
    }
