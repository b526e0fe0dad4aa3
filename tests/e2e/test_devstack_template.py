"""How the local stack reads a SAM template and plays API Gateway, without starting it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import cfn, gateway, provision, resource_policy
from devstack.demo_secrets import SecretsFile, load_secrets_file, secret_strings
from devstack.errors import SecretsFileError, TemplateError
from devstack.proxy import HttpRequest, MalformedResponse, http_answer
from devstack.routing import RouteTable
from devstack.sam import ApiSpec, GatewayResponse, Route
from kintone_emulator.schema import load_seed

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example,https://b.example"}
  Sources: {Type: CommaDelimitedList, Default: ""}
  Required: {Type: String}
Mappings:
  Sizes: {dev: {memory: "256"}}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsProd: !Not [!Condition IsDev]
  HasSources: !Not [!Equals [!Join ["", !Ref Sources], ""]]
  Both: !And [!Condition IsDev, !Condition HasSources]
  Either: !Or [!Condition IsDev, !Condition HasSources]
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Sub "${AWS::StackName}-t"}}
  Queue: {Type: AWS::SQS::Queue}
Values:
  sub_list: !Sub ["${Stage}/${Extra}", {Extra: x}]
  sub_get_att: !Sub "${Table.Arn}"
  sub_escape: !Sub "${!Stage}"
  join_list: !Join [",", !Ref Origins]
  first_origin: !Select [0, !Ref Origins]
  split: !Split ["-", a-b]
  if_true: !If [IsDev, yes-dev, no-dev]
  if_removed: !If [IsProd, x, !Ref AWS::NoValue]
  in_map: !FindInMap [Sizes, !Ref Stage, memory]
  get_att_list: !GetAtt [Queue, QueueName]
  table: !Ref Table
  queue_url: !Ref Queue
  region: !Ref AWS::Region
"""


@pytest.fixture
def template(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return cfn.load_template(path)


@pytest.fixture
def resolver(template: dict[str, Any]) -> cfn.Resolver:
    resolver = cfn.Resolver(template, cfn.parameter_values(template, {}))
    provision.register_resources(template, resolver, "http://127.0.0.1:5000")
    return resolver


# -- intrinsic functions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sub_list", "dev/x"),
        ("sub_get_att", "arn:aws:dynamodb:ap-northeast-1:123456789012:table/sekisho-local-t"),
        ("sub_escape", "${Stage}"),
        ("join_list", "https://a.example,https://b.example"),
        ("first_origin", "https://a.example"),
        ("split", ["a", "b"]),
        ("if_true", "yes-dev"),
        ("in_map", "256"),
        ("get_att_list", "Queue"),
        ("table", "sekisho-local-t"),
        ("queue_url", "http://127.0.0.1:5000/123456789012/Queue"),
        ("region", "ap-northeast-1"),
    ],
)
def test_intrinsic_function_resolves_to_its_local_value(
    template: dict[str, Any], resolver: cfn.Resolver, name: str, expected: Any
) -> None:
    assert resolver.resolve(template["Values"][name]) == expected


def test_no_value_removes_the_key_that_holds_it(
    template: dict[str, Any], resolver: cfn.Resolver
) -> None:
    resolved = resolver.resolve(template["Values"])

    assert "if_removed" not in resolved


@pytest.mark.parametrize(
    ("condition", "expected"),
    [("IsDev", True), ("IsProd", False), ("HasSources", False), ("Both", False), ("Either", True)],
)
def test_conditions_are_evaluated_from_parameter_values(
    resolver: cfn.Resolver, condition: str, expected: bool
) -> None:
    assert resolver.condition(condition) is expected


