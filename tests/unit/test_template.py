"""template.yaml grants least privilege and keeps the contracts the functions rely on.

The template is read as written (SAM, before the transform) with cfn-lint's loader, which
understands CloudFormation's short tags. Intrinsic functions, parameter values and SAM's
Globals are evaluated by the local stack's evaluator (devstack.cfn), the one that `make dev`
runs the template with.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from cfnlint.decode import cfn_yaml

from devstack import cfn, gateway, router
from devstack.sam import function_properties
from sekisho import errors
from sekisho.errors import PROBLEM_TYPE_BASE
from tests.template_support import action_secret_names, declared_secret_name, resolved

REPO = Path(__file__).resolve().parents[2]
GUARD_HASH_KEY_SECRET = "sekisho/guard/hash-key"  # a secret's name, not a value
# Every function's (Globals): the stack's secret name prefix, SecretNamePrefix or the stack name.
SECRET_NAME_PREFIX = {
    "Fn::If": ["HasSecretNamePrefix", {"Ref": "SecretNamePrefix"}, {"Ref": "AWS::StackName"}]
}
SENSITIVE_SERVICES = ("secretsmanager:", "dynamodb:", "sqs:", "s3:")
DAY = 86_400
# SAM attaches this managed policy to a function with an SQS event. It grants
# ReceiveMessage, DeleteMessage and GetQueueAttributes on every queue ("*").
SAM_SQS_POLLER_POLICY = "service-role/AWSLambdaSQSQueueExecutionRole"


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
    """The anonymous views' tokens: a session view's is SessionFunction's alone, a
    partner view's PartnerFunction's."""
    views = (policy.get("views") or {}).values()
    return {
        view["token_secret"]
        for view in views
        if not view.get("session") and view.get("caller", "browser") == "browser"
    }


def partner_secret_names(policy: Mapping[str, Any]) -> set[str]:
    """Each partner's key, and the tokens of the views and forms partners are given."""
    views, forms = policy.get("views") or {}, policy.get("forms") or {}
    names = set()
    for partner in (policy.get("partners") or {}).values():
        if partner.get("key_secret"):
            names.add(partner["key_secret"])
        routes = partner.get("routes") or {}
        names |= {views[name]["token_secret"] for name in routes.get("views", ())}
        names |= {forms[name]["token_secret"] for name in routes.get("forms", ())}
    return names


def session_secret_names(policy: Mapping[str, Any]) -> set[str]:
    """Each realm's view token and key, the session views' tokens, the forms' edit tokens."""
    names = set()
    for realm in (policy.get("realms") or {}).values():
        names |= {realm["token_secret"], realm["key_secret"]}
    views = (policy.get("views") or {}).values()
    names |= {view["token_secret"] for view in views if view.get("session")}
    forms = (policy.get("forms") or {}).values()
    names |= {form["editable"]["token_secret"] for form in forms if form.get("editable")}
    return names


def form_token_secret_names(policy: Mapping[str, Any]) -> set[str]:
    return {form["token_secret"] for form in (policy.get("forms") or {}).values()}


def captcha_secret_names(policy: Mapping[str, Any]) -> set[str]:
    forms = (policy.get("forms") or {}).values()
    return {form["captcha"]["secret"] for form in forms if form.get("captcha")}


def webhook_secret_names(policy: Mapping[str, Any]) -> set[str]:
    """The sources' own secrets and the view tokens of their refetches."""
    names = set()
    for hook in (policy.get("webhooks") or {}).values():
        names.add(hook["secret"])
        if hook.get("refetch"):
            names.add(hook["refetch"]["token_secret"])
    return names


def record_reading_secret_names(policy: Mapping[str, Any]) -> set[str]:
    """Secrets of tokens that can read records: the views', the webhooks' refetch ones and
    the actions' read ones."""
    names = view_secret_names(policy)
    views = (policy.get("views") or {}).values()
    names |= {view["token_secret"] for view in views if view.get("session")}
    names |= {realm["token_secret"] for realm in (policy.get("realms") or {}).values()}
    for hook in (policy.get("webhooks") or {}).values():
        if hook.get("refetch"):
            names.add(hook["refetch"]["token_secret"])
        for action in (hook.get("actions") or {}).values():
            if action.get("read_secret"):
                names.add(action["read_secret"])
    return names


def all_secret_names(policy: Mapping[str, Any]) -> set[str]:
    names = record_reading_secret_names(policy)
    names |= form_token_secret_names(policy) | captcha_secret_names(policy)
    names |= {hook["secret"] for hook in (policy.get("webhooks") or {}).values()}
    names |= action_secret_names(policy)
    names |= session_secret_names(policy)
    names |= partner_secret_names(policy)
    return names


# What each function may read, from the policy's sections: no function reads another's.
# The rotation function alone touches them all (test_template_rotation.py says how).
EXPECTED_SECRETS = {
    "LookupFunction": lambda policy: view_secret_names(policy) | {GUARD_HASH_KEY_SECRET},
    "IntakeFunction": lambda policy: (
        form_token_secret_names(policy) | captcha_secret_names(policy) | {GUARD_HASH_KEY_SECRET}
    ),
    "DeliverFunction": form_token_secret_names,
    "WebhookFunction": webhook_secret_names,
    "ActionFunction": action_secret_names,
    "SessionFunction": lambda policy: session_secret_names(policy) | {GUARD_HASH_KEY_SECRET},
    "PartnerFunction": lambda policy: partner_secret_names(policy) | {GUARD_HASH_KEY_SECRET},
    "RotateFunction": lambda policy: all_secret_names(policy) | {GUARD_HASH_KEY_SECRET},
}
READ = ("secretsmanager:GetSecretValue",)
ROTATE = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
# What each function may do to the secrets it names.
SECRET_ACTIONS = dict.fromkeys(EXPECTED_SECRETS, READ) | {"RotateFunction": ROTATE}


