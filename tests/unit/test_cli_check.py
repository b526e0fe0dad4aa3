"""`sekisho check`: a policy that could leak, break or be guessed does not pass review."""

from pathlib import Path

import pytest
import yaml

from sekisho.cli import main

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"

DEALS_FIELDS = {
    "担当ID": "SINGLE_LINE_TEXT",
    "取引ID": "SINGLE_LINE_TEXT",
    "取引先ID": "SINGLE_LINE_TEXT",
    "取引名": "SINGLE_LINE_TEXT",
    "金額": "NUMBER",
    "ステータス": "DROP_DOWN",
    "社内メモ": "MULTI_LINE_TEXT",
    "添付": "FILE",
    "作成日時": "CREATED_TIME",
}
SEMINAR_FIELDS = {
    "受付ID": "SINGLE_LINE_TEXT",
    "氏名": "SINGLE_LINE_TEXT",
    "メール": "SINGLE_LINE_TEXT",
    "人数": "NUMBER",
    "履歴書": "FILE",
    "受付経路": "SINGLE_LINE_TEXT",
    "備考": "MULTI_LINE_TEXT",
    "参加日": "DATE",
    "到着": "DATETIME",
    "会場": "DROP_DOWN",
    "興味": "CHECK_BOX",
    "サイト": "LINK",
    "name": "SINGLE_LINE_TEXT",
}


def view(**overrides) -> dict:
    base = {
        "app": 1,
        "token_secret": "sekisho/kintone/deals-view",
        "match": {
            "owner_id": {"code": "担当ID", "pattern": "^[A-Z0-9]{1,12}$"},
            "deal_id": {"code": "取引ID", "pattern": "^D[0-9]{6}$"},
        },
        "where": 'ステータス not in ("取消")',
        "fields": ["取引名", "金額", "ステータス"],
        # A budget, so only what a test changes can draw a warning.
        "guard": {"budget": "1000/day"},
    }
    base.update(overrides)
    return base


def form(**overrides) -> dict:
    base = {
        "app": 2,
        "token_secret": "sekisho/kintone/seminar-add",
        "receipt_field": "受付ID",
        "fields": {"name": {"code": "氏名", "type": "text", "max_length": 100}},
        "guard": {"budget": "1000/day"},
    }
    base.update(overrides)
    return base


def policy(views=None, forms=None, webhooks=None) -> dict:
    return {
        "kintone": {"base_url": "https://example.cybozu.com"},
        "apps": {
            1: {"name": "deals", "fields": DEALS_FIELDS},
            2: {"name": "seminar", "fields": SEMINAR_FIELDS},
        },
        "views": views if views is not None else {"deal-status": view()},
        "forms": forms or {},
        "webhooks": webhooks or {},
    }


def check(tmp_path: Path, capsys, data: dict, *args: str) -> tuple[int, list[str]]:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status = main(["check", str(path), *args])
    return status, capsys.readouterr().out.splitlines()


def test_the_shipped_policy_passes(capsys):
    assert main(["check", str(REPO_POLICY)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ok: 3 views, 1 forms, 6 webhooks, 2 actions, 1 realms, 1 partners"
    ]


def test_the_shipped_policy_passes_strict_review_too(capsys):
    assert main(["check", "--strict", str(REPO_POLICY)]) == 0


def test_a_clean_policy_reports_its_routes(tmp_path, capsys):
    status, out = check(tmp_path, capsys, policy(forms={"apply": form()}))
    assert (status, out) == (0, ["ok: 1 views, 1 forms, 0 webhooks"])


# -- rule 1: a view without predicates would return every record


def test_a_view_without_predicates_is_an_error(tmp_path, capsys):
    status, out = check(tmp_path, capsys, policy(views={"everything": view(match={})}))
    assert status == 1
    assert out == [
        "error: views.everything.match: a view needs at least one predicate: "
        "without one it returns every record"
    ]


# -- rule 2: predicates compare exactly, so their type must allow it


@pytest.mark.parametrize("code", ["社内メモ", "添付", "作成日時"])
def test_a_predicate_on_a_type_that_cannot_be_matched_exactly_is_an_error(tmp_path, capsys, code):
    match = {"owner_id": {"code": "担当ID"}, "other": {"code": code, "max_length": 10}}
    status, out = check(tmp_path, capsys, policy(views={"v": view(match=match)}))
    assert status == 1
    assert out == [
        f"error: views.v.match.other.code: field {code} is {DEALS_FIELDS[code]}, "
        "which cannot be matched exactly"
    ]


# -- rule 3: the server condition must parse against the app's fields


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ('ステータス not in ("取消"', "ends where"),
        ('ステータス not in ("取消")) or (金額 > 0', "closes an unopened parenthesis"),
        ('ステータス not in ("取消") order by 金額 desc', "order by, limit or offset"),
        ('無い = "x"', "uses field '無い', which the app does not declare"),
        ('ステータス = "取消"', "uses '=' on field 'ステータス' of type DROP_DOWN"),
        ('担当ID > "A"', "uses '>' on field '担当ID' of type SINGLE_LINE_TEXT"),
        ('社内メモ = "x"', "uses '=' on field '社内メモ' of type MULTI_LINE_TEXT"),
        ("金額 > TODAY()", "applies TODAY() to field '金額' of type NUMBER"),
    ],
)
def test_a_where_that_kintone_would_refuse_is_an_error(tmp_path, capsys, where, message):
    status, out = check(tmp_path, capsys, policy(views={"v": view(where=where)}))
    assert status == 1
    assert len(out) == 1
    assert out[0].startswith("error: views.v.where: the server condition ")
    assert message in out[0]


