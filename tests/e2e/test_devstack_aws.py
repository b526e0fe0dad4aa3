"""The local stack's AWS side: moto holds the template's tables and the demo secrets, and
each function's environment is the template's, resolved, plus what points it at moto."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.stack import RunningStack
from sekisho.policy.snapshot import policy_digest, read_snapshot
from sekisho.policy.validation import read_policy

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
CANARY = "DEVSTACK_SHELL_CANARY"

WEBHOOK_SCHEMES = ("standard", "stripe", "github", "box", "slack", "kintone")


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    # Whatever the developer's shell holds must not reach a function.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CANARY, "from-the-shell")
        patch.setenv("AWS_SESSION_TOKEN", "a-real-session-token")
        running = devstack.start(repo_root=REPO, template=FIXTURES / "template.yaml")
    with running:
        yield running


@pytest.fixture(scope="module")
def aws(stack: RunningStack) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    return lambda service: session.client(service, endpoint_url=stack.moto_url)


@pytest.fixture(scope="module")
def echoed(stack: RunningStack) -> dict[str, Any]:
    with requests.Session() as client:
        client.trust_env = False
        answer = client.get(stack.router_url + "/echo/environment", timeout=20)
    assert answer.status_code == 200
    return answer.json()


def seed_token(stack: RunningStack, app: int, permissions: set[str]) -> str:
    seed = stack.kintone.emulator.store.seed
    return next(t.token for t in seed.tokens if t.app == app and t.permissions == permissions)


def secret_value(aws: Callable[[str], Any], name: str) -> dict[str, Any]:
    return json.loads(aws("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


# -- tables ------------------------------------------------------------------------------


def test_template_table_is_created_with_its_keys_billing_and_ttl(
    aws: Callable[[str], Any],
) -> None:
    dynamodb = aws("dynamodb")
    table = dynamodb.describe_table(TableName="GuardTable")["Table"]
    ttl = dynamodb.describe_time_to_live(TableName="GuardTable")["TimeToLiveDescription"]

    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_table_whose_condition_is_false_is_not_created(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    assert aws("dynamodb").list_tables()["TableNames"] == ["GuardTable"]
    assert stack.tables == ("GuardTable",)


# -- secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "app", "permissions"),
    [
        ("sekisho/kintone/deals-view", 1, {"view"}),
        ("sekisho/kintone/seminar-add", 2, {"add"}),
    ],
)
def test_kintone_token_secret_holds_the_seed_token_chosen_by_app_and_permissions(
    stack: RunningStack, aws: Callable[[str], Any], name: str, app: int, permissions: set[str]
) -> None:
    assert secret_value(aws, name) == {
        "kind": "kintone-token",
        "token": seed_token(stack, app, permissions),
    }


def test_hash_key_comes_from_secrets_yaml_not_from_the_templates_generator(
    aws: Callable[[str], Any],
) -> None:
    value = secret_value(aws, "sekisho/guard/hash-key")

    assert value["kind"] == "hmac"
    # secrets.token_urlsafe(32): 43 URL-safe characters; the template asks for 48 of any kind.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value["key"])


def test_template_secret_that_secrets_yaml_does_not_cover_gets_its_secret_string(
    stack: RunningStack, aws: Callable[[str], Any]
) -> None:
    assert secret_value(aws, "fixture/dev/placeholder") == {"kind": "placeholder"}
    assert stack.secret_names == (
        "sekisho/kintone/deals-view",
        "sekisho/kintone/deals-refetch",
        "sekisho/kintone/seminar-add",
        "sekisho/kintone/seminar-edit",
        "sekisho/kintone/seminar-payment-view",
        "sekisho/kintone/seminar-people",
        "sekisho/kintone/seminar-mine",
        "sekisho/kintone/seminar-correct",
        "sekisho/kintone/audit-add",
        "sekisho/kintone/partner-deals-view",
        "sekisho/guard/hash-key",
        "sekisho/session/applicants-key",
        *(f"sekisho/webhook/demo-{s}" for s in WEBHOOK_SCHEMES),
        "sekisho/partner/demo-erp",
        "fixture/dev/placeholder",
    )


def test_function_reads_the_secret_and_the_table_through_moto(
    stack: RunningStack,
) -> None:
    with requests.Session() as client:
        client.trust_env = False
        answer = client.get(stack.router_url + "/probe", timeout=20)

    assert answer.status_code == 200
    assert answer.json() == {
        "kind": "kintone-token",
        "token_sha256": hashlib.sha256(seed_token(stack, 1, {"view"}).encode()).hexdigest(),
        "table_roundtrip": True,
    }


# -- the functions' environment ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # !Ref to a parameter overridden locally
        ("KINTONE_BASE_URL", lambda s: s.kintone.url),
        (
            "ALLOWED_ORIGINS",
            lambda s: f"{s.router_url},http://localhost:{urlsplit(s.router_url).port}",
        ),
        # !Ref and !GetAtt to resources, !Sub with both kinds of variables
        ("GUARD_TABLE", "GuardTable"),
        ("GUARD_TABLE_ARN", "arn:aws:dynamodb:ap-northeast-1:123456789012:table/GuardTable"),
        ("TABLE_IN_REGION", "GuardTable@ap-northeast-1"),
        ("LITERAL_DOLLAR", "${NotAVariable}"),
        # !If on conditions from parameter defaults, !Join and !Select
        ("MODE", "development"),
        ("DEV_FLAG", "true"),
        ("JOINED", "b|dev|123456789012"),
        # the function's own value wins over Globals
        ("POWERTOOLS_SERVICE_NAME", "echo"),
        # plain names pass through
        ("GUARD_HASH_KEY_SECRET", "sekisho/guard/hash-key"),
        # the local wiring
        ("AWS_ENDPOINT_URL", lambda s: s.moto_url),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_REGION", "ap-northeast-1"),
        ("AWS_DEFAULT_REGION", "ap-northeast-1"),
        ("AWS_CONFIG_FILE", lambda s: os.devnull),
        ("AWS_LAMBDA_FUNCTION_NAME", "EchoFunction"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("_HANDLER", "echo.handler"),
        ("TZ", ":UTC"),
    ],
)
def test_function_environment_is_the_template_resolved_plus_the_local_wiring(
    stack: RunningStack,
    echoed: dict[str, Any],
    name: str,
    expected: str | Callable[[RunningStack], str],
) -> None:
    value = expected(stack) if callable(expected) else expected

    assert echoed["environment"][name] == value


def test_functions_start_from_the_reviewed_snapshot_of_the_stacks_policy(
    echoed: dict[str, Any],
) -> None:
    # As `make build` bundles it into the layer: the workers have no pydantic or PyYAML.
    snapshot = Path(echoed["environment"]["SEKISHO_POLICY"])
    _, digest = read_snapshot(snapshot)

    assert snapshot.name == "policy.snapshot.json"
    assert digest == policy_digest(read_policy(REPO / "policy.yaml"))


def test_secret_ref_resolves_to_the_arn_moto_gave_the_secret(
    echoed: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    created = aws("secretsmanager").describe_secret(SecretId="sekisho/guard/hash-key")

    assert echoed["environment"]["HASH_KEY_SECRET_ARN"] == created["ARN"]


@pytest.mark.parametrize(
    "absent",
    [
        "PROD_ONLY",  # !If [IsProd, ..., !Ref AWS::NoValue]
        CANARY,  # the developer's shell
        "AWS_SESSION_TOKEN",  # a real session's credentials
    ],
)
def test_variable_without_a_local_value_is_absent(echoed: dict[str, Any], absent: str) -> None:
    assert absent not in echoed["environment"]


def test_no_secret_value_is_in_any_function_environment(
    stack: RunningStack, echoed: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    values = [
        seed_token(stack, 1, {"view"}),
        seed_token(stack, 2, {"add"}),
        secret_value(aws, "sekisho/guard/hash-key")["key"],
    ]

    for value in values:
        assert all(value not in text for text in echoed["environment"].values())