def secret_resource_names(resources: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> Name of every Secrets Manager secret the template declares."""
    return {
        logical_id: declared_secret_name(resource["Properties"]["Name"])
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SecretsManager::Secret"
    }


def effective(template: Mapping[str, Any], function: Mapping[str, Any], prop: str) -> Any:
    """A function property as SAM sees it: Globals merged with the function's own."""
    return function_properties(template, function["Properties"]).get(prop)


def environment(template: Mapping[str, Any], function: Mapping[str, Any]) -> dict[str, Any]:
    return dict((effective(template, function, "Environment") or {}).get("Variables") or {})


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


# The objects under one fixed key prefix of one bucket the template declares.
OBJECTS_UNDER_A_PREFIX = re.compile(r"\$\{[A-Za-z0-9]+\.Arn\}(/[A-Za-z0-9_.-]+)+/\*")


def is_wildcard(resource: Any, *, objects_under_a_prefix: bool = False) -> bool:
    if isinstance(resource, str):
        return "*" in resource
    if isinstance(resource, Mapping) and "Fn::Sub" in resource:
        arg = resource["Fn::Sub"]
        text = arg if isinstance(arg, str) else arg[0]
        if objects_under_a_prefix and OBJECTS_UNDER_A_PREFIX.fullmatch(text):
            return False
        return "*" in text
    if isinstance(resource, Mapping) and "Fn::Join" in resource:
        return any(is_wildcard(part) for part in as_list(resource["Fn::Join"][1]))
    return False


def only_object_actions(statement: Mapping[str, Any]) -> bool:
    actions = as_list(statement.get("Action", []))
    return all(
        isinstance(a, str) and re.fullmatch(r"s3:\w+Object(Tagging)?", a, re.I) for a in actions
    )


def grants_sensitive_wildcard(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow" or not touches_sensitive_service(statement):
        return False
    if "NotResource" in statement:
        return True
    # An object action names keys: "<bucket>/<prefix>/*" is as narrow as a key prefix gets.
    prefixed = only_object_actions(statement)
    return any(
        is_wildcard(resource, objects_under_a_prefix=prefixed)
        for resource in as_list(statement.get("Resource", []))
    )


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
        ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": "sqs:*", "NotResource": "arn:aws:sqs:x:1:q"}, True),
        (
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["IntakeQueue", "Arn"]},
            },
            False,
        ),
        ({"Effect": "Deny", "Action": "sqs:*", "NotResource": "arn:aws:sqs:x:1:q"}, False),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}, True),
        (
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": {"Fn::Sub": "${AttachmentBucket.Arn}/*"},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": {"Fn::Sub": "${AttachmentBucket.Arn}/attachments/*"},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": {"Fn::Sub": "${Vault.Arn}/kintone/*"},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": {"Fn::Sub": "${AttachmentBucket.Arn}/attachments/*"},
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


# ---------------------------------------------------------------- each function's grants


def frozen(node: Any) -> str:
    """A resource as a comparable value."""
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


GUARD_TABLE = frozen({"Fn::GetAtt": ["GuardTable", "Arn"]})
IDEMPOTENCY_TABLE = frozen({"Fn::GetAtt": ["IdempotencyTable", "Arn"]})
INTAKE_QUEUE = frozen({"Fn::GetAtt": ["IntakeQueue", "Arn"]})
WEBHOOK_QUEUE = frozen({"Fn::GetAtt": ["WebhookQueue", "Arn"]})
WEBHOOK_DEAD_LETTER_QUEUE = frozen({"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]})
ATTACHMENT_PREFIX = "attachments/"
ATTACHMENT_OBJECTS = frozen({"Fn::Sub": "${AttachmentBucket.Arn}/" + ATTACHMENT_PREFIX + "*"})
# The direct uploads' quarantine (POST /forms/{form}/uploads).
UPLOAD_OBJECTS = frozen({"Fn::Sub": "${AttachmentBucket.Arn}/uploads/*"})
GUARD_TABLE_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem")
# What Powertools' DynamoDBPersistenceLayer calls: no Query, no Scan.
IDEMPOTENCY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
# Codes are put and taken (a conditional delete), revocations put and read, and the
# realms' guard counters counted: no Query, no Scan.
SESSION_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
MAIL_IDENTITY = frozen(
    {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
        ":identity/${MailIdentity}"
    }
)
MAIL_CONFIGURATION_SET = frozen(
    {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
        ":configuration-set/${MailConfigurationSet}"
    }
)
SEND_MAIL = {("ses:SendEmail", MAIL_IDENTITY), ("ses:SendEmail", MAIL_CONFIGURATION_SET)}
# What a queue consumer needs beyond what SAM's poller policy grants on "*", on its queue:
# ChangeMessageVisibility backs a failing message off.
CONSUMER_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
)

# The one SSM parameter of the kill switch, read by every function that answers a route.
ROUTE_SWITCHES = frozen(
    {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
        ":parameter${RouteSwitchesParameter}"
    }
)
READ_SWITCHES = {("ssm:GetParameter", ROUTE_SWITCHES)}

# Everything but secrets (checked against the policy below), as (action, resource).
# The entries table (test_template_entries.py fences its keys): intake opens entries and
# reads the seats left; delivery and the session routes only move an entry's seats.
ENTRIES_TABLE = frozen({"Fn::GetAtt": ["EntriesTable", "Arn"]})
INTAKE_ENTRY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
ENTRY_MOVE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")

INTAKE_GRANTS = (
    {(action, GUARD_TABLE) for action in GUARD_TABLE_ACTIONS}
    | {(action, IDEMPOTENCY_TABLE) for action in IDEMPOTENCY_ACTIONS}
    | {("sqs:SendMessage", INTAKE_QUEUE), ("s3:PutObject", ATTACHMENT_OBJECTS)}
    | {(action, ENTRIES_TABLE) for action in INTAKE_ENTRY_ACTIONS}
    # Signs the presigned POSTs, reads an upload's head and first bytes, claims it.
    | {
        (action, UPLOAD_OBJECTS)
        for action in ("s3:PutObject", "s3:GetObject")
        for action in (action, f"{action}Tagging")
    }
    | READ_SWITCHES
)

EXPECTED_GRANTS = {
    "LookupFunction": {(action, GUARD_TABLE) for action in GUARD_TABLE_ACTIONS} | READ_SWITCHES,
    "IntakeFunction": INTAKE_GRANTS,
    # A partner's form submission is the intake's, and its view counts in the same guard
    # table as the lookup's (its keys fenced: test_template_partner_api.py): nothing more.
    "PartnerFunction": INTAKE_GRANTS,
    "DeliverFunction": {(action, INTAKE_QUEUE) for action in CONSUMER_ACTIONS}
    | {
        ("s3:GetObject", ATTACHMENT_OBJECTS),
        ("s3:DeleteObject", ATTACHMENT_OBJECTS),
        # The "delivered" marker that stands in for a delivered submission's files.
        ("s3:PutObject", ATTACHMENT_OBJECTS),
        # A direct upload is read whole before kintone sees it, deleted once delivered.
        ("s3:GetObject", UPLOAD_OBJECTS),
        ("s3:DeleteObject", UPLOAD_OBJECTS),
    }
    | {(action, ENTRIES_TABLE) for action in ENTRY_MOVE_ACTIONS}
    # A confirmation mail once per receipt: the table's keys are fenced to the replies'
    # (test_template_replies.py); SES from one identity, as one From address.
    | {(action, IDEMPOTENCY_TABLE) for action in IDEMPOTENCY_ACTIONS}
    | SEND_MAIL,
    # The table grants hold only for the dedupe records' keys (see
    # test_template_webhooks.py); Powertools' idempotency calls the same four actions.
    "WebhookFunction": (
        {(action, GUARD_TABLE) for action in IDEMPOTENCY_ACTIONS}
        | {("sqs:SendMessage", WEBHOOK_QUEUE)}
        | READ_SWITCHES
    ),
    # The ledger's keys are fenced like the dedupe records' (test_template_webhooks.py).
    # The dead-letter queue takes the permanent failures the function sends it itself.
    "ActionFunction": (
        {(action, GUARD_TABLE) for action in IDEMPOTENCY_ACTIONS}
        | {(action, WEBHOOK_QUEUE) for action in CONSUMER_ACTIONS}
        | {("sqs:SendMessage", WEBHOOK_DEAD_LETTER_QUEUE)}
    ),
    # Its keys are fenced to "session:*" (test_template_sessions.py); SES from one
    # identity, as one From address.
    "SessionFunction": (
        {(action, GUARD_TABLE) for action in SESSION_TABLE_ACTIONS}
        | SEND_MAIL
        | {(action, ENTRIES_TABLE) for action in ENTRY_MOVE_ACTIONS}
        | READ_SWITCHES
    ),
    "RotateFunction": set(),
}


def function_statements(function: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        statement
        for entry in as_list(function["Properties"].get("Policies", []))
        for statement in statements_of(entry)
    ]


def allowed(function: Mapping[str, Any], *, service: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the function's Allow statements grant outside `service`."""
    pairs = set()
    for statement in function_statements(function):
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            if not action.lower().startswith(service):
                pairs |= {(action, frozen(r)) for r in as_list(statement["Resource"])}
    return pairs


def readable_secret_names(
    function: Mapping[str, Any], resources, actions: tuple[str, ...] = READ
) -> set[str]:
    names = secret_resource_names(resources)
    readable = set()
    for statement in function_statements(function):
        granted = as_list(statement.get("Action", []))
        if not any(action.lower().startswith("secretsmanager:") for action in granted):
            continue
        assert sorted(granted) == sorted(actions)
        for resource in as_list(statement["Resource"]):
            assert set(resource) == {"Ref"}, f"secret granted by pattern: {resource!r}"
            readable.add(names[resource["Ref"]])
    return readable


def test_every_function_has_its_grants_listed_here(functions):
    assert set(functions) == set(EXPECTED_GRANTS) == set(EXPECTED_SECRETS)


@pytest.mark.parametrize("function_name", sorted(EXPECTED_GRANTS))
def test_each_function_is_granted_exactly_its_tables_queues_and_objects(functions, function_name):
    granted = allowed(functions[function_name], service="secretsmanager:")
    assert granted == EXPECTED_GRANTS[function_name]


@pytest.mark.parametrize("function_name", sorted(EXPECTED_SECRETS))
def test_each_function_reads_exactly_the_secrets_its_policy_section_names(
    functions, resources, function_name
):
    expected = EXPECTED_SECRETS[function_name](read_policy(REPO / "policy.yaml"))
    readable = readable_secret_names(
        functions[function_name], resources, SECRET_ACTIONS[function_name]
    )
    assert readable == expected


@pytest.mark.parametrize(
    ("function_name", "policy"),
    [
        (
            "LookupFunction",
            {
                "views": {
                    "deal-status": {"app": 1, "token_secret": "sekisho/kintone/deals-view"},
                    "seminar-status": {"app": 2, "token_secret": "sekisho/kintone/seminar-view"},
                }
            },
        ),
        (
            "IntakeFunction",
            {
                "forms": {
                    "seminar-apply": {
                        "app": 2,
                        "token_secret": "sekisho/kintone/seminar-add",
                        "captcha": {"provider": "turnstile", "secret": "sekisho/captcha/seminar"},
                    }
                }
            },
        ),
        (
            "DeliverFunction",
            {
                "forms": {
                    "seminar-apply": {"app": 2, "token_secret": "sekisho/kintone/seminar-add"},
                    "job-apply": {"app": 3, "token_secret": "sekisho/kintone/jobs-add"},
                }
            },
        ),
        (
            "WebhookFunction",
            {
                "webhooks": {
                    "demo-kintone": {
                        "scheme": "kintone",
                        "secret": "sekisho/webhook/demo-kintone",
                        "refetch": {"app": 2, "token_secret": "sekisho/kintone/seminar-view"},
                    }
                }
            },
        ),
        (
            "ActionFunction",
            {
                "webhooks": {
                    "demo-stripe": {
                        "scheme": "stripe",
                        "secret": "sekisho/webhook/demo-stripe",
                        "actions": {
                            "mark-seminar-paid": {
                                "token_secret": "sekisho/kintone/seminar-edit",
                                "read_secret": "sekisho/kintone/seminar-view",
                            }
                        },
                    }
                }
            },
        ),
        (
            "ActionFunction",
            {
                "webhooks": {
                    "demo-kintone": {
                        "scheme": "kintone",
                        "secret": "sekisho/webhook/demo-kintone",
                        "refetch": {"app": 1, "token_secret": "sekisho/kintone/deals-view"},
                        "actions": {"audit": {"token_secret": "sekisho/kintone/audit-add"}},
                    }
                }
            },
        ),
        # A second partner's key, and a view it is given whose token the role lacks.
        (
            "PartnerFunction",
            {
                "views": {
                    "partner-deals": {
                        "caller": "partner",
                        "app": 1,
                        "token_secret": "sekisho/kintone/partner-deals-view",
                    },
                    "partner-seminars": {
                        "caller": "partner",
                        "app": 2,
                        "token_secret": "sekisho/kintone/partner-seminars-view",
                    },
                },
                "partners": {
                    "demo-erp": {
                        "key_secret": "sekisho/partner/demo-erp",
                        "routes": {"views": ["partner-deals"]},
                    },
                    "booking-site": {
                        "key_secret": "sekisho/partner/booking-site",
                        "routes": {"views": ["partner-seminars"]},
                    },
                },
            },
        ),
    ],
)
def test_a_secret_the_function_cannot_read_is_detected(
    tmp_path, functions, resources, function_name, policy
):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    expected = EXPECTED_SECRETS[function_name](read_policy(path))
    assert readable_secret_names(functions[function_name], resources) != expected


@pytest.mark.parametrize(
    ("hook", "readable"),
    [
        (
            {"refetch": {"token_secret": "r"}, "actions": {"a": {"token_secret": "w"}}},
            {"r", "w"},
        ),
        (
            {
                "actions": {
                    "a": {"token_secret": "w", "read_secret": "v"},
                    "b": {"token_secret": "x"},
                }
            },
            {"v", "w", "x"},
        ),
        # Its events are never acted on: its refetch token stays WebhookFunction's alone.
        ({"refetch": {"token_secret": "r"}}, set()),
        ({"refetch": {"token_secret": "r"}, "actions": {}}, set()),
        ({}, set()),
    ],
)
def test_action_function_may_read_a_refetch_token_only_of_a_source_with_actions(hook, readable):
    policy = {"webhooks": {"source": {"scheme": "kintone", "secret": "s", **hook}}}
    assert action_secret_names(policy) == readable


def test_an_actions_read_token_counts_as_one_that_can_read_records():
    action = {"token_secret": "sekisho/kintone/x-edit", "read_secret": "sekisho/kintone/x-view"}
    policy = {"webhooks": {"s": {"scheme": "stripe", "secret": "k", "actions": {"a": action}}}}
    assert record_reading_secret_names(policy) == {"sekisho/kintone/x-view"}
    # The rotation function, which reads every secret, reads both.
    assert all_secret_names(policy) == {"k", "sekisho/kintone/x-edit", "sekisho/kintone/x-view"}


@pytest.mark.parametrize("function_name", ["IntakeFunction", "DeliverFunction"])
def test_the_intake_path_holds_no_token_that_can_read_records(functions, resources, function_name):
    readable = readable_secret_names(functions[function_name], resources)
    assert readable
    assert not readable & record_reading_secret_names(read_policy(REPO / "policy.yaml"))
    # By name too, should the policy lose track of a view token the template still holds.
    assert not any(name.endswith("-view") for name in readable)


def test_every_secret_the_policy_names_is_declared_in_the_template(resources):
    declared = set(secret_resource_names(resources).values())
    assert all_secret_names(read_policy(REPO / "policy.yaml")) <= declared


def sqs_event_queues(function: Mapping[str, Any]) -> list[Any]:
    events = (function["Properties"].get("Events") or {}).values()
    return [event["Properties"]["Queue"] for event in events if event["Type"] == "SQS"]


def queues_granted(function: Mapping[str, Any]) -> list[Any]:
    """The queues the function's Allow statements name, in order, once each."""
    named: list[Any] = []
    for statement in function_statements(function):
        actions = as_list(statement.get("Action", []))
        if statement["Effect"] == "Allow" and any(a.startswith("sqs:") for a in actions):
            named += [q for q in as_list(statement["Resource"]) if q not in named]
    return named


def queue_pollers(functions: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {name: sqs_event_queues(f) for name, f in functions.items() if sqs_event_queues(f)}


def test_every_queue_poller_is_fenced_to_its_own_queues(functions):
    # SAM_SQS_POLLER_POLICY reaches every queue of the account; only an explicit Deny in the
    # function's own policy takes that reach away. "Its own" are the queues it polls and
    # those it is granted (ActionFunction's dead-letter queue).
    pollers = queue_pollers(functions)
    assert set(pollers) >= {"DeliverFunction", "ActionFunction"}
    for name, queues in pollers.items():
        fences = [
            statement
            for statement in function_statements(functions[name])
            if statement["Effect"] == "Deny" and as_list(statement.get("Action")) == ["sqs:*"]
        ]
        (fence,) = fences
        granted = queues_granted(functions[name])
        assert set(map(frozen, queues)) <= set(map(frozen, granted)), name
        assert as_list(fence.get("NotResource")) == granted, name
        assert "Resource" not in fence, name
        assert "Condition" not in fence, name


def test_a_poller_may_only_send_to_a_queue_it_does_not_poll(functions):
    # Inside the fence SAM_SQS_POLLER_POLICY still grants ReceiveMessage and DeleteMessage:
    # on a dead-letter queue a bug could consume the very events a person must look at.
    checked = 0
    for name, polled in queue_pollers(functions).items():
        for queue in queues_granted(functions[name]):
            if queue in polled:
                continue
            denies = [
                s
                for s in function_statements(functions[name])
                if s["Effect"] == "Deny" and as_list(s.get("Resource")) == [queue]
            ]
            assert [as_list(s.get("NotAction")) for s in denies] == [["sqs:SendMessage"]], name
            assert all("Action" not in s and "Condition" not in s for s in denies), name
            checked += 1
    assert checked


def test_kintone_token_placeholders_hold_no_value(resources):
    # The webhook secrets' placeholders are checked in test_template_webhooks.py.
    placeholders = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::SecretsManager::Secret"
        and "SecretString" in resource["Properties"]
        and declared_secret_name(resource["Properties"]["Name"]).startswith("sekisho/kintone/")
    ]
    assert {declared_secret_name(p["Name"]) for p in placeholders} >= {
        "sekisho/kintone/deals-view",
        "sekisho/kintone/seminar-add",
        "sekisho/kintone/seminar-edit",
        "sekisho/kintone/seminar-payment-view",
        "sekisho/kintone/audit-add",
    }
    for placeholder in placeholders:
        assert json.loads(placeholder["SecretString"]) == {"kind": "kintone-token", "token": ""}


def test_kintone_tokens_outlive_the_stack(resources):
    # An operator made them by hand in kintone; kintone has no API to make them again.
    tokens = [
        name
        for name, secret in resources.items()
        if secret["Type"] == "AWS::SecretsManager::Secret"
        and declared_secret_name(secret["Properties"]["Name"]).startswith("sekisho/kintone/")
    ]
    assert {"DealsViewTokenSecret", "SeminarAddTokenSecret", "AuditAddTokenSecret"} <= set(tokens)
    for name in tokens:
        assert resources[name]["DeletionPolicy"] == "Retain", name
        assert resources[name]["UpdateReplacePolicy"] == "Retain", name


def test_the_guard_key_is_generated_not_written(resources):
    generated = resources["GuardHashKeySecret"]["Properties"]
    assert "SecretString" not in generated
    spec = generated["GenerateSecretString"]
    assert json.loads(spec["SecretStringTemplate"]) == {"kind": "hmac"}
    assert spec["GenerateStringKey"] == "key"
    assert spec["PasswordLength"] >= 32
    assert declared_secret_name(generated["Name"]) == GUARD_HASH_KEY_SECRET


# ---------------------------------------------------------------- functions and routes


def test_every_function_runs_python312_on_arm64_with_the_layer(template, functions):
    assert functions
    for name, function in functions.items():
        assert effective(template, function, "Runtime") == "python3.12", name
        assert effective(template, function, "Architectures") == ["arm64"], name
        assert {"Ref": "SekishoLayer"} in effective(template, function, "Layers"), name


@pytest.mark.parametrize("name", ["SekishoLayer", "SignaturesLayer"])
def test_layer_is_built_for_the_same_runtime_and_architecture(resources, name):
    layer = resources[name]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_only_the_partner_function_has_the_signatures_layer(template, functions):
    # cryptography and the RFC 9421 library: every other function is spared their code
    # and their import (PyJWT imports cryptography whenever it can find it).
    assert template["Resources"]["SignaturesLayer"]["Properties"]["ContentUri"] == (
        "layers/signatures/"
    )
    with_it = {
        name
        for name, function in functions.items()
        if {"Ref": "SignaturesLayer"} in effective(template, function, "Layers")
    }
    assert with_it == {"PartnerFunction"}
    partner = effective(template, functions["PartnerFunction"], "Layers")
    assert partner == [{"Ref": "SekishoLayer"}, {"Ref": "SignaturesLayer"}]


def api_routes(function: Mapping[str, Any], api: str = "Api") -> set[tuple[str, str]]:
    """The function's routes on one API (the browser and webhook routes' by default)."""
    return {
        (event["Properties"]["Path"], event["Properties"]["Method"].lower())
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api" and event["Properties"]["RestApiId"] == {"Ref": api}
    }


@pytest.mark.parametrize(
    ("function_name", "routes"),
    [
        ("LookupFunction", {("/views/{view}", "post"), ("/views/{view}", "options")}),
        (
            "IntakeFunction",
            {
                ("/forms/{form}", "post"),
                ("/forms/{form}", "options"),
                ("/forms/{form}", "get"),
                ("/forms/{form}/receipts/{receipt}", "get"),
                ("/forms/{form}/receipts/{receipt}", "options"),
                ("/forms/{form}/uploads", "post"),
                ("/forms/{form}/uploads", "options"),
            },
        ),
        ("DeliverFunction", set()),
        ("ActionFunction", set()),
        # Its routes are PartnerApi's (test_template_partner_api.py), none of Api's.
        ("PartnerFunction", set()),
    ],
)
def test_each_function_answers_its_routes_and_their_preflight(functions, function_name, routes):
    assert api_routes(functions[function_name]) == routes


@pytest.mark.parametrize(
    ("function_name", "code_uri"),
    [
        ("LookupFunction", "functions/lookup/"),
        ("IntakeFunction", "functions/intake/"),
        ("DeliverFunction", "functions/deliver/"),
        ("ActionFunction", "functions/action/"),
        ("PartnerFunction", "functions/partner/"),
    ],
)
def test_each_function_is_a_thin_handler_in_its_own_directory(functions, function_name, code_uri):
    props = functions[function_name]["Properties"]
    assert props["CodeUri"] == code_uri
    assert props["Handler"] == "app.lambda_handler"


@pytest.mark.parametrize("function_name", ["LookupFunction", "IntakeFunction", "PartnerFunction"])
def test_browser_facing_functions_answer_inside_api_gateways_limit(functions, function_name):
    # The kintone client's budget is about 8 s; API Gateway gives up at 29 s.
    assert 8 < functions[function_name]["Properties"]["Timeout"] < 29


def test_lookup_environment_follows_the_contract(template, functions):
    env = environment(template, functions["LookupFunction"])
    assert env["KINTONE_BASE_URL"] == {"Ref": "KintoneBaseUrl"}
    assert env["GUARD_TABLE"] == {"Ref": "GuardTable"}
    assert env["GUARD_HASH_KEY_SECRET"] == GUARD_HASH_KEY_SECRET
    assert env["ALLOWED_ORIGINS"] == {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}
    assert env["ROUTE_SWITCHES_PARAMETER"] == {"Ref": "RouteSwitchesParameter"}
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"} <= set(env)
    # In Lambda the policy is the one bundled in the layer.
    assert "SEKISHO_POLICY" not in env


def test_intake_environment_follows_the_contract(template, functions):
    env = environment(template, functions["IntakeFunction"])
    assert env == {
        "KINTONE_BASE_URL": {"Ref": "KintoneBaseUrl"},
        "POWERTOOLS_SERVICE_NAME": "sekisho",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "SEKISHO_SNAPSTART": {"Fn::If": ["SnapStartOn", "1", "0"]},
        "SEKISHO_SECRET_PREFIX": SECRET_NAME_PREFIX,
        "GUARD_TABLE": {"Ref": "GuardTable"},
        "GUARD_HASH_KEY_SECRET": GUARD_HASH_KEY_SECRET,
        "ALLOWED_ORIGINS": {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]},
        "MAX_BODY_BYTES": "5500000",
        "INTAKE_QUEUE_URL": {"Ref": "IntakeQueue"},
        "ATTACHMENT_BUCKET": {"Ref": "AttachmentBucket"},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
        "ENTRIES_TABLE": {"Ref": "EntriesTable"},
        "ROUTE_SWITCHES_PARAMETER": {"Ref": "RouteSwitchesParameter"},
    }


def test_partner_environment_is_the_intakes_without_allowed_origins(template, functions):
    # A partner's form submission is the intake's; partners are systems, so no origin.
    env = environment(template, functions["PartnerFunction"])
    intake = environment(template, functions["IntakeFunction"])
    assert "ALLOWED_ORIGINS" not in env
    assert env == {name: value for name, value in intake.items() if name != "ALLOWED_ORIGINS"}
    assert "NOT_FOUND_DEADLINE_MS" not in environment(template, functions["LookupFunction"])


def test_intake_body_limit_fits_lambdas_synchronous_payload(template, functions):
    env = environment(template, functions["IntakeFunction"])
    # 6 MB for the whole event, which wraps the body in headers and request context.
    assert 5_000_000 <= int(env["MAX_BODY_BYTES"]) < 6 * 1024 * 1024 - 256 * 1024


def test_deliver_environment_names_only_what_delivery_uses(template, functions):
    env = environment(template, functions["DeliverFunction"])
    assert env == {
        "KINTONE_BASE_URL": {"Ref": "KintoneBaseUrl"},
        "POWERTOOLS_SERVICE_NAME": "sekisho",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "SEKISHO_SNAPSTART": {"Fn::If": ["SnapStartOn", "1", "0"]},
        "SEKISHO_SECRET_PREFIX": SECRET_NAME_PREFIX,
        "ATTACHMENT_BUCKET": {"Ref": "AttachmentBucket"},
        "ENTRIES_TABLE": {"Ref": "EntriesTable"},
        "DELIVER_MAX_RECEIVES": "300",
        "MAIL_FROM_ADDRESS": {"Ref": "MailFromAddress"},
        "MAIL_CONFIGURATION_SET": {"Ref": "MailConfigurationSet"},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    }


def test_action_environment_names_only_the_ledger_and_the_dead_letter_queue(template, functions):
    # No queue URL to consume: the backoff names each record's own queue (eventSourceARN).
    env = environment(template, functions["ActionFunction"])
    assert env == {
        "KINTONE_BASE_URL": {"Ref": "KintoneBaseUrl"},
        "POWERTOOLS_SERVICE_NAME": "sekisho",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "SEKISHO_SNAPSTART": {"Fn::If": ["SnapStartOn", "1", "0"]},
        "SEKISHO_SECRET_PREFIX": SECRET_NAME_PREFIX,
        "GUARD_TABLE": {"Ref": "GuardTable"},
        "WEBHOOK_DEAD_LETTER_QUEUE_URL": {"Ref": "WebhookDeadLetterQueue"},
        "DELIVER_MAX_RECEIVES": "300",
    }


def test_the_action_counts_a_dead_letter_on_the_receive_webhook_queue_moves_it_after(
    template, functions
):
    env = environment(template, functions["ActionFunction"])
    redrive = template["Resources"]["WebhookQueue"]["Properties"]["RedrivePolicy"]
    assert int(env["DELIVER_MAX_RECEIVES"]) == int(redrive["maxReceiveCount"])


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


# ---------------------------------------------------------------- idempotent answers


def test_idempotency_table_has_powertools_default_key_and_ttl(resources):
    table = resources["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}


# ---------------------------------------------------------------- queue consumers to kintone

KINTONE_CONCURRENT_REQUESTS = 100  # per domain, for everything the customer runs


class Consumer(NamedTuple):
    function: str
    queue: str
    # Caps how many of the function run at once: its share of kintone's concurrent requests.
    parameter: str
    default: int
    ceiling: int


CONSUMERS = [
    Consumer("DeliverFunction", "IntakeQueue", "DeliverConcurrency", default=5, ceiling=50),
    Consumer("ActionFunction", "WebhookQueue", "ActionConcurrency", default=2, ceiling=20),
]
each_consumer = pytest.mark.parametrize(
    "consumer", CONSUMERS, ids=[consumer.function for consumer in CONSUMERS]
)


def sqs_event(function: Mapping[str, Any]) -> Mapping[str, Any]:
    (event,) = function["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    return event["Properties"]


def test_every_queue_consumer_is_listed_here(functions):
    assert set(queue_pollers(functions)) == {consumer.function for consumer in CONSUMERS}


@each_consumer
def test_each_consumer_takes_its_queue_in_batches_with_partial_failures(functions, consumer):
    event = sqs_event(functions[consumer.function])
    assert event["Queue"] == {"Fn::GetAtt": [consumer.queue, "Arn"]}
    assert event["BatchSize"] == 10
    assert event["MaximumBatchingWindowInSeconds"] == 5
    # Without it one failed message would send the whole batch back to the queue.
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event.get("Enabled", True) is True


@each_consumer
def test_each_consumers_concurrency_is_capped_by_one_parameter(template, functions, consumer):
    cap = {"Ref": consumer.parameter}
    assert functions[consumer.function]["Properties"]["ReservedConcurrentExecutions"] == cap
    # The poller never takes more batches than the function may run: throttled batches
    # would count as receives.
    event = sqs_event(functions[consumer.function])
    assert event["ScalingConfig"] == {"MaximumConcurrency": cap}
    spec = template["Parameters"][consumer.parameter]
    assert spec["Type"] == "Number"
    # Lambda's SQS poller takes no MaximumConcurrency below 2.
    assert spec["MinValue"] == 2
    assert spec["Default"] == consumer.default
    assert spec["MaxValue"] <= consumer.ceiling


def test_the_consumers_together_cannot_take_all_of_kintones_concurrent_requests(template):
    ceilings = [template["Parameters"][consumer.parameter]["MaxValue"] for consumer in CONSUMERS]
    assert sum(ceilings) < KINTONE_CONCURRENT_REQUESTS


# ---------------------------------------------------------------- queues


def queues(resources: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in resources.items()
        if resource["Type"] == "AWS::SQS::Queue"
    }


@each_consumer
def test_each_queue_hides_a_batch_for_six_timeouts_of_its_consumer(functions, resources, consumer):
    # AWS's advice, so a throttled or retried invocation does not see its batch reappear,
    # plus the batching window the poller holds messages for.
    timeout = functions[consumer.function]["Properties"]["Timeout"]
    window = sqs_event(functions[consumer.function])["MaximumBatchingWindowInSeconds"]
    assert resources[consumer.queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout + window


def test_intake_queue_keeps_a_submission_for_four_days(resources):
    assert resources["IntakeQueue"]["Properties"]["MessageRetentionPeriod"] == 4 * DAY


def test_intake_queue_sends_repeated_failures_to_its_dead_letter_queue(resources):
    redrive = resources["IntakeQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 300,
    }


def test_dead_letters_outlive_the_intake_queue(resources):
    # A standard queue keeps a message's first enqueue time when it moves to its DLQ.
    dead = resources["IntakeDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert dead == 14 * DAY
    assert dead > resources["IntakeQueue"]["Properties"]["MessageRetentionPeriod"]


def test_every_queue_is_encrypted(resources):
    assert queues(resources)
    for name, queue in queues(resources).items():
        assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue, name


def denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    return (
        statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    )


def test_every_queue_refuses_plain_http(resources):
    covered = []
    for resource in resources.values():
        if resource["Type"] == "AWS::SQS::QueuePolicy":
            document = resource["Properties"]["PolicyDocument"]
            # Each queue policy covers exactly the queues it is attached to.
            here = []
            for statement in statements_of(document):
                if denies_insecure_transport(statement):
                    assert as_list(statement["Action"]) == ["sqs:*"]
                    here += [arn["Fn::GetAtt"][0] for arn in as_list(statement["Resource"])]
            queues_named = [ref["Ref"] for ref in resource["Properties"]["Queues"]]
            assert sorted(queues_named) == sorted(here)
            covered += here
    assert sorted(covered) == sorted(queues(resources))


def test_a_dead_letter_raises_the_alarm(resources):
    (alarm,) = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and resource["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["IntakeDeadLetterQueue", "QueueName"]}}]
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["Statistic"] == "Maximum"
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == 1
    # An idle, empty queue reports nothing: that is not a reason to alarm.
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(
    ("topic", "actions"),
    [
        ("", cfn.NO_VALUE),
        (
            "arn:aws:sns:ap-northeast-1:123456789012:sekisho-alarms",
            ["arn:aws:sns:ap-northeast-1:123456789012:sekisho-alarms"],
        ),
    ],
)
def test_the_alarm_notifies_the_topic_only_when_one_is_given(template, resources, topic, actions):
    alarm = resources["IntakeDeadLetterAlarm"]["Properties"]
    assert resolved(template, alarm["AlarmActions"], AlarmTopicArn=topic) == actions
    assert resolved(template, alarm["OKActions"], AlarmTopicArn=topic) == actions


# ---------------------------------------------------------------- attachments in transit


@pytest.fixture(scope="module")
def bucket(resources) -> Mapping[str, Any]:
    return resources["AttachmentBucket"]["Properties"]


def test_attachment_bucket_blocks_every_kind_of_public_access(bucket):
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    # ACLs off: every object belongs to the bucket owner and no ACL can share one.
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_attachment_bucket_encrypts_and_keeps_no_deleted_versions(bucket):
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    # A deleted CV must be gone, not kept as a noncurrent version.
    assert bucket.get("VersioningConfiguration", {}).get("Status") != "Enabled"


def test_attachments_expire_no_sooner_than_their_dead_letters(bucket, resources):
    rules = bucket["LifecycleConfiguration"]["Rules"]
    (expiry,) = [rule for rule in rules if rule.get("Prefix") == ATTACHMENT_PREFIX]
    assert expiry["Status"] == "Enabled"
    assert expiry["ExpirationInDays"] == 14
    # A redriven dead letter must still find its files.
    dead = resources["IntakeDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert expiry["ExpirationInDays"] * DAY >= dead


def test_abandoned_uploads_are_cleaned_up_after_a_day(bucket):
    rules = bucket["LifecycleConfiguration"]["Rules"]
    (abort,) = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    assert abort["Status"] == "Enabled"
    assert "Prefix" not in abort  # the whole bucket
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_every_bucket_refuses_plain_http(resources):
    buckets = {name for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    assert buckets
    for name in buckets:
        (policy,) = [
            r["Properties"]
            for r in resources.values()
            if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": name}
        ]
        (statement,) = [s for s in statements_of(policy["PolicyDocument"]) if s["Effect"] == "Deny"]
        assert denies_insecure_transport(statement)
        assert as_list(statement["Action"]) == ["s3:*"]
        assert statement["Resource"] == [
            {"Fn::GetAtt": [name, "Arn"]},
            {"Fn::Sub": "${" + name + ".Arn}/*"},
        ]


# ---------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def api(resources) -> Mapping[str, Any]:
    return resources["Api"]["Properties"]


def test_api_leaves_preflight_to_the_functions(template, api):
    assert "Cors" not in api
    assert "Cors" not in template.get("Globals", {}).get("Api", {})


def test_api_is_regional_throttled_and_access_logged(api, resources):
    assert api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    assert api["StageName"] == {"Ref": "Stage"}
    (settings,) = api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert settings["DataTraceEnabled"] is False  # would log request bodies
    destination = api["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"]
    assert resources[destination[0]]["Type"] == "AWS::Logs::LogGroup"


# A kintone source's secret travels in its URL (?token=). API Gateway's stage tracing
# records each request's whole URL in X-Ray, query string included.
def test_the_stage_is_not_traced_so_no_trace_holds_a_url_token(template, api):
    assert api["TracingEnabled"] is False
    # Tracing stays on in the functions, whose segments record no request URL.
    assert template["Globals"]["Function"]["Tracing"] == "Active"


# What each access-log variable may show: none of them carries a query string or a body.
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.identity.sourceIp",
    "$context.requestTimeEpoch",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.path",  # the path alone: API Gateway's $context.path has no query string
    "$context.status",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integration.status",
    "$context.integration.latency",
    "$context.error.responseType",
}


def test_the_access_log_records_no_query_string_body_or_header(api):
    settings = api["MethodSettings"][0]
    assert (settings["LoggingLevel"], settings["DataTraceEnabled"]) == ("OFF", False)
    used = set(re.findall(r"\$[A-Za-z.]+", api["AccessLogSetting"]["Format"]))
    assert used <= ACCESS_LOG_VARIABLES, used - ACCESS_LOG_VARIABLES


# The browser-facing functions share the GuardTable with the webhook dedupe records and the
# action ledger: each may touch only the counters of its own routes.
BROWSER_GUARD_SCOPES = {"LookupFunction": "view:", "IntakeFunction": "form:"}


def guard_table_statement(function: Mapping[str, Any]) -> Mapping[str, Any]:
    (statement,) = [
        s
        for s in function_statements(function)
        if frozen(s.get("Resource")) == GUARD_TABLE and s["Effect"] == "Allow"
    ]
    return statement


def test_the_guard_scopes_in_iam_are_the_ones_the_services_key_counters_by():
    from sekisho.intake.service import SCOPE_PREFIX as FORMS  # noqa: PLC0415
    from sekisho.lookup import SCOPE_PREFIX as VIEWS  # noqa: PLC0415

    assert BROWSER_GUARD_SCOPES == {"LookupFunction": VIEWS, "IntakeFunction": FORMS}


@pytest.mark.parametrize(("function_name", "prefix"), BROWSER_GUARD_SCOPES.items())
def test_lookup_and_intake_touch_only_their_own_routes_counters(functions, function_name, prefix):
    statement = guard_table_statement(functions[function_name])
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [prefix + "*"]}
    }


@pytest.mark.parametrize(
    ("function_name", "key", "allowed"),
    [
        ("LookupFunction", "view:deal-status#ip#3600#500000#0123abcd", True),
        ("LookupFunction", "view:deal-status#budget#86400#20833", True),
        ("LookupFunction", "form:seminar-apply#ip#3600#500000#0123abcd", False),
        ("LookupFunction", "sekisho.webhook#5d41402abc4b2a76b9719d911017c592", False),
        ("LookupFunction", "sekisho.action#5d41402abc4b2a76b9719d911017c592", False),
        ("LookupFunction", "View:deal-status#ip#1#1#x", False),
        ("IntakeFunction", "form:seminar-apply#budget#86400#20833", True),
        ("IntakeFunction", "view:deal-status#fail#3600#500000#0123abcd", False),
        ("IntakeFunction", "sekisho.webhook#5d41402abc4b2a76b9719d911017c592", False),
        ("IntakeFunction", "sekisho.action#5d41402abc4b2a76b9719d911017c592", False),
    ],
)
def test_the_browser_functions_leading_keys_admit_only_their_own_counters(
    functions, function_name, key, allowed
):
    condition = guard_table_statement(functions[function_name])["Condition"]
    (pattern,) = condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    assert (re.fullmatch(regex, key) is not None) is allowed


def test_a_route_budget_nearly_spent_raises_the_alarm_the_functions_write_for(template, resources):
    from sekisho import metrics  # noqa: PLC0415

    alarm = resources["RouteBudgetAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        metrics.NAMESPACE,
        metrics.ROUTE_BUDGET_NEARLY_SPENT,
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": metrics.SERVICE}]
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


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
    policy = resolved(template, api["Policy"], AllowedSourceIps=allowed_ips)
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert [s["Resource"] for s in allows] == ["execute-api:/*"]
    if denied_outside is None:
        assert denies == []
    else:
        (deny,) = denies
        assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": denied_outside}}
        # The browser routes only: webhook senders call from their own ranges.
        assert deny["Resource"] == [
            "execute-api:/*/*/views/*",
            "execute-api:/*/*/forms/*",
            "execute-api:/*/*/sessions/*",
        ]


GATEWAY_RESPONSES = [
    # The fallbacks' StatusCode is also that of every type not declared (API Gateway's rule).
    ("DEFAULT_4XX", 400, "request_refused"),
    # A failed function is a 502 in API Gateway, whether or not DEFAULT_5XX says so.
    ("DEFAULT_5XX", 502, "upstream_unavailable"),
    ("ACCESS_DENIED", 403, "forbidden"),
    ("WAF_FILTERED", 403, "forbidden"),
    ("MISSING_AUTHENTICATION_TOKEN", 404, "not_found"),
    ("RESOURCE_NOT_FOUND", 404, "not_found"),
    ("REQUEST_TOO_LARGE", 413, "payload_too_large"),
    ("THROTTLED", 429, "rate_limited"),
    ("API_CONFIGURATION_ERROR", 500, "configuration_error"),
    ("INTEGRATION_FAILURE", 504, "upstream_unavailable"),
    ("INTEGRATION_TIMEOUT", 504, "upstream_unavailable"),
]


def rendered_problem(template: str) -> Any:
    """A response body as API Gateway sends it: $context references substituted (by the
    local gateway's renderer), then read as JSON."""
    context = {
        "context.requestId": "7b0e3c1a-0000-4000-8000-000000000000",
        "context.error.message": "Missing Authentication Token",
        "context.error.messageString": json.dumps("Missing Authentication Token"),
        "context.error.responseType": "MISSING_AUTHENTICATION_TOKEN",
    }
    return json.loads(gateway.render(template, context))


def test_gateway_responses_are_exactly_the_declared_ones(api):
    assert set(api["GatewayResponses"]) == {name for name, _, _ in GATEWAY_RESPONSES}


@pytest.mark.parametrize(("response_type", "status", "code"), GATEWAY_RESPONSES)
def test_gateway_responses_are_problem_documents(api, response_type, status, code):
    response = api["GatewayResponses"][response_type]
    (body,) = response["ResponseTemplates"].values()
    problem = rendered_problem(body)
    assert problem["type"] == PROBLEM_TYPE_BASE + code
    assert problem["code"] == code
    assert problem["title"]
    # The status API Gateway sends is the declared one, and the body says the same.
    assert response["StatusCode"] == str(status)
    assert problem["status"] == status
    assert set(problem) <= {"type", "title", "status", "code", "detail"}


def test_every_gateway_response_body_states_its_status_code_as_a_number(api):
    for response_type, response in api["GatewayResponses"].items():
        for content_type, body in response["ResponseTemplates"].items():
            problem = rendered_problem(body)
            status = problem.get("status")
            assert type(status) is int, (response_type, content_type)
            assert status == int(response["StatusCode"]), response_type


def test_a_body_over_api_gateways_limit_is_told_what_the_limit_is(api):
    (body,) = api["GatewayResponses"]["REQUEST_TOO_LARGE"]["ResponseTemplates"].values()
    detail = rendered_problem(body)["detail"]
    # The local gateway refuses past the same number of bytes.
    assert f"{router.MAX_BODY_BYTES} bytes" in detail
    assert "10 MB" in detail


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
    headers = resolved(
        template,
        api["GatewayResponses"][response_type]["ResponseParameters"],
        AllowedOrigins="https://a.example,https://b.example",
    )["Headers"]
    # Header values are API Gateway literals: quoted in single quotes.
    assert headers["Access-Control-Allow-Origin"] == "'https://a.example'"
    assert headers["Vary"] == "'Origin'"


@pytest.mark.parametrize("response_type", [response for response, _, _ in GATEWAY_RESPONSES])
def test_gateway_responses_are_labelled_as_problems_and_never_cached(template, api, response_type):
    headers = api["GatewayResponses"][response_type]["ResponseParameters"]["Headers"]
    assert headers["Content-Type"] == "'application/problem+json; charset=utf-8'"
    assert headers["Cache-Control"] == "'no-store'"
    assert headers["Referrer-Policy"] == "'no-referrer'"
    assert headers["X-Content-Type-Options"] == "'nosniff'"


# ---------------------------------------------------------------- 405 for a route's other methods

ANY_METHOD = "x-amazon-apigateway-any-method"


def routed_methods(functions: Mapping[str, Any]) -> dict[str, set[str]]:
    """Path -> the methods the functions' Api events declare on it."""
    methods: dict[str, set[str]] = {}
    for function in functions.values():
        for path, method in api_routes(function):
            methods.setdefault(path, set()).add(method.upper())
    return methods


def mock_of(api: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    return api["DefinitionBody"]["paths"][path][ANY_METHOD]["x-amazon-apigateway-integration"]


def test_the_definition_body_is_merged_with_the_functions_routes(api):
    # Without MergeDefinitions SAM would serve the body alone, without the events' routes.
    assert api["MergeDefinitions"] is True
    assert api["DefinitionBody"]["openapi"] == api["OpenApiVersion"]


def test_exactly_the_routed_paths_have_a_mock_for_their_other_methods(api, functions):
    # Unknown paths keep API Gateway's MISSING_AUTHENTICATION_TOKEN (404 here).
    assert set(api["DefinitionBody"]["paths"]) == set(routed_methods(functions))
    for path, operations in api["DefinitionBody"]["paths"].items():
        assert set(operations) == {ANY_METHOD}, path


def test_no_function_route_is_any_so_the_mock_takes_only_undeclared_methods(functions):
    # API Gateway prefers a declared method to ANY: an ANY event would shadow the mock.
    for path, methods in routed_methods(functions).items():
        assert "ANY" not in methods, path


@pytest.mark.parametrize("path", ["/views/{view}", "/forms/{form}", "/webhooks/{source}"])
def test_a_routes_other_methods_get_405_with_allow_from_a_mock_no_function_sees(
    api, functions, path
):
    integration = mock_of(api, path)
    assert integration["type"] == "mock"
    assert "uri" not in integration
    response = integration["responses"]["default"]
    assert response["statusCode"] == "405"
    allow = response["responseParameters"]["method.response.header.Allow"]
    assert allow == "'" + ", ".join(sorted(routed_methods(functions)[path])) + "'"
    # Every request template selects the 405 (a mock answers what its template names);
    # nothing else is passed through, so an unlisted type is API Gateway's 415, not a 500.
    assert integration["passthroughBehavior"] == "never"
    assert "application/json" in integration["requestTemplates"]
    for template_text in integration["requestTemplates"].values():
        assert json.loads(template_text) == {"statusCode": 405}


@pytest.mark.parametrize("path", ["/views/{view}", "/forms/{form}", "/webhooks/{source}"])
def test_the_405_is_a_method_not_allowed_problem(api, path):
    (body,) = mock_of(api, path)["responses"]["default"]["responseTemplates"].values()
    problem = rendered_problem(body)
    assert problem == {
        "type": PROBLEM_TYPE_BASE + "method_not_allowed",
        "title": problem["title"],
        "status": 405,
        "code": "method_not_allowed",
    }
    assert problem["title"]


@pytest.mark.parametrize("path", ["/views/{view}", "/forms/{form}", "/webhooks/{source}"])
def test_the_405_carries_the_same_headers_as_the_gateway_responses(template, api, path):
    origins = "https://a.example,https://b.example"
    parameters = resolved(
        template,
        mock_of(api, path)["responses"]["default"]["responseParameters"],
        AllowedOrigins=origins,
    )
    headers = {
        name.removeprefix("method.response.header."): value
        for name, value in parameters.items()
        if name != "method.response.header.Allow"
    }
    expected = resolved(
        template,
        api["GatewayResponses"]["MISSING_AUTHENTICATION_TOKEN"]["ResponseParameters"],
        AllowedOrigins=origins,
    )["Headers"]
    assert headers == expected
    # A method response must declare each header its integration response maps.
    declared = api["DefinitionBody"]["paths"][path][ANY_METHOD]["responses"]["405"]["headers"]
    assert set(declared) == {*headers, "Allow"}


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
        ("DeliverConcurrency", "1", False),
        ("DeliverConcurrency", "2", True),
        ("DeliverConcurrency", "50", True),
        ("DeliverConcurrency", "100", False),
        ("ActionConcurrency", "1", False),
        ("ActionConcurrency", "2", True),
        ("ActionConcurrency", "20", True),
        ("ActionConcurrency", "21", False),
        ("AlarmTopicArn", "", True),
        ("AlarmTopicArn", "arn:aws:sns:ap-northeast-1:123456789012:sekisho-alarms", True),
        ("AlarmTopicArn", "arn:aws:sqs:ap-northeast-1:123456789012:sekisho-alarms", False),
        ("AlarmTopicArn", "arn:aws:sns:ap-northeast-1:123456789012:*", False),
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


@pytest.mark.parametrize(
    ("output", "resource"),
    [
        ("DealsViewTokenSecretArn", "DealsViewTokenSecret"),
        ("SeminarAddTokenSecretArn", "SeminarAddTokenSecret"),
        ("SeminarEditTokenSecretArn", "SeminarEditTokenSecret"),
        ("SeminarPaymentViewTokenSecretArn", "SeminarPaymentViewTokenSecret"),
        ("AuditAddTokenSecretArn", "AuditAddTokenSecret"),
        ("IdempotencyTableName", "IdempotencyTable"),
        ("IntakeQueueUrl", "IntakeQueue"),
        ("IntakeDeadLetterQueueUrl", "IntakeDeadLetterQueue"),
        ("AttachmentBucketName", "AttachmentBucket"),
    ],
)
def test_outputs_name_what_an_operator_handles(template, output, resource):
    # Where to store a token, and which queue to redrive from.
    assert template["Outputs"][output]["Value"] == {"Ref": resource}


def test_the_kill_switch_parameter_starts_with_no_route_switched_off(resources):
    parameter = resources["RouteSwitchesParameter"]
    assert parameter["Type"] == "AWS::SSM::Parameter"
    assert parameter["Properties"]["Value"] == "none"
    assert parameter["Properties"]["Name"] == {
        "Fn::Sub": "/sekisho/${AWS::StackName}/switched-off-routes"
    }