# -- rule 4: only declared fields may be projected


def test_projecting_an_undeclared_field_is_an_error(tmp_path, capsys):
    status, out = check(
        tmp_path, capsys, policy(views={"v": view(fields=["取引名", "社外秘", "原価"])})
    )
    assert status == 1
    assert out == [
        "error: views.v.fields.1: field 社外秘 is not declared in app 1",
        "error: views.v.fields.2: field 原価 is not declared in app 1",
    ]


# -- rule 5: one secret, one least-privilege purpose

SHARED = "sekisho/kintone/shared"

SHARED_BY_VIEW = {"views": {"v": view(token_secret=SHARED)}}
DEALS_FORM = form(
    app=1,
    token_secret=SHARED,
    receipt_field="取引ID",
    fields={"title": {"code": "取引名", "type": "text"}},
)
SHARED_BY_FORM = {"forms": {"f": DEALS_FORM}}
SHARED_BY_REFETCH = {
    "webhooks": {
        "w": {
            "scheme": "kintone",
            "secret": "sekisho/webhook/w",
            "refetch": {"app": 1, "token_secret": SHARED, "fields": ["取引ID"]},
        }
    }
}
SHARED_AS_WEBHOOK_KEY = {"webhooks": {"w": {"scheme": "github", "secret": SHARED}}}

SHARED_SECRETS = [
    # (routes, where it is reported, the other use named in the message)
    pytest.param(
        {**SHARED_BY_VIEW, **SHARED_BY_FORM}, "views.v", "forms.f (form)", id="view-and-form"
    ),
    pytest.param(
        {**SHARED_BY_VIEW, **SHARED_BY_REFETCH},
        "views.v",
        "webhooks.w.refetch (webhook refetch)",
        id="view-and-webhook-refetch",
    ),
    pytest.param(
        {**SHARED_BY_FORM, **SHARED_BY_REFETCH},
        "forms.f",
        "webhooks.w.refetch (webhook refetch)",
        id="form-and-webhook-refetch",
    ),
    pytest.param(
        {**SHARED_BY_VIEW, **SHARED_AS_WEBHOOK_KEY},
        "views.v",
        "webhooks.w (webhook)",
        id="view-token-as-webhook-key",
    ),
]


@pytest.mark.parametrize(("routes", "location", "other"), SHARED_SECRETS)
def test_routes_of_different_kinds_sharing_a_secret_is_an_error(
    tmp_path, capsys, routes, location, other
):
    data = {**policy(views={}), **routes}
    status, out = check(tmp_path, capsys, data)
    assert status == 1
    assert out == [
        f"error: {location}: secret {SHARED} is also used by {other}: one secret, one "
        "least-privilege purpose (and one function allowed to read it)"
    ]


def test_views_of_one_app_may_share_their_view_token(tmp_path, capsys):
    views = {"a": view(), "b": view(fields=["取引名"])}
    status, out = check(tmp_path, capsys, policy(views=views))
    assert (status, out) == (0, ["ok: 2 views, 0 forms, 0 webhooks"])


