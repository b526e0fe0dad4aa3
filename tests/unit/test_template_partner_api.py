"""PartnerApi and PartnerFunction in template.yaml: the partner routes on an API of their
own (its stage, throttling, access log, problem answers and 405s, no resource policy and no
CORS), a literal path per partner view of the policy, and a role that reads only the
partners' keys and their routes' tokens and counts only under their keys.

The template is read as written (cfn-lint's loader); the local stack's own readers
(devstack.sam, devstack.routing) show which function each path reaches on `make dev`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from devstack import cfn, gateway, provision, sam
from devstack.routing import RouteTable, mock_methods
from sekisho.errors import PROBLEM_TYPE_BASE
from sekisho.intake.service import SCOPE_PREFIX as FORM_SCOPE
from sekisho.lookup import SCOPE_PREFIX as VIEW_SCOPE
from sekisho.partners.gate import KEY_PREFIX as PARTNER_SCOPE
from sekisho.policy.validation.loader import read_policy
from tests.template_support import (
    as_list,
    load_policy_yaml,
    load_template,
    secret_names,
    statements,
)

REPO = Path(__file__).resolve().parents[2]
ANY_METHOD = "x-amazon-apigateway-any-method"
GUARD_TABLE = {"Fn::GetAtt": ["GuardTable", "Arn"]}
GUARD_HASH_KEY_SECRET = "sekisho/guard/hash-key"  # a secret's name, not a value
CORS_HEADERS = {"Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Vary"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def partner_api(resources) -> Mapping[str, Any]:
    return resources["PartnerApi"]["Properties"]


@pytest.fixture(scope="module")
def partner_function(resources) -> Mapping[str, Any]:
    return resources["PartnerFunction"]["Properties"]


def api_events(resources: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(function, api, path, METHOD) of every Api event of the template."""
    found = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                api = props["RestApiId"]["Ref"]
                found.append((name, api, props["Path"], props["Method"].upper()))
    return found


def partner_views(policy: Mapping[str, Any]) -> set[str]:
    return {name for name, view in policy["views"].items() if view.get("caller") == "partner"}


# ---------------------------------------------------------------- routes


def test_the_partner_routes_are_a_literal_path_per_partner_view_and_the_partners_form_route(
    resources,
):
    views = partner_views(load_policy_yaml())
    assert views
    events = api_events(resources)
    routes = {(path, method) for _, api, path, method in events if api == "PartnerApi"}
    assert routes == {(f"/views/{name}", "POST") for name in views} | {
        ("/partners/forms/{form}", "POST")
    }


def test_partner_api_serves_partner_function_alone_and_partner_function_no_other_api(resources):
    events = api_events(resources)
    assert {fn for fn, api, _, _ in events if api == "PartnerApi"} == {"PartnerFunction"}
    assert {api for fn, api, _, _ in events if fn == "PartnerFunction"} == {"PartnerApi"}


def test_no_partner_route_answers_a_preflight(resources):
    # Partners are systems: no browser asks them, and no function answers CORS for them.
    methods = {method for fn, _, _, method in api_events(resources) if fn == "PartnerFunction"}
    assert methods == {"POST"}


# ---------------------------------------------------------------- the API itself