def test_local_override_changes_parameter_and_condition(template: dict[str, Any]) -> None:
    resolver = cfn.Resolver(template, cfn.parameter_values(template, {"Sources": "10.0.0.0/8"}))

    assert resolver.condition("HasSources") is True


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ({"Fn::ImportValue": "Elsewhere"}, "Fn::ImportValue"),
        ({"Ref": "Required"}, "--param Required=VALUE"),
        ({"Ref": "Nothing"}, "Nothing"),
        ({"Fn::GetAtt": ["Table", "NoSuchAttribute"]}, "Table.NoSuchAttribute"),
        ({"Fn::If": ["NoSuchCondition", 1, 2]}, "NoSuchCondition"),
        ({"Fn::Select": [5, ["a"]]}, "Fn::Select"),
    ],
)
def test_what_cannot_be_resolved_locally_fails_by_name(
    resolver: cfn.Resolver, expression: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(TemplateError, match=complaint.replace("+", r"\+")):
        resolver.resolve(expression)


@pytest.mark.parametrize(
    ("defaults", "own", "merged"),
    [
        ({"A": 1, "B": 2}, {"B": 3}, {"A": 1, "B": 3}),
        ({"Env": {"Variables": {"X": "g", "Y": "g"}}}, {"Env": {"Variables": {"Y": "f"}}},
         {"Env": {"Variables": {"X": "g", "Y": "f"}}}),
        ({"Layers": ["g"]}, {"Layers": ["f"]}, {"Layers": ["g", "f"]}),
        ({"V": {"Ref": "G"}}, {"V": {"Ref": "F"}}, {"V": {"Ref": "F"}}),
        ({"T": 3}, {}, {"T": 3}),
    ],
)  # fmt: skip
def test_globals_merge_as_sam_merges_them(
    defaults: dict[str, Any], own: dict[str, Any], merged: dict[str, Any]
) -> None:
    assert cfn.merge_globals(defaults, own) == merged


# -- routing -----------------------------------------------------------------------------

API = ApiSpec("Api", "v1", (), {})
ROUTES = RouteTable(
    Route(API, path, method, function)
    for path, method, function in [
        ("/views/{view}", "POST", "View"),
        ("/views/{view}", "OPTIONS", "View"),
        ("/views/special", "GET", "Special"),
        ("/{proxy+}", "ANY", "Catch"),
        ("/files/{id}/raw", "GET", "Raw"),
        ("/", "GET", "Root"),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/views/a", ("View", {"view": "a"})),
        ("OPTIONS", "/views/a", ("View", {"view": "a"})),
        ("GET", "/views/special", ("Special", None)),
        ("GET", "/views/a", None),  # the resource wins; it has no GET and nothing else is tried
        ("POST", "/views/special", None),
        ("GET", "/other/deep/path", ("Catch", {"proxy": "other/deep/path"})),
        ("GET", "/files/7/raw", ("Raw", {"id": "7"})),
        ("GET", "/files/7", ("Catch", {"proxy": "files/7"})),
        ("GET", "/", ("Root", None)),
        ("GET", "/views/a%2Fb", None),
        ("POST", "/views/a%2Fb", ("View", {"view": "a/b"})),
    ],
)
def test_route_is_chosen_like_api_gateway_walks_its_resources(
    method: str, path: str, expected: tuple[str, dict[str, str] | None] | None
) -> None:
    match = ROUTES.match(method, path)

    found = None if match is None else (match.route.function, match.path_parameters)
    assert found == expected


def test_the_same_route_declared_twice_is_rejected() -> None:
    with pytest.raises(TemplateError, match="declared by both"):
        RouteTable([Route(API, "/a", "GET", "One"), Route(API, "/a", "GET", "Two")])


# -- proxy responses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        None,
        [],
        {},
        {"statusCode": True},
        {"statusCode": "two hundred"},
        {"statusCode": 99},
        {"statusCode": 200, "body": {"json": "object"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["X-A: 1"]},
        {"statusCode": 200, "headers": {"X-A": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X-A": "not a list"}},
    ],
)
def test_result_that_is_not_a_proxy_response_is_malformed(result: Any) -> None:
    with pytest.raises(MalformedResponse):
        http_answer(result)


def test_proxy_response_merges_header_maps_and_drops_framing_headers() -> None:
    answer = http_answer(
        {
            "statusCode": "201",
            "headers": {"X-One": 1, "x-both": "single", "Content-Length": "999", "X-Flag": True},
            "multiValueHeaders": {"X-Both": ["m1", "m2"]},
            "body": "日本",
        }
    )

    assert answer.status == 201
    assert answer.headers == [
        ("X-Both", "m1"),
        ("X-Both", "m2"),
        ("X-One", "1"),
        ("X-Flag", "true"),
        ("Content-Type", "application/json"),
    ]
    assert answer.body == "日本".encode()


# -- API Gateway's own answers ----------------------------------------------------------


def request(headers: list[tuple[str, str]] | None = None) -> HttpRequest:
    return HttpRequest("GET", "/nope?q=1", headers or [], b"", "192.0.2.1")


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ('{"m": $context.error.messageString}', '{"m": "Missing Authentication Token"}'),
        ('{"m": "${context.error.message}"}', '{"m": "Missing Authentication Token"}'),
        ('{"id": "$context.requestId"}', '{"id": "rid-1"}'),
        ('{"ip": "$context.identity.sourceIp"}', '{"ip": "192.0.2.1"}'),
        ('{"x": "$context.unknown.thing"}', '{"x": "$context.unknown.thing"}'),
        ('{"x": "$!context.unknown.thing"}', '{"x": ""}'),
        ('{"t": "$context.error.responseType"}', '{"t": "MISSING_AUTHENTICATION_TOKEN"}'),
    ],
)
def test_response_template_resolves_context_references(template: str, body: str) -> None:
    api = ApiSpec(
        "Api",
        "v1",
        (),
        {"DEFAULT_4XX": GatewayResponse(None, {}, {"application/json": template})},
    )

    answer = gateway.gateway_answer(gateway.MISSING_AUTHENTICATION_TOKEN, api, request(), "rid-1")

    assert answer.body.decode() == body


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("'https://app.example'", "https://app.example"),
        ("method.request.header.origin", "https://caller.example"),
        ("method.request.querystring.q", "1"),
        ("context.requestId", "rid-1"),
        ("method.request.header.absent", None),
    ],
)
def test_gateway_response_header_mappings_are_resolved(expression: str, value: str | None) -> None:
    response = GatewayResponse(None, {"X-Out": expression}, {})
    api = ApiSpec("Api", "v1", (), {"DEFAULT_4XX": response})

    answer = gateway.gateway_answer(
        gateway.MISSING_AUTHENTICATION_TOKEN,
        api,
        request([("Origin", "https://caller.example")]),
        "rid-1",
    )

    assert dict(answer.headers).get("X-Out") == value