def test_one_token_secret_for_two_apps_is_an_error(tmp_path, capsys):
    other_app = view(
        app=2,
        match={"receipt": {"code": "受付ID", "pattern": "^[a-f0-9-]{36}$"}},
        where=None,
        fields=["氏名"],
        single_predicate="allowed",
    )
    status, out = check(tmp_path, capsys, policy(views={"a": view(), "b": other_app}))
    assert status == 1
    assert out == [
        "error: views.a: token secret sekisho/kintone/deals-view is used for apps [1, 2]; "
        "a kintone API token belongs to one app"
    ]


# -- rule 6: an empty value must never be a valid predicate


@pytest.mark.parametrize("pattern", ["^[A-Z0-9]*$", "^(|D[0-9]{6})$", ".*", "^D?[0-9]{0,6}$"])
def test_a_pattern_that_accepts_the_empty_string_is_an_error(tmp_path, capsys, pattern):
    match = {
        "owner_id": {"code": "担当ID", "pattern": pattern},
        "deal_id": {"code": "取引ID", "pattern": "^D[0-9]{6}$"},
    }
    status, out = check(tmp_path, capsys, policy(views={"v": view(match=match)}))
    assert status == 1
    assert out == [
        "error: views.v.match.owner_id.pattern: the pattern accepts the empty string, which "
        "would match every record whose field is empty"
    ]


# -- rule 7: a form writes exactly once, only what it declares, only files it can check


def test_a_form_without_a_receipt_field_is_an_error(tmp_path, capsys):
    without = form()
    del without["receipt_field"]
    status, out = check(tmp_path, capsys, policy(forms={"apply": without}))
    assert (status, out) == (1, ["error: forms.apply.receipt_field: Field required"])


PRESET_COLLISIONS = [
    # (browser fields, presets, the one error)
    pytest.param(
        {"name": {"code": "氏名", "type": "text"}},
        {"氏名": "x"},
        "forms.apply.set.氏名: field 氏名 is preset and also sent by the browser",
        id="same-kintone-code",
    ),
    pytest.param(
        {"name": {"code": "氏名", "type": "text"}},
        {"name": "x"},
        "forms.apply.set.name: preset name is named like a browser field",
        id="preset-named-like-a-browser-field",
    ),
    pytest.param(
        {"name": {"code": "氏名", "type": "text"}},
        {"受付ID": "x"},
        "forms.apply.set.受付ID: the receipt field is set by the relay",
        id="preset-on-the-receipt-field",
    ),
]


@pytest.mark.parametrize(("fields", "presets", "error"), PRESET_COLLISIONS)
def test_presets_that_collide_with_browser_fields_are_an_error(
    tmp_path, capsys, fields, presets, error
):
    data = policy(forms={"apply": form(fields=fields, set=presets)})
    status, out = check(tmp_path, capsys, data)
    assert (status, out) == (1, [f"error: {error}"])


@pytest.mark.parametrize(
    ("presets", "error"),
    [
        ({"受付経路": "web", "興味": ["AI", "Web"], "人数": "1"}, None),
        ({"興味": "AI"}, "forms.apply.set.興味: field 興味 is CHECK_BOX: its preset is a list"),
        (
            {"受付経路": ["web"]},
            "forms.apply.set.受付経路: field 受付経路 is SINGLE_LINE_TEXT: its",
        ),
        (
            {"履歴書": "x"},
            "forms.apply.set.履歴書: field 履歴書 is FILE, which a preset cannot set",
        ),
    ],
)
def test_a_preset_must_be_writable_in_its_field_s_shape(tmp_path, capsys, presets, error):
    status, out = check(tmp_path, capsys, policy(forms={"apply": form(set=presets)}))
    if error is None:
        assert (status, out) == (0, ["ok: 1 views, 1 forms, 0 webhooks"])
    else:
        assert status == 1
        (line,) = out
        assert line.startswith(f"error: {error}")


FILE_LIMITS = {"max_bytes": 2097152, "content_types": ["application/pdf"]}


@pytest.mark.parametrize("missing", ["max_bytes", "content_types"])
def test_a_file_field_without_both_a_size_and_a_type_limit_is_an_error(tmp_path, capsys, missing):
    cv = {"code": "履歴書", "type": "file", **FILE_LIMITS}
    del cv[missing]
    status, out = check(tmp_path, capsys, policy(forms={"apply": form(fields={"cv": cv})}))
    assert status == 1
    assert out == [
        "error: forms.apply.fields.cv: a file field needs max_bytes and content_types: "
        "without both, any file of any size and type could be stored"
    ]