def test_partner_api_is_regional_throttled_and_access_logged_to_its_own_group(
    partner_api, resources
):
    assert partner_api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    assert partner_api["StageName"] == {"Ref": "Stage"}
    (settings,) = partner_api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert (settings["LoggingLevel"], settings["DataTraceEnabled"]) == ("OFF", False)
    (group,) = partner_api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][:1]
    assert resources[group]["Type"] == "AWS::Logs::LogGroup"
    assert (
        group
        != resources["Api"]["Properties"]["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    )
    assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_partner_api_logs_no_more_than_the_browser_api(partner_api, resources):
    # No query string, body or header (the signature) in either access log.
    used = set(re.findall(r"\$[A-Za-z.]+", partner_api["AccessLogSetting"]["Format"]))
    browser = resources["Api"]["Properties"]["AccessLogSetting"]["Format"]
    assert used == set(re.findall(r"\$[A-Za-z.]+", browser))


def test_partner_api_has_no_resource_policy_no_cors_and_no_binary_types(template, partner_api):
    # Partners' networks are the policy's, per partner (checked by PartnerFunction); the
    # browser allowlist must not lock them out.
    assert "Policy" not in partner_api
    assert "Auth" not in partner_api
    assert "Cors" not in partner_api
    # The body reaches the function as sent, for its Content-Digest.
    assert "BinaryMediaTypes" not in partner_api


def test_partner_api_has_no_resource_policy_in_the_local_stack_either(template):
    resolver = cfn.Resolver(template, cfn.parameter_values(template, {}))
    specs = sam.apis(template, resolver)
    assert specs["PartnerApi"].policy is None
    assert specs["PartnerApi"].stage == specs["Api"].stage


def test_partner_api_answers_api_gateways_refusals_as_the_browser_api_does_without_cors(
    partner_api, resources
):
    browser = resources["Api"]["Properties"]["GatewayResponses"]
    partner = partner_api["GatewayResponses"]
    assert set(partner) == set(browser)
    for kind, response in partner.items():
        assert response["StatusCode"] == browser[kind]["StatusCode"], kind
        assert response["ResponseTemplates"] == browser[kind]["ResponseTemplates"], kind
        headers = response["ResponseParameters"]["Headers"]
        assert not set(headers) & CORS_HEADERS, kind
        expected = {
            name: value
            for name, value in browser[kind]["ResponseParameters"]["Headers"].items()
            if name not in CORS_HEADERS
        }
        assert headers == expected, kind


def test_partner_api_gateway_responses_are_problem_documents(partner_api):
    for kind, response in partner_api["GatewayResponses"].items():
        (body,) = response["ResponseTemplates"].values()
        problem = json.loads(gateway.render(body, {}))
        assert problem["type"] == PROBLEM_TYPE_BASE + problem["code"], kind
        assert problem["status"] == int(response["StatusCode"]), kind


def routed_methods(resources: Mapping[str, Any]) -> dict[str, set[str]]:
    methods: dict[str, set[str]] = {}
    for _, api, path, method in api_events(resources):
        if api == "PartnerApi":
            methods.setdefault(path, set()).add(method)
    return methods


def test_exactly_the_partner_paths_have_a_405_mock_naming_their_methods(partner_api, resources):
    assert partner_api["MergeDefinitions"] is True
    assert partner_api["DefinitionBody"]["openapi"] == partner_api["OpenApiVersion"]
    paths = partner_api["DefinitionBody"]["paths"]
    routed = routed_methods(resources)
    assert set(paths) == set(routed)
    for path, operations in paths.items():
        assert set(operations) == {ANY_METHOD}, path
        integration = operations[ANY_METHOD]["x-amazon-apigateway-integration"]
        assert (integration["type"], integration["passthroughBehavior"]) == ("mock", "never")
        for text in integration["requestTemplates"].values():
            assert json.loads(text) == {"statusCode": 405}
        response = integration["responses"]["default"]
        assert response["statusCode"] == "405"
        parameters = response["responseParameters"]
        allow = parameters["method.response.header.Allow"]
        assert allow == "'" + ", ".join(sorted(routed[path])) + "'", path
        headers = {name.removeprefix("method.response.header.") for name in parameters}
        assert not headers & CORS_HEADERS, path
        declared = operations[ANY_METHOD]["responses"]["405"]["headers"]
        assert set(declared) == headers, path
        (body,) = response["responseTemplates"].values()
        assert json.loads(body)["code"] == "method_not_allowed"


# ---------------------------------------------------------------- PartnerFunction's role


def by_sid(function: Mapping[str, Any], sid: str) -> Mapping[str, Any]:
    (statement,) = [s for s in statements(function) if s.get("Sid") == sid]
    return statement


def partner_leading_keys(policy: Mapping[str, Any]) -> list[str]:
    """The guard keys a policy's partners reach: their nonces and quotas, and the counters of
    the views and forms they are given, each by name."""
    keys = []
    for partner_id, partner in (policy.get("partners") or {}).items():
        keys.append(f"{PARTNER_SCOPE}{partner_id}#*")
        routes = partner.get("routes") or {}
        keys += [f"{VIEW_SCOPE}{name}#*" for name in routes.get("views", ())]
        keys += [f"{FORM_SCOPE}{name}#*" for name in routes.get("forms", ())]
    return list(dict.fromkeys(keys))


def guard_keys(partner_function: Mapping[str, Any]) -> list[str]:
    statement = by_sid(partner_function, "CountInGuardTable")
    assert statement["Resource"] == GUARD_TABLE
    return statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]


def test_the_guard_keys_are_the_partners_and_their_routes_counters_by_name(partner_function):
    assert sorted(guard_keys(partner_function)) == sorted(partner_leading_keys(load_policy_yaml()))


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("partner:demo-erp#nonce#k7Qx2mW9pL4vR8tZ", True),
        ("partner:demo-erp#quota#m#29447000", True),
        ("partner:demo-erp#quota#d#20449", True),
        ("view:partner-deals#fail#3600#500000#0123abcd", True),
        ("view:partner-deals#budget#86400#20833", True),
        ("form:seminar-apply#budget#86400#20833", True),
        ("form:seminar-apply#upload#ip#3600#1#0123abcd", True),
        # Another partner's counters, another view's lockouts, the webhooks' records.
        ("partner:other-erp#nonce#k7Qx2mW9pL4vR8tZ", False),
        ("partner:demo-erp-2#quota#m#1", False),
        ("view:deal-status#fail#3600#500000#0123abcd", False),
        ("view:partner-deals-2#fail#3600#1#0123abcd", False),
        ("form:job-apply#budget#86400#20833", False),
        ("session:applicants#code#0123abcd", False),
        ("sekisho.webhook#5d41402abc4b2a76b9719d911017c592", False),
        ("sekisho.action#5d41402abc4b2a76b9719d911017c592", False),
    ],
)
def test_partner_function_leading_keys_admit_only_its_own_counters(partner_function, key, allowed):
    patterns = guard_keys(partner_function)
    regexes = ["".join(".*" if c == "*" else re.escape(c) for c in p) for p in patterns]
    assert any(re.fullmatch(regex, key) for regex in regexes) is allowed


