"""The policy models: a valid policy loads; every invalid shape is refused with its location."""

import copy

import pytest
import yaml
from pydantic import ValidationError

from sekisho.errors import ConfigurationError, NotFound
from sekisho.policy import Policy, PolicyError, Rate, validation
from sekisho.policy.validation import parse_policy, schema, validate, validate_policy

DELETE = object()


def full_policy() -> dict:
    return {
        "kintone": {"base_url": "https://example.cybozu.com"},
        "apps": {
            1: {
                "name": "deals",
                "fields": {
                    "担当ID": "SINGLE_LINE_TEXT",
                    "取引ID": "SINGLE_LINE_TEXT",
                    "取引先ID": "SINGLE_LINE_TEXT",
                    "取引名": "SINGLE_LINE_TEXT",
                    "金額": "NUMBER",
                    "ステータス": "DROP_DOWN",
                    "社内メモ": "MULTI_LINE_TEXT",
                },
            },
            2: {
                "name": "seminar",
                "fields": {
                    "受付ID": "SINGLE_LINE_TEXT",
                    "氏名": "SINGLE_LINE_TEXT",
                    "メール": "SINGLE_LINE_TEXT",
                    "人数": "NUMBER",
                    "履歴書": "FILE",
                    "受付経路": "SINGLE_LINE_TEXT",
                    "興味": "CHECK_BOX",
                    "作成者": "CREATOR",
                },
            },
        },
        "views": {
            "deal-status": {
                "app": 1,
                "token_secret": "sekisho/kintone/deals-view",
                "match": {
                    "owner_id": {"code": "担当ID", "pattern": "^[A-Z0-9]{1,12}$", "max_length": 12},
                    "deal_id": {"code": "取引ID", "pattern": "^D[0-9]{6}$"},
                },
                "where": 'ステータス not in ("取消")',
                "fields": ["取引名", "金額", "ステータス"],
                "limit": 20,
                "guard": {"per_ip": "30/hour", "failures_per_key": "5/hour"},
            },
            "partner-deals": {
                "app": 1,
                "token_secret": "sekisho/kintone/deals-view",
                "match": {"partner": {"code": "取引先ID", "from": "claim:custom:partner_id"}},
                "fields": ["取引名", "$id"],
            },
        },
        "forms": {
            "seminar-apply": {
                "app": 2,
                "token_secret": "sekisho/kintone/seminar-add",
                "receipt_field": "受付ID",
                "honeypot": "website",
                "captcha": {"provider": "turnstile", "secret": "sekisho/captcha/seminar"},
                "guard": {"per_ip": "10/hour"},
                "fields": {
                    "name": {"code": "氏名", "type": "text", "required": True, "max_length": 100},
                    "email": {"code": "メール", "type": "email", "required": True},
                    "seats": {"code": "人数", "type": "number", "min": 1, "max": 5},
                    "topics": {
                        "code": "興味",
                        "type": "multi_choice",
                        "options": ["AI", "セキュリティ"],
                        "max_items": 2,
                    },
                    "cv": {
                        "code": "履歴書",
                        "type": "file",
                        "max_bytes": 2097152,
                        "content_types": ["application/pdf"],
                        "max_files": 1,
                    },
                },
                "set": {"受付経路": "web"},
            }
        },
        "webhooks": {
            "box-files": {"scheme": "box", "secret": "sekisho/webhook/box-files"},
            "deals": {
                "scheme": "kintone",
                "secret": "sekisho/webhook/kintone-deals",
                "refetch": {
                    "app": 1,
                    "token_secret": "sekisho/kintone/deals-refetch",
                    "fields": ["取引ID", "ステータス"],
                },
                "allow_ips": ["203.0.113.0/24", "2001:db8::/32"],
            },
        },
    }


