"""The local stack's reading of an API resource policy scoped to stages, methods and paths,
and of template.yaml's own policy: the browser allowlist leaves webhook senders alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack import cfn, provision, resource_policy, sam
from devstack.resource_policy import invoke_arn, refuses
from devstack.routing import RouteTable

REPO = Path(__file__).resolve().parents[2]
API = "abcdef1234"
INSIDE, OUTSIDE = "203.0.113.7", "198.51.100.1"
OFFICE = ["203.0.113.0/24"]

ALLOW_ALL = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}


def deny_outside(resource: Any = None, *, not_resource: Any = None) -> dict[str, Any]:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}},
    }
    if not_resource is not None:
        statement["NotResource"] = not_resource
    else:
        statement["Resource"] = resource
    return statement


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def arn(method: str, path: str, stage: str = "v1") -> str:
    return invoke_arn(API, stage, method, path)


def test_the_invoke_arn_names_region_account_api_stage_method_and_path():
    assert arn("post", "/views/deal-status") == (
        "arn:aws:execute-api:ap-northeast-1:123456789012:abcdef1234/v1/POST/views/deal-status"
    )


BROWSER_ONLY = policy(
    ALLOW_ALL, deny_outside(["execute-api:/*/*/views/*", "execute-api:/*/*/forms/*"])
)
KINTONE_ONLY = policy(ALLOW_ALL, deny_outside("execute-api:/*/POST/webhooks/demo-kintone"))


@pytest.mark.parametrize(
    ("rules", "source_ip", "method", "path", "refused"),
    [
        (BROWSER_ONLY, OUTSIDE, "POST", "/views/deal-status", True),
        (BROWSER_ONLY, OUTSIDE, "OPTIONS", "/forms/seminar-apply", True),
        (BROWSER_ONLY, INSIDE, "POST", "/views/deal-status", False),
        (BROWSER_ONLY, OUTSIDE, "POST", "/webhooks/demo-stripe", False),
        (BROWSER_ONLY, OUTSIDE, "POST", "/webhooks/demo-kintone", False),
        (KINTONE_ONLY, OUTSIDE, "POST", "/webhooks/demo-kintone", True),
        (KINTONE_ONLY, INSIDE, "POST", "/webhooks/demo-kintone", False),
        (KINTONE_ONLY, OUTSIDE, "POST", "/webhooks/demo-github", False),
        (KINTONE_ONLY, OUTSIDE, "POST", "/webhooks/demo-kintone-2", False),
        (KINTONE_ONLY, OUTSIDE, "GET", "/webhooks/demo-kintone", False),
        (KINTONE_ONLY, OUTSIDE, "POST", "/views/deal-status", False),
    ],
)
def test_a_path_scoped_deny_refuses_only_the_routes_it_names(
    rules, source_ip, method, path, refused
):
    assert refuses(rules, source_ip, arn(method, path)) is refused


@pytest.mark.parametrize(
    ("pattern", "method", "path", "stage", "covered"),
    [
        ("*", "GET", "/anything", "v1", True),
        ("execute-api:/*", "DELETE", "/a/b/c", "prod", True),
        ("execute-api:/v1/POST/views/*", "POST", "/views/x", "v1", True),
        ("execute-api:/v1/POST/views/*", "POST", "/views/x", "v2", False),
        ("execute-api:/v1/POST/views/*", "GET", "/views/x", "v1", False),
        ("execute-api:/v?/POST/views/x", "POST", "/views/x", "v1", True),
        ("execute-api:/v?/POST/views/x", "POST", "/views/x", "v10", False),
        # IAM has no character classes: brackets are literal.
        ("execute-api:/v[12]/POST/views/x", "POST", "/views/x", "v1", False),
        # Case matters in an ARN.
        ("execute-api:/v1/post/views/x", "POST", "/views/x", "v1", False),
        (
            f"arn:aws:execute-api:ap-northeast-1:123456789012:{API}/*/POST/views/*",
            "POST",
            "/views/x",
            "v1",
            True,
        ),
        (
            "arn:aws:execute-api:ap-northeast-1:123456789012:otherapi000/*",
            "POST",
            "/views/x",
            "v1",
            False,
        ),
        ("arn:aws:execute-api:*:*:*/*/POST/views/*", "POST", "/views/x", "v1", True),
    ],
)
def test_resource_patterns_follow_iam_wildcards_and_the_short_form(
    pattern, method, path, stage, covered
):
    rules = policy(ALLOW_ALL, deny_outside(pattern))
    assert refuses(rules, OUTSIDE, arn(method, path, stage)) is covered


@pytest.mark.parametrize(
    ("path", "refused"),
    [("/webhooks/demo-stripe", False), ("/views/deal-status", True), ("/forms/x", True)],
)
def test_not_resource_scopes_a_deny_to_everything_else(path, refused):
    rules = policy(ALLOW_ALL, deny_outside(not_resource="execute-api:/*/*/webhooks/*"))
    assert refuses(rules, OUTSIDE, arn("POST", path)) is refused


def test_an_allow_scoped_to_other_routes_leaves_this_one_denied():
    rules = policy({**ALLOW_ALL, "Resource": "execute-api:/*/*/views/*"})
    assert refuses(rules, INSIDE, arn("POST", "/views/x")) is False
    assert refuses(rules, INSIDE, arn("POST", "/forms/x")) is True


def test_without_the_request_arn_every_statement_covers_it():
    # A caller that does not say which route it decides for gets the strictest reading.
    assert refuses(BROWSER_ONLY, OUTSIDE) is True
    assert refuses(KINTONE_ONLY, OUTSIDE) is True
    assert refuses(BROWSER_ONLY, INSIDE) is False


# -- template.yaml's own policy ----------------------------------------------------------


def template_stack(**overrides: str) -> tuple[sam.ApiSpec, RouteTable]:
    template = cfn.load_template(REPO / "template.yaml")
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    api_specs = sam.apis(template, resolver)
    return api_specs["Api"], RouteTable(sam.routes(template, resolver, api_specs))


def template_api(**overrides: str) -> sam.ApiSpec:
    return template_stack(**overrides)[0]


def on(api: sam.ApiSpec, method: str, path: str) -> str:
    return invoke_arn(api.api_id, api.stage, method, path)


@pytest.mark.parametrize(
    ("method", "path", "refused"),
    [
        ("POST", "/views/deal-status", True),
        ("OPTIONS", "/views/deal-status", True),
        ("POST", "/forms/seminar-apply", True),
        ("POST", "/webhooks/demo-stripe", False),
        ("POST", "/webhooks/demo-github", False),
        ("POST", "/webhooks/demo-kintone", False),
    ],
)
def test_the_templates_browser_allowlist_refuses_browsers_but_not_webhook_senders(
    method, path, refused
):
    api = template_api(AllowedSourceIps=",".join(OFFICE))
    assert refuses(api.policy, OUTSIDE, on(api, method, path)) is refused
    assert refuses(api.policy, INSIDE, on(api, method, path)) is False


@pytest.mark.parametrize(
    ("source_ip", "path", "refused"),
    [
        ("192.0.2.9", "/webhooks/demo-kintone", False),  # kintone's range
        (OUTSIDE, "/webhooks/demo-kintone", True),
        (OUTSIDE, "/webhooks/demo-box", False),
        (OUTSIDE, "/views/deal-status", False),  # no browser allowlist given
    ],
)
def test_the_templates_kintone_allowlist_guards_only_the_kintone_source(source_ip, path, refused):
    api = template_api(KintoneWebhookSourceIps="192.0.2.0/28")
    assert refuses(api.policy, source_ip, on(api, "POST", path)) is refused


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/webhooks/demo-kintone", True),
        ("/webhooks/demo-kintone/", True),
        # Other sources, even one whose name starts with kintone's, keep their own senders.
        ("/webhooks/demo-kintone-2", False),
        ("/webhooks/demo-kintonex", False),
    ],
)
def test_every_spelling_that_reaches_the_kintone_source_is_refused_outside_its_ranges(
    path, refused
):
    api, table = template_stack(KintoneWebhookSourceIps="192.0.2.0/28")
    match = table.match("POST", path)
    assert match is not None
    assert match.route.function == "WebhookFunction"
    # The route the request reaches and the Deny agree: the kintone source is refused.
    assert (match.path_parameters == {"source": "demo-kintone"}) is refused
    assert refuses(api.policy, OUTSIDE, on(api, "POST", path)) is refused
    assert refuses(api.policy, "192.0.2.9", on(api, "POST", path)) is False


def test_the_template_without_allowlists_refuses_no_one():
    api = template_api()
    for path in ("/views/deal-status", "/forms/seminar-apply", "/webhooks/demo-kintone"):
        assert refuses(api.policy, OUTSIDE, on(api, "POST", path)) is False


def test_statements_with_conditions_it_cannot_read_are_skipped_not_guessed(caplog):
    rules = policy(
        ALLOW_ALL,
        {
            **deny_outside("*"),
            "Sid": "OnlyFromVpce",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
        },
    )
    resource_policy._warned.discard("OnlyFromVpce")
    assert refuses(rules, OUTSIDE, arn("POST", "/views/x")) is False
    assert "OnlyFromVpce" in caplog.text