def test_partner_function_reads_the_secrets_its_wiring_admits_and_no_other(
    partner_function, resources
):
    # What sekisho.wiring.partner's store allows: the policy's own reading of it.
    expected = read_policy(REPO / "policy.yaml").secret_names("partners") | {GUARD_HASH_KEY_SECRET}
    names = secret_names(resources)
    statement = by_sid(partner_function, "ReadOwnSecrets")
    assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
    assert {names[r["Ref"]] for r in as_list(statement["Resource"])} == expected


def test_partner_function_holds_no_captcha_secret_and_no_browser_views_token(
    partner_function, resources
):
    policy = load_policy_yaml()
    names = secret_names(resources)
    readable = {
        names[r["Ref"]]
        for s in statements(partner_function)
        if "secretsmanager:GetSecretValue" in as_list(s.get("Action"))
        for r in as_list(s["Resource"])
    }
    captchas = {f["captcha"]["secret"] for f in policy["forms"].values() if f.get("captcha")}
    browser_views = {
        v["token_secret"]
        for name, v in policy["views"].items()
        if name not in partner_views(policy) and not v.get("session")
    }
    # The demo's form has no CAPTCHA: what would be its secret must stay out all the same.
    assert browser_views
    assert not readable & (captchas | browser_views)
    assert not any(name.startswith("sekisho/captcha/") for name in readable)


@pytest.mark.parametrize(
    "sid",
    ["RememberIdempotentAnswers", "KeepEntries", "QueueForDelivery", "StageAttachments",
     "QuarantineUploads", "ReadRouteSwitches"],
)  # fmt: skip
def test_partner_function_submits_a_form_with_exactly_the_intakes_grants(
    partner_function, resources, sid
):
    intake = resources["IntakeFunction"]["Properties"]
    assert by_sid(partner_function, sid) == by_sid(intake, sid)


def test_partner_function_logs_to_its_own_group(partner_function, resources):
    group = partner_function["LoggingConfig"]["LogGroup"]["Ref"]
    assert resources[group]["Type"] == "AWS::Logs::LogGroup"
    assert resources[group]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/sekisho/${AWS::StackName}/partner"
    }


# ---------------------------------------------------------------- the local stack's routes


@pytest.fixture(scope="module")
def local_table(template) -> RouteTable:
    resolver = cfn.Resolver(template, cfn.parameter_values(template, {}))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    specs = sam.apis(template, resolver)
    return RouteTable(
        sam.routes(template, resolver, specs), mock_methods(template, resolver, specs)
    )


@pytest.mark.parametrize(
    ("method", "path", "function", "api"),
    [
        ("POST", "/views/partner-deals", "PartnerFunction", "PartnerApi"),
        ("POST", "/partners/forms/seminar-apply", "PartnerFunction", "PartnerApi"),
        ("POST", "/views/deal-status", "LookupFunction", "Api"),
        ("OPTIONS", "/views/deal-status", "LookupFunction", "Api"),
        ("POST", "/views/my-applications", "SessionFunction", "Api"),
        ("POST", "/forms/seminar-apply", "IntakeFunction", "Api"),
    ],
)
def test_make_dev_serves_both_apis_routes_on_one_port(local_table, method, path, function, api):
    match = local_table.match(method, path)
    assert match is not None
    assert (match.route.function, match.route.api.logical_id) == (function, api)


@pytest.mark.parametrize("path", ["/views/partner-deals", "/partners/forms/seminar-apply"])
def test_make_dev_answers_a_partner_routes_other_methods_with_its_405(local_table, path):
    assert local_table.match("GET", path) is None
    mock = local_table.mock("GET", path)
    assert mock is not None
    assert (mock.api.logical_id, mock.status, mock.headers["Allow"]) == (
        "PartnerApi",
        405,
        "'POST'",
    )