@pytest.mark.parametrize(
    ("kind", "declared", "status"),
    [
        (gateway.MISSING_AUTHENTICATION_TOKEN, {}, 403),
        (gateway.MISSING_AUTHENTICATION_TOKEN, {"MISSING_AUTHENTICATION_TOKEN": 404}, 404),
        (gateway.REQUEST_TOO_LARGE, {"DEFAULT_4XX": None}, 413),
        (gateway.INTEGRATION_TIMEOUT, {"DEFAULT_5XX": None}, 504),
        (gateway.LAMBDA_FAILURE, {}, 502),
        (gateway.ACCESS_DENIED, {"ACCESS_DENIED": 403}, 403),
    ],
)
def test_gateway_response_status_is_the_declared_one_or_api_gateways_default(
    kind: str, declared: dict[str, int | None], status: int
) -> None:
    api = ApiSpec(
        "Api", "v1", (), {name: GatewayResponse(code, {}, {}) for name, code in declared.items()}
    )

    assert gateway.gateway_answer(kind, api, request(), "rid-1").status == status


# -- the resource policy -----------------------------------------------------------------

ALLOW_ALL = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}
DENY_OUTSIDE = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "execute-api:Invoke",
    "Resource": "execute-api:/*",
    "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}},
}


@pytest.mark.parametrize(
    ("statements", "source_ip", "refused"),
    [
        (None, "127.0.0.1", False),
        ([ALLOW_ALL], "127.0.0.1", False),
        ([ALLOW_ALL, DENY_OUTSIDE], "203.0.113.7", False),
        ([ALLOW_ALL, DENY_OUTSIDE], "2001:db8::1", False),
        ([ALLOW_ALL, DENY_OUTSIDE], "::ffff:203.0.113.7", False),
        ([ALLOW_ALL, DENY_OUTSIDE], "127.0.0.1", True),
        ([ALLOW_ALL, DENY_OUTSIDE], "198.51.100.1", True),
        ([DENY_OUTSIDE], "203.0.113.7", True),  # no Allow: nothing passes
    ],
)
def test_resource_policy_refuses_addresses_outside_the_allowlist(
    statements: list[dict[str, Any]] | None, source_ip: str, refused: bool
) -> None:
    policy = None if statements is None else {"Version": "2012-10-17", "Statement": statements}

    assert resource_policy.refuses(policy, source_ip) is refused