def test_a_form_sharing_its_add_token_with_a_view_is_an_error(tmp_path, capsys):
    shared = form(app=1, receipt_field="取引ID", fields={"t": {"code": "取引名", "type": "text"}})
    shared["token_secret"] = "sekisho/kintone/deals-view"
    status, out = check(tmp_path, capsys, policy(forms={"apply": shared}))
    assert status == 1
    assert out == [
        "error: views.deal-status: secret sekisho/kintone/deals-view is also used by "
        "forms.apply (form): one secret, one least-privilege purpose (and one function "
        "allowed to read it)"
    ]


def test_a_captcha_secret_that_is_also_the_token_secret_is_an_error(tmp_path, capsys):
    captcha = {"provider": "turnstile", "secret": "sekisho/kintone/seminar-add"}
    status, out = check(tmp_path, capsys, policy(forms={"apply": form(captcha=captcha)}))
    assert status == 1
    assert out == [
        "error: forms.apply: secret sekisho/kintone/seminar-add is also used by "
        "forms.apply.captcha (captcha): one secret, one least-privilege purpose (and one "
        "function allowed to read it)"
    ]


@pytest.mark.parametrize(
    ("field", "fits"),
    [
        ({"code": "氏名", "type": "text"}, True),
        ({"code": "サイト", "type": "email"}, True),
        ({"code": "備考", "type": "textarea"}, True),
        ({"code": "人数", "type": "number"}, True),
        ({"code": "参加日", "type": "date"}, True),
        ({"code": "到着", "type": "datetime"}, True),
        ({"code": "会場", "type": "choice", "options": ["東京"]}, True),
        ({"code": "興味", "type": "multi_choice", "options": ["AI"]}, True),
        ({"code": "履歴書", "type": "file", **FILE_LIMITS}, True),
        ({"code": "備考", "type": "text"}, False),
        ({"code": "氏名", "type": "textarea"}, False),
        ({"code": "氏名", "type": "number"}, False),
        ({"code": "到着", "type": "date"}, False),
        ({"code": "参加日", "type": "datetime"}, False),
        ({"code": "興味", "type": "choice", "options": ["AI"]}, False),
        ({"code": "会場", "type": "multi_choice", "options": ["東京"]}, False),
        ({"code": "氏名", "type": "file", **FILE_LIMITS}, False),
        ({"code": "履歴書", "type": "text"}, False),
    ],
)
def test_a_form_field_must_be_stored_in_a_kintone_type_that_fits(tmp_path, capsys, field, fits):
    status, out = check(tmp_path, capsys, policy(forms={"apply": form(fields={"f": field})}))
    if fits:
        assert (status, out) == (0, ["ok: 1 views, 1 forms, 0 webhooks"])
    else:
        assert status == 1
        (line,) = out
        assert line.startswith(f"error: forms.apply.fields.f.type: a {field['type']} field ")
        assert line.endswith(f"and {field['code']} is {SEMINAR_FIELDS[field['code']]}")


# -- warnings: legal, but worth a reviewer's second look

SINGLE = {"deal_id": {"code": "取引ID", "pattern": "^D[0-9]{6}$"}}
SINGLE_WARNING = (
    "warning: views.v: a single predicate can be guessed; add a second one (a consistency "
    "check) or declare single_predicate: allowed"
)


def test_a_single_predicate_is_a_warning(tmp_path, capsys):
    status, out = check(tmp_path, capsys, policy(views={"v": view(match=SINGLE)}))
    assert status == 0
    assert out == [SINGLE_WARNING, "ok: 1 views, 0 forms, 0 webhooks"]


def test_warnings_fail_a_strict_check(tmp_path, capsys):
    status, out = check(tmp_path, capsys, policy(views={"v": view(match=SINGLE)}), "--strict")
    assert status == 1
    assert out == [SINGLE_WARNING]


def test_a_single_predicate_can_be_allowed_explicitly(tmp_path, capsys):
    allowed = view(match=SINGLE, single_predicate="allowed")
    status, out = check(tmp_path, capsys, policy(views={"v": allowed}), "--strict")
    assert (status, out) == (0, ["ok: 1 views, 0 forms, 0 webhooks"])


