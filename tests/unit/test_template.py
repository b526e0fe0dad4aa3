"""template.yaml grants least privilege and keeps the contracts the functions rely on.

The template is read as written (SAM, before the transform) with cfn-lint's loader, which
understands CloudFormation's short tags. A few intrinsic functions are evaluated here, just
enough to check what a parameter value turns into.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.decode import cfn_yaml

from sekisho import errors
from sekisho.errors import PROBLEM_TYPE_BASE

REPO = Path(__file__).resolve().parents[2]
GUARD_HASH_KEY_SECRET = "sekisho/guard/hash-key"  # a secret's name, not a value
SENSITIVE_SERVICES = ("secretsmanager:", "dynamodb:")
GUARD_TABLE_ACTIONS = {"dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"}
NO_VALUE = object()


# ---------------------------------------------------------------- reading the files


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(REPO / "template.yaml"))


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def functions(resources: dict[str, Any]) -> dict[str, Any]:
    return {
        name: resource
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def read_policy(path: Path) -> dict[str, Any]:
    # Plain YAML on purpose: this test must not trust the policy loader it cross-checks.
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def view_secret_names(policy: Mapping[str, Any]) -> set[str]:
    return {view["token_secret"] for view in (policy.get("views") or {}).values()}


def all_secret_names(policy: Mapping[str, Any]) -> set[str]:
    names = view_secret_names(policy)
    names |= {form["token_secret"] for form in (policy.get("forms") or {}).values()}
    for hook in (policy.get("webhooks") or {}).values():
        names.add(hook["secret"])
        if hook.get("refetch"):
            names.add(hook["refetch"]["token_secret"])
    return names


def secret_resource_names(resources: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> Name of every Secrets Manager secret the template declares."""
    return {
        logical_id: resource["Properties"]["Name"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SecretsManager::Secret"
    }


def effective(template: Mapping[str, Any], function: Mapping[str, Any], prop: str) -> Any:
    """A function property as SAM sees it: the function's own value, else Globals'."""
    own = function["Properties"].get(prop)
    return own if own is not None else template.get("Globals", {}).get("Function", {}).get(prop)


def environment(template: Mapping[str, Any], function: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    merged.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return merged


# ---------------------------------------------------------------- intrinsic functions


def resolve(node: Any, params: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    """Evaluate the few intrinsic functions whose result depends on parameters."""
    if isinstance(node, list):
        items = (resolve(item, params, template) for item in node)
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(node, Mapping):
        return node
    if len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else params[arg]
        if fn == "Fn::Select":
            return resolve(arg[1], params, template)[int(arg[0])]
        if fn == "Fn::Join":
            return arg[0].join(resolve(arg[1], params, template))
        if fn == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else arg
            scope = {**params, **{k: resolve(v, params, template) for k, v in names.items()}}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(scope[m.group(1)]), text)
        if fn == "Fn::Equals":
            left, right = (resolve(side, params, template) for side in arg)
            return left == right
        if fn == "Fn::Not":
            return not resolve(arg[0], params, template)
        if fn == "Fn::If":
            name, when_true, when_false = arg
            holds = resolve(template["Conditions"][name], params, template)
            return resolve(when_true if holds else when_false, params, template)
    return {key: resolve(value, params, template) for key, value in node.items()}


def parameters(template: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """Parameter values as CloudFormation passes them: lists for CommaDelimitedList."""
    values: dict[str, Any] = {}
    for name, spec in template["Parameters"].items():
        raw = overrides.get(name, spec.get("Default"))
        if spec["Type"] == "CommaDelimitedList" and isinstance(raw, str):
            raw = raw.split(",")
        values[name] = raw
    return values


# ---------------------------------------------------------------- IAM statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def branches(statement: Any) -> Iterator[Mapping[str, Any]]:
    """A statement, or both branches of a conditional one (AWS::NoValue left out)."""
    if isinstance(statement, Mapping) and set(statement) == {"Fn::If"}:
        for branch in statement["Fn::If"][1:]:
            yield from branches(branch)
    elif isinstance(statement, Mapping) and statement != {"Ref": "AWS::NoValue"}:
        yield statement


def statements_of(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for statement in as_list(document.get("Statement", [])):
        yield from branches(statement)


def iam_statements(resources: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every identity-policy statement the template grants, with where it comes from."""
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for entry in as_list(props.get("Policies", [])):
                if isinstance(entry, Mapping) and "Statement" in entry:
                    for statement in statements_of(entry):
                        yield logical_id, statement
        elif kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for statement in statements_of(policy["PolicyDocument"]):
                    yield logical_id, statement
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for statement in statements_of(props["PolicyDocument"]):
                yield logical_id, statement


def touches_sensitive_service(statement: Mapping[str, Any]) -> bool:
    actions = as_list(statement.get("Action", [])) + as_list(statement.get("NotAction", []))
    return any(
        isinstance(action, str) and (action == "*" or action.lower().startswith(SENSITIVE_SERVICES))
        for action in actions
    )


def is_wildcard(resource: Any) -> bool:
    if isinstance(resource, str):
        return "*" in resource
    if isinstance(resource, Mapping) and "Fn::Sub" in resource:
        arg = resource["Fn::Sub"]
        return "*" in (arg if isinstance(arg, str) else arg[0])
    if isinstance(resource, Mapping) and "Fn::Join" in resource:
        return any(is_wildcard(part) for part in as_list(resource["Fn::Join"][1]))
    return False


def grants_sensitive_wildcard(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow" or not touches_sensitive_service(statement):
        return False
    if "NotResource" in statement:
        return True
    return any(is_wildcard(resource) for resource in as_list(statement.get("Resource", [])))


@pytest.mark.parametrize(
    ("statement", "too_wide"),
    [
        ({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        (
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:sekisho/*",
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:*:*:table/*"},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "dynamodb:PutItem",
                "Resource": {"Fn::Join": ["", ["arn:aws:dynamodb:", "*"]]},
            },
            True,
        ),
        ({"Effect": "Allow", "Action": "DynamoDB:Query", "NotResource": "arn:aws:x"}, True),
        ({"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}, False),
        ({"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}, False),
        (
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": [{"Ref": "DealsViewTokenSecret"}],
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "dynamodb:UpdateItem",
                "Resource": {"Fn::GetAtt": ["GuardTable", "Arn"]},
            },
            False,
        ),
    ],
)
def test_wildcard_check_tells_wide_grants_from_narrow_ones(statement, too_wide):
    assert grants_sensitive_wildcard(statement) is too_wide


def test_no_statement_grants_secrets_or_tables_on_a_wildcard_resource(resources):
    statements = list(iam_statements(resources))
    assert statements, "the template should grant its functions something"
    wide = [(where, s) for where, s in statements if grants_sensitive_wildcard(s)]
    assert wide == []


def test_functions_get_their_permissions_only_from_inline_statements(functions):
    # SAM policy templates (DynamoDBCrudPolicy, AWSSecretsManagerGetSecretValuePolicy) and
    # managed policies grant more than one route needs, and a custom Role would hide the
    # grants from these tests.
    for name, function in functions.items():
        props = function["Properties"]
        assert "Role" not in props, name
        for entry in as_list(props.get("Policies", [])):
            assert isinstance(entry, Mapping), f"{name}: managed policy {entry!r}"
            assert set(entry) <= {"Version", "Statement"}, f"{name}: policy template {entry!r}"


# ---------------------------------------------------------------- the lookup's grants


def lookup_statements(functions: Mapping[str, Any], prefix: str) -> list[Mapping[str, Any]]:
    found = []
    for entry in as_list(functions["LookupFunction"]["Properties"].get("Policies", [])):
        for statement in statements_of(entry):
            if any(action.lower().startswith(prefix) for action in as_list(statement["Action"])):
                found.append(statement)
    return found


def readable_secret_names(functions, resources) -> set[str]:
    names = secret_resource_names(resources)
    readable = set()
    for statement in lookup_statements(functions, "secretsmanager:"):
        assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
        for resource in as_list(statement["Resource"]):
            assert set(resource) == {"Ref"}, f"secret granted by pattern: {resource!r}"
            readable.add(names[resource["Ref"]])
    return readable


def test_lookup_reads_exactly_the_secrets_its_views_name_and_the_guard_key(functions, resources):
    expected = view_secret_names(read_policy(REPO / "policy.yaml")) | {GUARD_HASH_KEY_SECRET}
    assert readable_secret_names(functions, resources) == expected


def test_a_view_secret_the_lookup_cannot_read_is_detected(tmp_path, functions, resources):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "views": {
                    "deal-status": {"app": 1, "token_secret": "sekisho/kintone/deals-view"},
                    "seminar-status": {"app": 2, "token_secret": "sekisho/kintone/seminar-view"},
                }
            }
        ),
        encoding="utf-8",
    )
    expected = view_secret_names(read_policy(policy)) | {GUARD_HASH_KEY_SECRET}
    assert readable_secret_names(functions, resources) != expected


def test_every_secret_the_policy_names_is_declared_in_the_template(resources):
    declared = set(secret_resource_names(resources).values())
    assert all_secret_names(read_policy(REPO / "policy.yaml")) <= declared


def test_lookup_writes_only_the_guard_table(functions):
    statements = lookup_statements(functions, "dynamodb:")
    assert statements
    for statement in statements:
        assert set(as_list(statement["Action"])) <= GUARD_TABLE_ACTIONS
        assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["GuardTable", "Arn"]}]


def test_secret_values_are_never_written_in_the_template(resources):
    token = resources["DealsViewTokenSecret"]["Properties"]
    assert json.loads(token["SecretString"]) == {"kind": "kintone-token", "token": ""}
    generated = resources["GuardHashKeySecret"]["Properties"]
    assert "SecretString" not in generated
    spec = generated["GenerateSecretString"]
    assert json.loads(spec["SecretStringTemplate"]) == {"kind": "hmac"}
    assert spec["GenerateStringKey"] == "key"
    assert spec["PasswordLength"] >= 32
    assert generated["Name"] == GUARD_HASH_KEY_SECRET


# ---------------------------------------------------------------- functions and routes


def test_every_function_runs_python312_on_arm64_with_the_layer(template, functions):
    assert functions
    for name, function in functions.items():
        assert effective(template, function, "Runtime") == "python3.12", name
        assert effective(template, function, "Architectures") == ["arm64"], name
        assert {"Ref": "SekishoLayer"} in effective(template, function, "Layers"), name


def test_layer_is_built_for_the_same_runtime_and_architecture(resources):
    layer = resources["SekishoLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_lookup_answers_post_and_preflight_on_views(functions):
    routes = {
        (event["Properties"]["Path"], event["Properties"]["Method"].lower())
        for event in functions["LookupFunction"]["Properties"]["Events"].values()
        if event["Type"] == "Api" and event["Properties"]["RestApiId"] == {"Ref": "Api"}
    }
    assert routes == {("/views/{view}", "post"), ("/views/{view}", "options")}


def test_lookup_fits_one_kintone_call_inside_api_gateways_limit(functions):
    props = functions["LookupFunction"]["Properties"]
    assert props["CodeUri"] == "functions/lookup/"
    assert props["Handler"] == "app.lambda_handler"
    # The kintone client's budget is about 8 s; API Gateway gives up at 29 s.
    assert 8 < props["Timeout"] < 29


def test_lookup_environment_follows_the_contract(template, functions):
    env = environment(template, functions["LookupFunction"])
    assert env["KINTONE_BASE_URL"] == {"Ref": "KintoneBaseUrl"}
    assert env["GUARD_TABLE"] == {"Ref": "GuardTable"}
    assert env["GUARD_HASH_KEY_SECRET"] == GUARD_HASH_KEY_SECRET
    assert env["ALLOWED_ORIGINS"] == {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"} <= set(env)
    # In Lambda the policy is the one bundled in the layer.
    assert "SEKISHO_POLICY" not in env


@functools.cache
def demo_tokens() -> frozenset[str]:
    seed = yaml.safe_load((REPO / "local/kintone_emulator/seed.yaml").read_text(encoding="utf-8"))
    return frozenset(entry["token"] for entry in seed["tokens"])


def looks_like_a_secret(name: str, value: Any, secret_names: set[str]) -> bool:
    if not isinstance(value, str):
        return False  # a Ref or Join: resolved by CloudFormation, not written here
    if value in demo_tokens():
        return True
    if re.search(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL", name):
        return value not in secret_names
    # Long unbroken base64/hex runs are what generated keys and tokens look like.
    return re.fullmatch(r"[A-Za-z0-9+=_-]{24,}", value) is not None


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("KINTONE_TOKEN", "deals-view-token", True),
        ("DEBUG_HINT", "deals-view-token", True),
        ("GUARD_HASH_KEY", "x7Fq2LmN9pRt4VwZ8bCd3GhJ6kMs1QuY", True),
        ("GUARD_HASH_KEY_SECRET", "sekisho/guard/not-declared", True),
        ("SOMETHING", "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4", True),
        ("GUARD_HASH_KEY_SECRET", GUARD_HASH_KEY_SECRET, False),
        ("POWERTOOLS_SERVICE_NAME", "sekisho", False),
        ("GUARD_TABLE", {"Ref": "GuardTable"}, False),
    ],
)
def test_secret_shaped_environment_values_are_recognised(name, value, secret):
    assert looks_like_a_secret(name, value, {GUARD_HASH_KEY_SECRET}) is secret


def test_no_environment_variable_carries_a_secret_value(template, functions, resources):
    names = set(secret_resource_names(resources).values())
    for function_name, function in functions.items():
        for var, value in environment(template, function).items():
            assert not looks_like_a_secret(var, value, names), f"{function_name}: {var}"


def test_function_logs_are_kept_only_for_the_retention_period(template, resources, functions):
    for name, function in functions.items():
        group = effective(template, function, "LoggingConfig")["LogGroup"]
        assert resources[group["Ref"]]["Type"] == "AWS::Logs::LogGroup", name
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


# ---------------------------------------------------------------- guard table


def test_guard_table_expires_counters_by_ttl(resources):
    table = resources["GuardTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}


# ---------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def api(resources) -> Mapping[str, Any]:
    return resources["Api"]["Properties"]


def test_api_leaves_preflight_to_the_functions(template, api):
    assert "Cors" not in api
    assert "Cors" not in template.get("Globals", {}).get("Api", {})


def test_api_is_regional_traced_throttled_and_access_logged(api, resources):
    assert api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    assert api["TracingEnabled"] is True
    assert api["StageName"] == {"Ref": "Stage"}
    (settings,) = api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert settings["DataTraceEnabled"] is False  # would log request bodies
    destination = api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"]
    assert resources[destination[0]]["Type"] == "AWS::Logs::LogGroup"


@pytest.mark.parametrize(
    ("allowed_ips", "denied_outside"),
    [
        ("", None),
        ("203.0.113.0/24", ["203.0.113.0/24"]),
        ("203.0.113.0/24,2001:db8::/32", ["203.0.113.0/24", "2001:db8::/32"]),
    ],
)
def test_source_ip_allowlist_denies_other_addresses_only_when_set(
    template, api, allowed_ips, denied_outside
):
    params = parameters(template, AllowedSourceIps=allowed_ips)
    policy = resolve(api["Policy"], params, template)
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert [s["Resource"] for s in allows] == ["execute-api:/*"]
    if denied_outside is None:
        assert denies == []
    else:
        (deny,) = denies
        assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": denied_outside}}


GATEWAY_RESPONSES = [
    ("DEFAULT_4XX", None, "request_refused"),
    ("DEFAULT_5XX", None, "upstream_unavailable"),
    ("ACCESS_DENIED", 403, "forbidden"),
    ("MISSING_AUTHENTICATION_TOKEN", 404, "not_found"),
    ("RESOURCE_NOT_FOUND", 404, "not_found"),
    ("REQUEST_TOO_LARGE", 413, "payload_too_large"),
    ("THROTTLED", 429, "rate_limited"),
    ("INTEGRATION_TIMEOUT", 504, "upstream_unavailable"),
]


@pytest.mark.parametrize(("response_type", "status", "code"), GATEWAY_RESPONSES)
def test_gateway_responses_are_problem_documents(api, response_type, status, code):
    response = api["GatewayResponses"][response_type]
    (body,) = response["ResponseTemplates"].values()
    problem = json.loads(body)
    assert problem["type"] == PROBLEM_TYPE_BASE + code
    assert problem["code"] == code
    assert problem["title"]
    if status is None:
        # API Gateway picks the status per response type; the body must not guess it.
        assert "StatusCode" not in response
        assert "status" not in problem
    else:
        assert response["StatusCode"] == str(status)
        assert problem["status"] == status


def test_gateway_responses_share_titles_with_the_error_hierarchy(api):
    # A browser sees one title per code, whether API Gateway or a function refused it.
    titles = {
        cls.code: cls.title
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.SekishoError)
    }
    shared = 0
    for response in api["GatewayResponses"].values():
        (body,) = response["ResponseTemplates"].values()
        problem = json.loads(body)
        if problem["code"] in titles:
            shared += 1
            assert problem["title"] == titles[problem["code"]], problem["code"]
    assert shared


@pytest.mark.parametrize("response_type", [response for response, _, _ in GATEWAY_RESPONSES])
def test_gateway_responses_name_the_first_allowed_origin(template, api, response_type):
    params = parameters(template, AllowedOrigins="https://a.example,https://b.example")
    headers = resolve(
        api["GatewayResponses"][response_type]["ResponseParameters"], params, template
    )["Headers"]
    # Header values are API Gateway literals: quoted in single quotes.
    assert headers["Access-Control-Allow-Origin"] == "'https://a.example'"
    assert headers["Vary"] == "'Origin'"


# ---------------------------------------------------------------- parameters and samconfig


def satisfies(spec: Mapping[str, Any], value: str) -> bool:
    items = value.split(",") if spec["Type"] == "CommaDelimitedList" else [value]
    for item in items:
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], item):
            return False
        if "AllowedValues" in spec and item not in {str(v) for v in spec["AllowedValues"]}:
            return False
        if spec["Type"] == "Number":
            number = float(item)
            if not spec.get("MinValue", number) <= number <= spec.get("MaxValue", number):
                return False
    return True


@pytest.mark.parametrize(
    ("parameter", "value", "accepted"),
    [
        ("KintoneBaseUrl", "https://example.cybozu.com", True),
        ("KintoneBaseUrl", "http://example.cybozu.com", False),
        ("KintoneBaseUrl", "https://example.cybozu.com/k/v1", False),
        ("AllowedOrigins", "https://www.example.com,https://partner.example.jp", True),
        ("AllowedOrigins", "http://localhost:3000", True),
        ("AllowedOrigins", "*", False),
        ("AllowedOrigins", "http://www.example.com", False),
        ("AllowedOrigins", "https://www.example.com/", False),
        ("AllowedOrigins", "https://a.example,null", False),
        ("AllowedSourceIps", "", True),
        ("AllowedSourceIps", "203.0.113.0/24,2001:db8::/32", True),
        ("AllowedSourceIps", "203.0.113.7", False),
        ("AllowedSourceIps", "0.0.0.0/0 or 1=1", False),
        ("Stage", "v1", True),
        ("Stage", "v1/../admin", False),
        ("ThrottlingRateLimit", "0", False),
        ("LogRetentionDays", "30", True),
        ("LogRetentionDays", "31", False),
    ],
)
def test_parameters_accept_only_well_formed_values(template, parameter, value, accepted):
    assert satisfies(template["Parameters"][parameter], value) is accepted


def test_every_parameter_default_is_valid(template):
    for name, spec in template["Parameters"].items():
        assert satisfies(spec, str(spec["Default"])), name


def samconfig_overrides(environment_config: Mapping[str, Any]) -> dict[str, str]:
    raw = environment_config.get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
    pairs = (item.split("=", 1) for item in as_list(raw))
    return {key: value.strip('"') for key, value in pairs}


def test_samconfig_environments_fit_the_template(template):
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    assert {"default", "dev", "prod"} <= set(config)
    stacks = {
        env: config[env]["global"]["parameters"]["stack_name"] for env in config if env != "version"
    }
    assert len(set(stacks.values())) == len(stacks), stacks
    for env in ("dev", "prod"):
        overrides = samconfig_overrides(config[env])
        assert overrides, env
        for name, value in overrides.items():
            assert name in template["Parameters"], f"{env}: unknown parameter {name}"
            assert satisfies(template["Parameters"][name], value), f"{env}: {name}={value}"


def test_outputs_give_the_api_url_layer_and_table(template):
    outputs = template["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
    }
    assert outputs["SekishoLayerArn"]["Value"] == {"Ref": "SekishoLayer"}
    assert outputs["GuardTableName"]["Value"] == {"Ref": "GuardTable"}