# -- tables and generated secrets --------------------------------------------------------


def test_simple_table_becomes_an_on_demand_table_with_its_primary_key() -> None:
    request = provision.table_request(
        "AWS::Serverless::SimpleTable", "T", {"PrimaryKey": {"Name": "n", "Type": "Number"}}
    )

    assert request == {
        "TableName": "T",
        "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "n", "AttributeType": "N"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_provisioned_table_keeps_throughput_indexes_and_stream() -> None:
    index = {
        "IndexName": "by-x",
        "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": "1", "WriteCapacityUnits": "1"},
        "ContributorInsightsSpecification": {"Enabled": True},
    }
    request = provision.table_request(
        "AWS::DynamoDB::Table",
        "T",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": "2", "WriteCapacityUnits": 3},
            "GlobalSecondaryIndexes": [index],
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "SSESpecification": {"SSEEnabled": True},
        },
    )

    assert request["BillingMode"] == "PROVISIONED"
    assert request["ProvisionedThroughput"] == {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}
    assert "ContributorInsightsSpecification" not in request["GlobalSecondaryIndexes"][0]
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert "SSESpecification" not in request


def test_generated_secret_follows_its_template_and_exclusions() -> None:
    value = json.loads(
        provision.generated_secret(
            {
                "SecretStringTemplate": '{"kind": "hmac"}',
                "GenerateStringKey": "key",
                "PasswordLength": 64,
                "ExcludePunctuation": True,
                "ExcludeCharacters": "0Oo",
            }
        )
    )

    assert value["kind"] == "hmac"
    assert len(value["key"]) == 64
    assert value["key"].isalnum()
    assert not set("0Oo") & set(value["key"])


# -- secrets.yaml ------------------------------------------------------------------------


def secrets_file(tmp_path: Path, entries: dict[str, Any]) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump({"secrets": entries}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "kintone-token", "app": 1, "permissions": ["view"], "token": "inline-token"},
        {"kind": "kintone-token", "app": 1, "permissions": ["read"]},
        {"kind": "kintone-token", "permissions": ["view"]},
        {"kind": "hmac", "generate": 8},
        {"kind": "hmac", "key": "written-down"},
        {"kind": "password", "generate": 32},
    ],
)
def test_secrets_file_entry_that_writes_a_value_or_is_malformed_is_rejected(
    tmp_path: Path, entry: dict[str, Any]
) -> None:
    with pytest.raises(SecretsFileError):
        load_secrets_file(secrets_file(tmp_path, {"some/secret": entry}))