def test_a_single_predicate_from_a_verified_claim_is_not_guessable(tmp_path, capsys):
    claim = {"partner": {"code": "取引先ID", "from": "claim:custom:partner_id"}}
    status, out = check(tmp_path, capsys, policy(views={"v": view(match=claim)}), "--strict")
    assert (status, out) == (0, ["ok: 1 views, 0 forms, 0 webhooks"])


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ({"opens": "2026-12-01T09:00:00"}, "views.v.when.opens: has no UTC offset"),
        (
            {"opens": "2027-01-01T00:00:00+09:00", "closes": "2026-01-01T00:00:00+09:00"},
            "views.v.when: opens 2027-01-01T00:00:00+09:00 is not before closes",
        ),
        (
            {"hours": {"days": WEEKDAYS, "from": "09:00", "to": "18:00", "zone": "Tokyo"}},
            "views.v.when.hours.zone: not an IANA time zone",
        ),
        (
            {"hours": {"days": WEEKDAYS, "from": "18:00", "to": "18:00", "zone": "UTC"}},
            "views.v.when.hours: from and to are both 18:00",
        ),
        (
            {"hours": {"days": ["weekdays"], "from": "09:00", "to": "18:00", "zone": "UTC"}},
            "views.v.when.hours.days.0: Input should be 'mon'",
        ),
        ({"networks": ["10.0.0.300/8"]}, "views.v.when.networks.0: not an IPv4 or IPv6 CIDR"),
        ({"networks": ["10.0.0.1/8"]}, "views.v.when.networks.0: 10.0.0.1/8 has host bits set"),
        ({"claims": {"sub": "x"}}, "views.v.when.claims: claims need a signed-in caller"),
    ],
)
def test_a_when_that_cannot_open_or_reads_two_ways_is_an_error(tmp_path, capsys, when, error):
    status, out = check(tmp_path, capsys, policy(views={"v": view(when=when)}))
    assert status == 1
    assert any(error in line for line in out), out


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0"])
def test_a_when_network_of_every_address_is_a_warning(tmp_path, capsys, network):
    status, out = check(tmp_path, capsys, policy(views={"v": view(when={"networks": [network]})}))
    assert status == 0
    family = 4 if "." in network else 6
    assert out[0] == (
        f"warning: views.v.when.networks.0: {network} is every IPv{family} address: it limits "
        "nothing"
    )


@pytest.mark.parametrize(
    ("rule", "warned"),
    [
        ({"code": "担当ID", "max_length": 200}, True),
        ({"code": "担当ID", "max_length": 65}, True),
        ({"code": "担当ID", "max_length": 64}, False),
        ({"code": "担当ID"}, False),
        ({"code": "担当ID", "max_length": 200, "pattern": "^[A-Z]{1,200}$"}, False),
        ({"code": "担当ID", "max_length": 200, "from": "claim:sub"}, False),
    ],
)
def test_an_unbounded_body_predicate_is_a_warning(tmp_path, capsys, rule, warned):
    match = {"owner_id": rule, "deal_id": {"code": "取引ID", "pattern": "^D[0-9]{6}$"}}
    status, out = check(tmp_path, capsys, policy(views={"v": view(match=match)}))
    assert status == 0
    warning = (
        "warning: views.v.match.owner_id: a body predicate needs a pattern or a max_length "
        "of at most 64"
    )
    assert (warning in out) is warned


# -- a Stripe Checkout action that would take an unpaid session for a paid one


def stripe_action(events: list[str], when: dict | None = None) -> dict:
    action = {
        "events": events,
        "app": 2,
        "operation": "update",
        "token_secret": "sekisho/kintone/seminar-edit",
        "read_secret": "sekisho/kintone/seminar-payment-view",
        "key": {"field": "受付ID", "from": "/data/object/metadata/seminar_receipt"},
        "receipt_field": "受付経路",
        "fields": {"備考": {"set": "支払済"}},
    }
    if when is not None:
        action["when"] = when
    return action


def payments(action: dict, scheme: str = "stripe") -> dict:
    source = {"scheme": scheme, "secret": "sekisho/webhook/pay", "actions": {"mark-paid": action}}
    return policy(views={}, webhooks={"pay": source})