def load(data: dict) -> Policy:
    return parse_policy(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def _walk(data: dict, dotted: str) -> tuple[dict, str | int]:
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for key in parents:
        data = data[key]
    return data, last


def changed(dotted: str, value) -> dict:
    data = full_policy()
    target, last = _walk(data, dotted)
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


def renamed(dotted: str, new_key) -> dict:
    data = full_policy()
    target, last = _walk(data, dotted)
    target[new_key] = target.pop(last)
    return data


def issues_of(data: dict) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        load(data)
    return {issue.location: issue.message for issue in caught.value.issues}


def case(dotted: str, value, message: str, *, at: str | None = None):
    """Set ``dotted`` to ``value``: refused at ``at`` (default: the same place)."""
    return pytest.param(changed(dotted, value), at or dotted, message, id=at or dotted)


def rename(dotted: str, new_key, message: str, *, at: str):
    return pytest.param(renamed(dotted, new_key), at, message, id=f"rename-{at}")


V = "views.deal-status"
# A direct upload file field, valid as it is.
DIRECT = {"code": "履歴書", "type": "file", "upload": "direct", "max_bytes": 104_857_600}
DIRECT |= {"content_types": ["application/pdf"]}
M = "views.deal-status.match.owner_id"
F = "forms.seminar-apply"

INVALID = [
    # unknown keys: a typo is an error, never an ignored rule
    case("viewz", {}, "Extra inputs"),
    case(f"{V}.filter", "x", "Extra inputs"),
    case(f"{M}.patern", "x", "Extra inputs"),
    case(f"{V}.guard.burst", "1/second", "Extra inputs"),
    case("webhooks.deals.refetch.fields", [], "at least 1 item"),
    case(
        "webhooks.deals.refetch.fields",
        ["未宣言"],
        "not declared",
        at="webhooks.deals.refetch.fields.0",
    ),
    # names
    rename(V, "Deal_Status", "route name", at="views.Deal_Status.[key]"),
    rename(V, "deal/status", "route name", at="views.deal/status.[key]"),
    rename(V, "deal-status\n", "route name", at="views.deal-status\n.[key]"),
    rename(M, "OwnerId", "match key", at="views.deal-status.match.OwnerId.[key]"),
    rename("apps.2", 0, "greater than 0", at="apps.0.[key]"),
    rename("apps.2", "2", "valid integer", at="apps.2.[key]"),
    case(f"{V}.token_secret", "has space", "secret name"),
    case(f"{V}.token_secret", "", "secret name"),
    case(f"{V}.token_secret", "x" * 513, "secret name"),
    case(f"{V}.token_secret", DELETE, "Field required"),
    case(f"{M}.code", "担当 ID", "field code"),
    case("apps.1.fields.担当ID", "TEXT", "kintone field type"),
    case("apps.1.fields.$id", "__ID__", "built in", at="apps.1.fields.$id.[key]"),
    case("apps.1.fields", {}, "at least 1 item"),
    # values and ranges
    case(f"{V}.app", "1", "valid integer"),
    case(f"{V}.app", 0, "greater than 0"),
    case(f"{M}.pattern", "(unclosed", "regular expression"),
    case(f"{M}.max_length", 0, "greater than or equal to 1"),
    case(f"{M}.max_length", 1001, "less than or equal to 1000"),
    case(f"{M}.from", "header:x-owner", "claim:<claim name>"),
    case(f"{M}.from", "claim:", "claim:<claim name>"),
    case(f"{V}.limit", 0, "greater than or equal to 1"),
    case(f"{V}.limit", 501, "less than or equal to 500"),
    case(f"{V}.limit", "20", "valid integer"),
    case(f"{V}.guard.per_ip", "30/hours", "N/hour"),
    case(f"{V}.guard.failures_per_key", "0/hour", "N >= 1"),
    case(f"{V}.single_predicate", "yes", "'allowed'"),
    case(f"{V}.match", {}, "at least one predicate"),
    case(f"{V}.fields", [], "at least 1 item"),
    case(f"{V}.fields", ["取引名", "取引名"], "listed twice"),
    case(f"{V}.fields", DELETE, "Field required"),
    case(f"{V}.where", '(ステータス not in ("取消")', "parenthesis"),
    case(f"{V}.where", 'ステータス not in ("取消") limit 1', "order by, limit or offset"),
    case("kintone.base_url", "http://example.cybozu.com", "https"),
    case("kintone.base_url", "https://example.cybozu.com/k/v1", "without a path"),
    case("kintone.base_url", "https://user:pw@example.cybozu.com", "without credentials"),
    case("kintone", DELETE, "Field required"),
    # references: every app and field a route names is declared, and usable as used
    case(f"{V}.app", 9, "app 9 is not declared"),
    case(f"{M}.code", "無い", "not declared in app 1"),
    case(f"{M}.code", "社内メモ", "MULTI_LINE_TEXT, which cannot be matched exactly"),
    case(f"{V}.fields", ["取引名", "社外秘"], "not declared in app 1", at=f"{V}.fields.1"),
    case(f"{V}.where", '無い = "x"', "does not declare"),
    case(f"{V}.where", 'ステータス = "取消"', "kintone refuses"),
    case("webhooks.deals.refetch.app", 5, "app 5 is not declared"),
    # forms
    case(f"{F}.app", 7, "app 7 is not declared"),
    case(f"{F}.receipt_field", DELETE, "Field required"),
    case(f"{F}.receipt_field", "無い", "not declared in app 2"),
    case(f"{F}.receipt_field", "人数", "SINGLE_LINE_TEXT"),
    case(f"{F}.receipt_field", "受付経路", "receipt field", at=f"{F}.set.受付経路"),
    case(f"{F}.fields.name.code", "無い", "not declared in app 2"),
    case(f"{F}.fields.name.code", "受付ID", "receipt field"),
    case(f"{F}.fields.email.code", "氏名", "also sent as name"),
    case(f"{F}.fields.name.type", "phone", "'text'"),
    case(f"{F}.fields.name.required", "yes", "valid boolean"),
    case(f"{F}.fields.name.options", ["a"], "options does not apply", at=f"{F}.fields.name"),
    case(f"{F}.fields.cv.max_bytes", DELETE, "needs max_bytes", at=f"{F}.fields.cv"),
    case(f"{F}.fields.seats.min", 9, "min is greater than max", at=f"{F}.fields.seats"),
    case(f"{F}.set", {"無い": "x"}, "not declared in app 2", at=f"{F}.set.無い"),
    case(f"{F}.set", {"氏名": "x"}, "also sent by the browser", at=f"{F}.set.氏名"),
    case(f"{F}.set", {"name": "x"}, "named like a browser field", at=f"{F}.set.name"),
    case(f"{F}.set", {"作成者": "x"}, "a preset cannot set", at=f"{F}.set.作成者"),
    case(f"{F}.set", {"受付経路": ["web"]}, "one value, not a list", at=f"{F}.set.受付経路"),
    case(f"{F}.set", {"受付経路": 1}, "a preset is a string", at=f"{F}.set.受付経路"),
    case(f"{F}.set", {"興味": []}, "non-empty list", at=f"{F}.set.興味"),
    # forms: each option applies to the types it makes sense for, and fits the field
    case(f"{F}.fields.name.type", "textarea", "stored in MULTI_LINE_TEXT, and 氏名 is"),
    case(f"{F}.fields.email.type", "number", "stored in NUMBER, and メール is SINGLE_LINE_TEXT"),
    case(f"{F}.fields.topics.type", "choice", "max_items does not apply", at=f"{F}.fields.topics"),
    case(f"{F}.fields.name.max_length", 64_001, "less than or equal to 64000"),
    case(f"{F}.fields.name.min_length", 101, "min_length is greater", at=f"{F}.fields.name"),
    case(f"{F}.fields.email.max_length", 255, "at most 254", at=f"{F}.fields.email"),
    case(f"{F}.fields.name.pattern", "(unclosed", "regular expression"),
    case(f"{F}.fields.seats.pattern", "^[0-9]$", "pattern does not apply", at=f"{F}.fields.seats"),
    case(f"{F}.fields.seats.max", float("inf"), "finite"),
    case(f"{F}.fields.seats.decimals", 11, "less than or equal to 10"),
    case(f"{F}.fields.name.decimals", 0, "decimals does not apply", at=f"{F}.fields.name"),
    case(f"{F}.fields.topics.options", DELETE, "needs options", at=f"{F}.fields.topics"),
    case(f"{F}.fields.topics.options", ["AI", "AI"], "listed twice"),
    case(f"{F}.fields.topics.options", [" AI"], "NFC", at=f"{F}.fields.topics.options.0"),
    case(f"{F}.fields.topics.options", ["Cafe\u0301"], "NFC", at=f"{F}.fields.topics.options.0"),
    case(
        f"{F}.fields.topics.max_items",
        3,
        "greater than the number of options",
        at=f"{F}.fields.topics",
    ),
    case(
        f"{F}.fields.cv.content_types", DELETE, "max_bytes and content_types", at=f"{F}.fields.cv"
    ),
    case(f"{F}.fields.cv.content_types", [], "at least 1 item"),
    case(
        f"{F}.fields.cv.content_types",
        ["application/x-msdownload"],
        "cannot check",
        at=f"{F}.fields.cv.content_types.0",
    ),
    case(f"{F}.fields.cv.content_types", ["application/pdf"] * 2, "listed twice"),
    case(f"{F}.fields.cv.max_bytes", 4_000_001, "declare upload: direct", at=f"{F}.fields.cv"),
    case(
        f"{F}.fields.cv",
        DIRECT | {"max_bytes": 104_857_601},
        "less than or equal to 104857600",
        at=f"{F}.fields.cv.max_bytes",
    ),
    case(f"{F}.fields.name.upload", "direct", "does not apply to a text", at=f"{F}.fields.name"),
    case(f"{F}.fields.cv.upload", "s3", "'inline' or 'direct'"),
    case(
        f"{F}.fields.cv",
        DIRECT | {"content_types": ["application/pdf", "application/zip"]},
        "cannot tell application/zip",
    ),
    case(f"{F}.fields.cv.max_files", 0, "greater than or equal to 1"),
    case(f"{F}.fields.cv.max_files", 11, "less than or equal to 10"),
    case(f"{F}.fields.name.max_files", 1, "max_files does not apply", at=f"{F}.fields.name"),
    rename(f"{F}.fields.name", "Name", "form field name", at=f"{F}.fields.Name.[key]"),
    # forms: honeypot, captcha, guard
    case(f"{F}.honeypot", "name", "also a browser field"),
    case(f"{F}.honeypot", "Website", "form field name"),
    case(f"{F}.captcha.provider", "hcaptcha", "'turnstile'"),
    case(f"{F}.captcha.secret", "has space", "secret name"),
    case(f"{F}.guard.per_ip", "0/hour", "N >= 1"),
    case(f"{F}.guard.failures_per_key", "5/hour", "Extra inputs"),
    # webhooks
    case("webhooks.box-files.scheme", "gitlab", "'standard'"),
    case("webhooks.deals.allow_ips", ["10.0.0.1/8"], "network", at="webhooks.deals.allow_ips.0"),
    case("webhooks.deals.grace_seconds", -1, "greater than or equal to 0"),
    case("webhooks.deals.grace_seconds", 8 * 86_400, "less than or equal to 604800"),
    case("webhooks.deals.scheme", "github", "only scheme kintone", at="webhooks.deals"),
]


def test_a_complete_policy_loads():
    policy = load(full_policy())
    view = policy.view("deal-status")
    assert view.app == 1
    assert view.fields == ("取引名", "金額", "ステータス")
    assert view.match["owner_id"].pattern.fullmatch("A1")
    assert view.guard.per_ip == Rate(count=30, window_seconds=3600)
    assert policy.form("seminar-apply").presets == {"受付経路": "web"}
    assert policy.webhook("deals").refetch.app == 1
    assert [str(n) for n in policy.webhook("deals").networks] == ["203.0.113.0/24", "2001:db8::/32"]


@pytest.mark.parametrize(("data", "location", "message"), INVALID)
def test_an_invalid_policy_is_refused_naming_the_location(data, location, message):
    issues = issues_of(data)
    assert location in issues, issues
    assert message in issues[location]


def test_every_problem_is_reported_at_once():
    data = changed(f"{V}.fields", ["無い1", "取引名", "無い2"])
    data["views"]["deal-status"]["match"]["deal_id"]["code"] = "無い3"
    issues = issues_of(data)
    assert set(issues) == {
        "views.deal-status.fields.0",
        "views.deal-status.fields.2",
        "views.deal-status.match.deal_id.code",
    }


def test_a_policy_error_is_a_configuration_error_that_hides_its_detail_from_browsers():
    with pytest.raises(PolicyError) as caught:
        load(changed(f"{V}.limit", 0))
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert "views.deal-status.limit" in str(error)
    assert error.problem() == {
        "type": "urn:sekisho:problem:configuration_error",
        "title": "The relay is misconfigured",
        "status": 500,
        "code": "configuration_error",
    }


def test_errors_never_repeat_the_offending_value():
    # Someone pasted a token where the secret's NAME belongs.
    pasted = "Yq3 token-value-that-must-not-leak"
    with pytest.raises(PolicyError) as caught:
        load(changed(f"{V}.token_secret", pasted))
    assert pasted not in str(caught.value)
    assert all(pasted not in str(issue) for issue in caught.value.issues)


def test_an_unknown_view_is_not_found_by_default():
    policy = load(full_policy())
    for name in ["nope", "seminar-apply", "box-files", "", "DEAL-STATUS"]:
        with pytest.raises(NotFound) as caught:
            policy.view(name)
        assert caught.value.status == 404
        assert caught.value.problem()["code"] == "not_found"
        assert caught.value.detail is None  # the same 404 as any other miss


def test_unknown_forms_and_webhooks_are_not_found_either():
    policy = load(full_policy())
    with pytest.raises(NotFound):
        policy.form("deal-status")
    with pytest.raises(NotFound):
        policy.webhook("deal-status")


def test_secret_names_lists_every_secret_of_one_section_only():
    policy = load(full_policy())
    assert policy.secret_names("views") == {"sekisho/kintone/deals-view"}
    assert policy.secret_names("forms") == {
        "sekisho/kintone/seminar-add",
        "sekisho/captcha/seminar",
    }
    assert policy.secret_names("webhooks") == {
        "sekisho/webhook/box-files",
        "sekisho/webhook/kintone-deals",
        "sekisho/kintone/deals-refetch",
    }


def test_secret_names_of_an_empty_section_is_empty():
    data = full_policy()
    del data["forms"], data["webhooks"]
    assert load(data).secret_names("webhooks") == frozenset()


def test_secret_names_refuses_an_unknown_section():
    with pytest.raises(ConfigurationError):
        load(full_policy()).secret_names("apps")  # type: ignore[arg-type]


def test_a_view_knows_its_field_types_from_its_app():
    view = load(full_policy()).view("deal-status")
    assert view.field_type("担当ID") == "SINGLE_LINE_TEXT"
    assert view.field_type("ステータス") == "DROP_DOWN"
    assert view.field_type("$id") == "__ID__"
    with pytest.raises(ConfigurationError, match="not declared in app 1"):
        view.field_type("無い")


def test_predicate_codes_follow_the_declaration_order():
    policy = load(full_policy())
    assert policy.view("deal-status").predicate_codes == ("担当ID", "取引ID")
    assert policy.view("partner-deals").predicate_codes == ("取引先ID",)


def test_guard_defaults_apply_when_a_view_declares_none():
    guard = load(full_policy()).view("partner-deals").guard
    assert str(guard.per_ip) == "30/hour"
    assert str(guard.failures_per_key) == "5/hour"


def test_a_form_guard_defaults_to_twenty_an_hour_per_ip():
    data = full_policy()
    del data["forms"]["seminar-apply"]["guard"]
    assert str(load(data).form("seminar-apply").guard.per_ip) == "20/hour"
    assert str(load(full_policy()).form("seminar-apply").guard.per_ip) == "10/hour"


def test_a_form_reads_its_honeypot_captcha_and_limits():
    form = load(full_policy()).form("seminar-apply")
    assert form.honeypot == "website"
    assert (form.captcha.provider, form.captcha.secret) == ("turnstile", "sekisho/captcha/seminar")
    assert form.fields["topics"].options == ("AI", "セキュリティ")
    assert form.fields["cv"].content_types == ("application/pdf",)
    assert list(form.file_fields) == ["cv"]


@pytest.mark.parametrize(
    ("field", "length_limit"),
    [
        ({"code": "氏名", "type": "text"}, 64_000),
        ({"code": "氏名", "type": "text", "max_length": 10}, 10),
        ({"code": "メール", "type": "email"}, 254),
        ({"code": "メール", "type": "email", "max_length": 100}, 100),
    ],
)
def test_a_text_field_without_max_length_is_still_bounded(field, length_limit):
    assert validate(schema.FormField, field).length_limit == length_limit


def test_a_file_field_takes_one_file_unless_declared():
    limits = {"code": "履歴書", "type": "file", "max_bytes": 10, "content_types": ["image/png"]}
    assert validate(schema.FormField, limits).file_limit == 1
    assert validate(schema.FormField, {**limits, "max_files": 3}).file_limit == 3


def test_a_view_limit_defaults_to_twenty():
    assert load(full_policy()).view("partner-deals").limit == 20


def test_a_loaded_policy_cannot_be_changed():
    view = load(full_policy()).view("deal-status")
    with pytest.raises(AttributeError):  # FrozenInstanceError
        view.limit = 500  # type: ignore[misc]
    assert isinstance(view.fields, tuple)


@pytest.mark.parametrize(
    ("text", "count", "window"),
    [("1/second", 1, 1), ("2/minute", 2, 60), ("30/hour", 30, 3600), ("100/day", 100, 86400)],
)
def test_rates_are_read_as_count_per_window(text, count, window):
    rate = Rate.parse(text)
    assert (rate.count, rate.window_seconds) == (count, window)
    assert str(rate) == text


@pytest.mark.parametrize(
    "text", ["0/hour", "-1/hour", "30/hours", "30 / hour", "hour", "1e3/hour", "30/fortnight", ""]
)
def test_malformed_rates_are_refused(text):
    with pytest.raises(ValidationError):
        validation.validate(validation.schema.Rate, text)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("A1", True),
        ("A" * 12, True),
        ("A" * 13, False),
        ("", False),
        ("a1", False),
        ("A1\n", False),
    ],
)
def test_a_match_rule_accepts_only_its_declared_shape(value, accepted):
    rule = validate(schema.MatchRule, {"code": "担当ID", "pattern": "^[A-Z0-9]{1,12}$"})
    assert rule.accepts(value) is accepted


def test_a_match_rule_says_where_its_value_comes_from():
    body = validate(schema.MatchRule, {"code": "担当ID"})
    claim = validate(schema.MatchRule, {"code": "取引先ID", "from": "claim:custom:partner_id"})
    assert (body.source, body.claim) == ("body", None)
    assert (claim.source, claim.claim) == ("claim:custom:partner_id", "custom:partner_id")
    assert body.max_length == 64


def test_policy_models_are_usable_without_yaml():
    data = copy.deepcopy(full_policy())
    assert validate_policy(data).view("deal-status").field_type("金額") == "NUMBER"