@pytest.mark.parametrize(
    "selector",
    [
        {"app": 1, "permissions": ["view", "add"]},  # no token has exactly these
        {"app": 3, "permissions": ["view"]},  # no such app
    ],
)
def test_token_selector_that_matches_no_single_seed_token_is_rejected_without_values(
    tmp_path: Path, selector: dict[str, Any]
) -> None:
    spec = load_secrets_file(secrets_file(tmp_path, {"t": {"kind": "kintone-token", **selector}}))
    seed = load_seed()

    with pytest.raises(SecretsFileError) as raised:
        secret_strings(spec, seed)

    assert all(token.token not in str(raised.value) for token in seed.tokens)


@pytest.mark.parametrize(("app", "permissions"), [(1, ["view"]), (1, ["add"]), (2, ["add"])])
def test_token_selector_picks_the_token_with_exactly_those_permissions(
    app: int, permissions: list[str]
) -> None:
    seed = load_seed()
    spec = SecretsFile.model_validate(
        {"secrets": {"t": {"kind": "kintone-token", "app": app, "permissions": permissions}}}
    )

    value = json.loads(secret_strings(spec, seed)["t"])

    chosen = next(t for t in seed.tokens if t.token == value["token"])
    assert (chosen.app, chosen.permissions) == (app, frozenset(permissions))


def test_shipped_secrets_file_names_no_value() -> None:
    spec = load_secrets_file()
    text = (Path(provision.__file__).parent / "secrets.yaml").read_text(encoding="utf-8")

    assert set(spec.secrets) == {
        "sekisho/kintone/deals-view",
        "sekisho/kintone/deals-refetch",
        "sekisho/kintone/seminar-add",
        "sekisho/kintone/seminar-edit",
        "sekisho/kintone/seminar-payment-view",
        "sekisho/kintone/seminar-people",
        "sekisho/kintone/seminar-mine",
        "sekisho/kintone/seminar-correct",
        "sekisho/kintone/audit-add",
        "sekisho/guard/hash-key",
        "sekisho/session/applicants-key",
        # The demo partner's key and its view's token.
        "sekisho/partner/demo-erp",
        "sekisho/kintone/partner-deals-view",
        *(
            f"sekisho/webhook/demo-{s}"
            for s in ("standard", "stripe", "github", "box", "slack", "kintone")
        ),
    }
    assert all(token.token not in text for token in load_seed().tokens)


@pytest.mark.parametrize(
    ("secret", "app", "permissions"),
    [
        ("sekisho/kintone/deals-view", 1, {"view"}),
        ("sekisho/kintone/deals-refetch", 1, {"view"}),
        # The intake path's only kintone token: it can add a record and do nothing else.
        ("sekisho/kintone/seminar-add", 2, {"add"}),
        # demo-stripe's action: it edits applications, and finds them with a view token.
        ("sekisho/kintone/seminar-edit", 2, {"edit"}),
        ("sekisho/kintone/seminar-payment-view", 2, {"view"}),
        # demo-kintone's action: it adds audit lines and does nothing else.
        ("sekisho/kintone/audit-add", 3, {"add"}),
        # The applicants realm finds people, my-applications lists, corrections write.
        ("sekisho/kintone/seminar-people", 2, {"view"}),
        ("sekisho/kintone/seminar-mine", 2, {"view"}),
        ("sekisho/kintone/seminar-correct", 2, {"edit"}),
        # The partner-deals view reads the deals app, and nothing else.
        ("sekisho/kintone/partner-deals-view", 1, {"view"}),
    ],
)
def test_shipped_token_secret_is_the_seed_token_with_only_its_permission(
    secret: str, app: int, permissions: set[str]
) -> None:
    seed = load_seed()

    value = json.loads(secret_strings(load_secrets_file(), seed)[secret])

    chosen = next(t for t in seed.tokens if t.token == value["token"])
    assert (chosen.app, chosen.permissions) == (app, frozenset(permissions))