PAID = {"/data/object/payment_status": "paid"}
COMPLETED, EXPIRED = "checkout.session.completed", "checkout.session.expired"
SUCCEEDED = "checkout.session.async_payment_succeeded"
UNPAID_WARNING = (
    "warning: webhooks.pay.actions.mark-paid: {} can name a session that is not paid "
    "(konbini, bank transfer): declare when: {{/data/object/payment_status: paid}} (or the "
    "payment_status the action is for)"
)

CHECKOUT_CONDITIONS = [
    # (the source's policy, the events the warning names: None when there is none)
    pytest.param(payments(stripe_action([COMPLETED])), COMPLETED, id="completed-unconditioned"),
    pytest.param(payments(stripe_action([SUCCEEDED])), SUCCEEDED, id="async-success"),
    pytest.param(payments(stripe_action([EXPIRED])), EXPIRED, id="expired"),
    pytest.param(
        payments(stripe_action([COMPLETED, SUCCEEDED])), f"{COMPLETED}, {SUCCEEDED}", id="both"
    ),
    pytest.param(
        payments(stripe_action(["invoice.paid", COMPLETED])), COMPLETED, id="only-the-checkout"
    ),
    pytest.param(
        payments(stripe_action([COMPLETED], {"/data/object/mode": "payment"})),
        COMPLETED,
        id="a-condition-on-something-else",
    ),
    pytest.param(
        payments(stripe_action([COMPLETED], {"/data/object/payment_status/x": "paid"})),
        COMPLETED,
        id="a-pointer-below-payment-status",
    ),
    pytest.param(payments(stripe_action([COMPLETED], PAID)), None, id="paid-only"),
    pytest.param(
        payments(
            stripe_action(
                [COMPLETED, SUCCEEDED],
                {
                    "/data/object/payment_status": ["paid", "no_payment_required"],
                    "/type": COMPLETED,
                },
            )
        ),
        None,
        id="a-list-of-statuses",
    ),
    pytest.param(
        payments(stripe_action([EXPIRED], {"/data/object/payment_status": "unpaid"})),
        None,
        id="said-unpaid",
    ),
    pytest.param(payments(stripe_action(["invoice.paid"])), None, id="not-a-checkout-session"),
    pytest.param(
        payments(stripe_action([COMPLETED]), scheme="standard"), None, id="not-a-stripe-source"
    ),
]


@pytest.mark.parametrize(("data", "named"), CHECKOUT_CONDITIONS)
def test_a_stripe_checkout_action_without_a_payment_status_condition_is_a_warning(
    tmp_path, capsys, data, named
):
    status, out = check(tmp_path, capsys, data)
    assert status == 0
    ok = "ok: 0 views, 0 forms, 1 webhooks, 1 actions"
    assert out == ([UNPAID_WARNING.format(named), ok] if named else [ok])


def test_a_checkout_action_without_a_payment_status_condition_fails_a_strict_check(
    tmp_path, capsys
):
    status, out = check(tmp_path, capsys, payments(stripe_action([COMPLETED])), "--strict")
    assert (status, out) == (1, [UNPAID_WARNING.format(COMPLETED)])
    status, out = check(tmp_path, capsys, payments(stripe_action([COMPLETED], PAID)), "--strict")
    assert status == 0


# -- loading


def test_a_policy_that_does_not_load_prints_each_problem(tmp_path, capsys):
    data = policy(views={"v": view(limit=0, extra="x")})
    status, out = check(tmp_path, capsys, data)
    assert status == 1
    assert sorted(out) == [
        "error: views.v.extra: Extra inputs are not permitted",
        "error: views.v.limit: Input should be greater than or equal to 1",
    ]


def test_a_missing_policy_file_is_an_error(tmp_path, capsys):
    path = tmp_path / "absent.yaml"
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [f"error: {path}: the file does not exist"]


def test_duplicate_keys_fail_the_check(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(REPO_POLICY.read_text(encoding="utf-8") + "views: {}\n", encoding="utf-8")
    assert main(["check", str(path)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"error: {path}:")
    assert "found duplicate key 'views'" in line


def test_the_policy_path_defaults_to_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEKISHO_POLICY", str(REPO_POLICY))
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_the_policy_path_defaults_to_policy_yaml_here(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SEKISHO_POLICY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1
    assert capsys.readouterr().out == "error: policy.yaml: the file does not exist\n"


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2
