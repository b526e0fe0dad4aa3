"""template.yaml's rotation: RotateFunction's least privilege, who may invoke it, one
schedule per secret, the kind each secret declares, the alarms that say a rotation
failed (including the one that fails on purpose because nothing was staged), and the one
that says kintone must be given its renewed webhook URL token.

The template is read as written (cfn-lint's loader); where a parameter or a name decides
the result, the local stack's resolver evaluates it.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from devstack import cfn
from sekisho.rotation.kinds import HMAC, KINTONE_TOKEN, PARTNER_KEY, WEBHOOK_KEY, default_kinds
from tests.template_support import (
    REPO,
    action_secret_names,
    as_list,
    declared_secret_name,
    load_policy_yaml,
    load_template,
    of_type,
    resolved,
    secret_names,
    statements,
)

ROTATION_LIBRARY = REPO / "layers/sekisho/sekisho/rotation"
GUARD_HASH_KEY_SECRET = "sekisho/guard/hash-key"  # a secret's name, not a value
ROTATION_CALLS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]
# Calls the rotation library makes only from the local driver (moto cannot invoke a
# function, so `make rotate` turns rotation on itself), never from the Lambda.
LOCAL_DRIVER_ONLY = {"RotateSecret"}
FAILURE_EVENTS = {"RotationFailed", "TestRotationFailed", "RotationAbandoned"}
TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:sekisho-alarms"
DAY = 86_400
# The events Secrets Manager hands to EventBridge, as CloudTrail records them. The
# template's secrets are named under the stack's prefix, locally the stack's name.
SECRET_ARN_BASE = f"arn:aws:secretsmanager:{cfn.REGION}:{cfn.ACCOUNT_ID}:secret:"
STACK_SECRET_ARN_BASE = f"{SECRET_ARN_BASE}{cfn.STACK_NAME}/"
SEKISHO_SECRET_ARN = STACK_SECRET_ARN_BASE + "sekisho/kintone/deals-view-Ab12Cd"
OTHER_SECRET_ARN = SECRET_ARN_BASE + "billing/db-Zz99Yy"
# The same declared secret of another sekisho stack in the account.
OTHER_STACKS_SECRET_ARN = SECRET_ARN_BASE + "sekisho-prod/sekisho/kintone/deals-view-Ab12Cd"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def function(resources) -> Mapping[str, Any]:
    return resources["RotateFunction"]["Properties"]


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return load_policy_yaml()


def stored_kind(secret: Mapping[str, Any]) -> str | None:
    """The kind a secret holds from the start: its placeholder's, or its generator's."""
    props = secret["Properties"]
    if "SecretString" in props:
        return json.loads(props["SecretString"]).get("kind")
    return json.loads(props["GenerateSecretString"]["SecretStringTemplate"]).get("kind")


# ---------------------------------------------------------------- the function


def test_rotate_function_has_an_explicit_name_its_role_can_name_without_a_cycle(template, function):
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-rotate"}
    (statement,) = statements(function)
    allowed = statement["Condition"]["StringEquals"][
        "secretsmanager:resource/AllowRotationLambdaArn"
    ]
    # The role spells the ARN out from the name instead of !GetAtt, which would need the
    # function (and so the role) to exist first.
    assert "Fn::GetAtt" not in json.dumps(allowed)
    assert resolved(template, allowed) == resolved(
        template, {"Fn::GetAtt": ["RotateFunction", "Arn"]}
    )


def test_rotate_function_is_a_thin_handler_only_secrets_manager_invokes(function):
    assert (function["CodeUri"], function["Handler"]) == ("functions/rotate/", "app.lambda_handler")
    assert "Events" not in function
    assert (REPO / function["CodeUri"] / "app.py").is_file()


def test_rotate_function_has_time_for_a_kintone_probe(function):
    # Up to about six kintone requests with the new token, each with its own timeouts.
    assert function["Timeout"] == 60
    assert function["MemorySize"] == 512


def test_rotate_function_logs_to_its_own_group(function, resources):
    group = resources[function["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/sekisho/${AWS::StackName}/rotate"}
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_rotate_function_reads_the_bundled_policy_and_the_global_kintone_url(template, function):
    # The policy says what each token may do: it must be the layer's, as for every function.
    assert "Environment" not in function
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["KINTONE_BASE_URL"] == {"Ref": "KintoneBaseUrl"}
    assert "SEKISHO_POLICY" not in globals_env


# ---------------------------------------------------------------- its role


def test_the_role_rotates_exactly_every_secret_of_the_template(function, resources, policy):
    (statement,) = statements(function)
    names = secret_names(resources)
    granted = []
    for resource in as_list(statement["Resource"]):
        assert set(resource) == {"Ref"}, f"secret granted by pattern: {resource!r}"
        granted.append(resource["Ref"])
    assert sorted(granted) == sorted(names)
    # Cross-check with the policy: every secret it names, and the guard's key.
    named = {view["token_secret"] for view in policy["views"].values()}
    named |= {form["token_secret"] for form in policy["forms"].values()}
    for hook in policy["webhooks"].values():
        named.add(hook["secret"])
        if hook.get("refetch"):
            named.add(hook["refetch"]["token_secret"])
    named |= action_secret_names(policy)
    for realm in policy["realms"].values():
        named |= {realm["token_secret"], realm["key_secret"]}
    named |= {
        form["editable"]["token_secret"] for form in policy["forms"].values() if "editable" in form
    }
    named |= {partner["key_secret"] for partner in (policy.get("partners") or {}).values()}
    assert {names[logical_id] for logical_id in granted} == named | {GUARD_HASH_KEY_SECRET}


def test_the_role_grants_only_the_four_calls_of_the_rotation_steps(function):
    (statement,) = statements(function)
    assert statement["Effect"] == "Allow"
    assert sorted(as_list(statement["Action"])) == ROTATION_CALLS
    assert "NotAction" not in statement
    assert "NotResource" not in statement
    assert "*" not in json.dumps(statement["Resource"])


def test_the_role_reaches_a_secret_only_while_it_names_this_function_for_rotation(function):
    (statement,) = statements(function)
    assert statement["Condition"] == {
        "StringEquals": {
            "secretsmanager:resource/AllowRotationLambdaArn": {
                "Fn::Sub": (
                    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
                    "function:${AWS::StackName}-rotate"
                )
            }
        }
    }


def test_the_role_gets_its_permissions_only_from_inline_statements(function):
    assert "Role" not in function
    for entry in as_list(function["Policies"]):
        assert isinstance(entry, Mapping), f"managed policy {entry!r}"
        assert set(entry) <= {"Version", "Statement"}, f"policy template {entry!r}"


def secrets_manager_calls(package: Path) -> set[str]:
    """The Secrets Manager operations a package's code calls, by their API names."""
    model = botocore.session.get_session().get_service_model("secretsmanager")
    by_method = {xform_name(name): name for name in model.operation_names}
    called = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in by_method:
                called.add(by_method[node.attr])
    return called


def test_the_role_grants_what_the_rotation_library_calls_and_nothing_more(function):
    (statement,) = statements(function)
    granted = {action.split(":", 1)[1] for action in as_list(statement["Action"])}
    called = secrets_manager_calls(ROTATION_LIBRARY)
    assert called, "the rotation library should call Secrets Manager"
    # GetRandomPassword, should the library start calling it, needs a statement on "*".
    assert granted == called - LOCAL_DRIVER_ONLY


def test_the_call_scanner_finds_a_client_call_in_code(tmp_path):
    (tmp_path / "mod.py").write_text(
        "def f(client):\n    client.get_random_password(PasswordLength=64)\n", encoding="utf-8"
    )
    assert secrets_manager_calls(tmp_path) == {"GetRandomPassword"}


# ---------------------------------------------------------------- who may invoke it


def test_only_secrets_manager_of_this_account_may_invoke_the_function(resources):
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": ["RotateFunction", "Arn"]}
    ]
    assert permissions == [
        {
            "FunctionName": {"Fn::GetAtt": ["RotateFunction", "Arn"]},
            "Action": "lambda:InvokeFunction",
            "Principal": "secretsmanager.amazonaws.com",
            # Another account's Secrets Manager cannot use it as a confused deputy.
            "SourceAccount": {"Ref": "AWS::AccountId"},
        }
    ]


# ---------------------------------------------------------------- schedules


def schedules(resources: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return of_type(resources, "AWS::SecretsManager::RotationSchedule")


def test_every_secret_has_exactly_one_rotation_schedule(resources):
    rotated = Counter(s["Properties"]["SecretId"]["Ref"] for s in schedules(resources).values())
    assert rotated == Counter(list(secret_names(resources)))


def test_every_schedule_is_rotated_by_the_function_on_the_parameter_without_rotating_on_deploy(
    resources,
):
    assert schedules(resources)
    for name, schedule in schedules(resources).items():
        props = schedule["Properties"]
        assert props["RotationLambdaARN"] == {"Fn::GetAtt": ["RotateFunction", "Arn"]}, name
        # A deploy must not rotate: a kintone token with nothing staged would fail at once.
        assert props["RotateImmediatelyOnUpdate"] is False, name
        assert props["RotationRules"] == {
            "ScheduleExpression": {"Ref": "RotationSchedule"},
            "Duration": "3h",
        }, name
        # Secrets Manager checks it may invoke the function when the schedule is set.
        assert as_list(schedule["DependsOn"]) == ["RotateFunctionPermission"], name


def test_the_default_schedule_is_every_third_month_in_a_window_inside_the_utc_day(
    template, resources
):
    spec = template["Parameters"]["RotationSchedule"]
    assert spec["Type"] == "String"
    assert spec["Default"] == "cron(0 3 1 */3 ? *)"
    minute, hour, day, month, weekday, year = spec["Default"][5:-1].split(" ")
    assert (minute, hour, day, month, weekday, year) == ("0", "3", "1", "*/3", "?", "*")
    (duration,) = {
        s["Properties"]["RotationRules"]["Duration"] for s in schedules(resources).values()
    }
    # Secrets Manager refuses a window that crosses midnight UTC.
    assert int(hour) + int(duration.removesuffix("h")) <= 24


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("cron(0 3 1 */3 ? *)", True),
        ("cron(0 16 1,15 * ? *)", True),
        ("cron(0 8 ? * MON-FRI *)", True),
        ("cron(0 0 L * ? *)", True),
        ("rate(90 days)", True),
        ("rate(1 days)", True),
        ("rate(9999 days)", True),
        ("rate(12 hours)", True),
        ("rate(4 hours)", True),
        ("rate(9 hours)", True),
        ("rate(10 hours)", True),
        ("rate(9999 hours)", True),
        # Secrets Manager rotates at most every 4 hours: the stack would fail to deploy.
        ("rate(1 hours)", False),
        ("rate(2 hours)", False),
        ("rate(3 hours)", False),
        ("rate(0 hours)", False),
        ("rate(04 hours)", False),
        ("rate(10000 hours)", False),
        ("rate(0 days)", False),
        ("rate(01 days)", False),
        ("rate(10000 days)", False),
        ("rate(4 hour)", False),
        ("rate(90 minutes)", False),
        ("cron(0 3 1 */3 ?)", False),
        ("0 3 1 */3 ? *", False),
        ("cron(0 3 1 */3 ? *) ", False),
        ("90", False),
        ("", False),
    ],
)
def test_the_schedule_parameter_takes_only_secrets_manager_expressions(template, value, accepted):
    pattern = template["Parameters"]["RotationSchedule"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted


def test_the_schedule_parameter_says_a_rotation_with_nothing_staged_fails_on_purpose(template):
    description = " ".join(template["Parameters"]["RotationSchedule"]["Description"].split())
    assert "sekisho token stage" in description
    assert "fails on purpose" in description
    assert "alarm" in description


# ---------------------------------------------------------------- the kind of each secret


def expected_kinds(policy: Mapping[str, Any]) -> dict[str, str]:
    """The kind each secret name must hold, from what the policy uses it for."""
    kinds = {GUARD_HASH_KEY_SECRET: HMAC}
    for section in ("views", "forms"):
        for route in policy[section].values():
            kinds[route["token_secret"]] = KINTONE_TOKEN
    for hook in policy["webhooks"].values():
        # kintone signs nothing: sekisho issues its URL token; other senders issue theirs.
        kinds[hook["secret"]] = HMAC if hook["scheme"] == "kintone" else WEBHOOK_KEY
        if hook.get("refetch"):
            kinds[hook["refetch"]["token_secret"]] = KINTONE_TOKEN
    # The actions' write and read tokens: staged by an operator, proved by testSecret.
    kinds |= dict.fromkeys(action_secret_names(policy), KINTONE_TOKEN)
    # A realm's people token and the forms' edit tokens are staged; a realm's key is made.
    for realm in policy["realms"].values():
        kinds[realm["token_secret"]] = KINTONE_TOKEN
        kinds[realm["key_secret"]] = HMAC
    for form in policy["forms"].values():
        if "editable" in form:
            kinds[form["editable"]["token_secret"]] = KINTONE_TOKEN
    # A partner's key is sekisho's to make and the partner's to be handed.
    for partner in (policy.get("partners") or {}).values():
        kinds[partner["key_secret"]] = PARTNER_KEY
    return kinds


def test_every_secret_starts_with_the_kind_its_use_calls_for(resources, policy):
    held = {
        declared_secret_name(secret["Properties"]["Name"]): stored_kind(secret)
        for secret in of_type(resources, "AWS::SecretsManager::Secret").values()
    }
    assert held == expected_kinds(policy)


def test_every_kind_the_template_ships_is_one_the_rotation_function_rotates(resources):
    known = set(default_kinds(lambda name, value: ()))
    for name, secret in of_type(resources, "AWS::SecretsManager::Secret").items():
        assert stored_kind(secret) in known, name


def test_only_generated_keys_are_generated_by_the_template(resources):
    for name, secret in of_type(resources, "AWS::SecretsManager::Secret").items():
        generated = "GenerateSecretString" in secret["Properties"]
        assert generated is (stored_kind(secret) in (HMAC, PARTNER_KEY)), name


def test_staged_secrets_tell_the_operator_to_stage_the_next_value(resources):
    for name, secret in of_type(resources, "AWS::SecretsManager::Secret").items():
        if stored_kind(secret) in (KINTONE_TOKEN, WEBHOOK_KEY):
            description = " ".join(secret["Properties"]["Description"].split())
            declared = declared_secret_name(secret["Properties"]["Name"])
            assert f"sekisho token stage {declared}" in description, name


# ---------------------------------------------------------------- failures


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching, for the parts a rule here uses: literal lists, prefix, nesting."""
    if isinstance(pattern, Mapping):
        return isinstance(event, Mapping) and all(
            key in event and matches(sub, event[key]) for key, sub in pattern.items()
        )
    return any(
        str(event).startswith(option["prefix"]) if isinstance(option, Mapping) else event == option
        for option in pattern
    )


def cloudtrail_event(name: str, secret_arn: str, detail_type: str) -> dict[str, Any]:
    return {
        "source": "aws.secretsmanager",
        "detail-type": detail_type,
        "detail": {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "errorMessage": "Error when executing lambda during createSecret step",
            "additionalEventData": {"SecretId": secret_arn},
            "eventType": "AwsServiceEvent",
        },
    }


SERVICE_EVENT = "AWS Service Event via CloudTrail"


@pytest.mark.parametrize(
    ("event", "raises_the_alarm"),
    [
        (cloudtrail_event("RotationFailed", SEKISHO_SECRET_ARN, SERVICE_EVENT), True),
        (cloudtrail_event("TestRotationFailed", SEKISHO_SECRET_ARN, SERVICE_EVENT), True),
        (cloudtrail_event("RotationAbandoned", SEKISHO_SECRET_ARN, SERVICE_EVENT), True),
        (cloudtrail_event("RotationSucceeded", SEKISHO_SECRET_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationStarted", SEKISHO_SECRET_ARN, SERVICE_EVENT), False),
        # Another team's secret in the same account is not sekisho's alarm.
        (cloudtrail_event("RotationFailed", OTHER_SECRET_ARN, SERVICE_EVENT), False),
        # Nor is another sekisho stack's: each stack alarms on its own secrets.
        (cloudtrail_event("RotationFailed", OTHER_STACKS_SECRET_ARN, SERVICE_EVENT), False),
        (
            cloudtrail_event("RotationFailed", SEKISHO_SECRET_ARN, "AWS API Call via CloudTrail"),
            False,
        ),
        ({"source": "aws.secretsmanager", "detail-type": SERVICE_EVENT, "detail": {}}, False),
    ],
)
def test_the_rule_matches_failed_rotations_of_sekishos_secrets_only(
    template, resources, event, raises_the_alarm
):
    pattern = resolved(template, resources["RotationFailureRule"]["Properties"]["EventPattern"])
    assert matches(pattern, event) is raises_the_alarm


def test_the_rule_pattern_names_the_documented_rotation_failure_events(resources):
    pattern = resources["RotationFailureRule"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.secretsmanager"]
    assert pattern["detail-type"] == [SERVICE_EVENT]
    assert pattern["detail"]["eventSource"] == ["secretsmanager.amazonaws.com"]
    assert set(pattern["detail"]["eventName"]) == FAILURE_EVENTS
    assert resources["RotationFailureRule"]["Properties"]["State"] == "ENABLED"


def test_the_rules_secret_prefix_covers_every_secret_of_the_template(template, resources):
    pattern = resolved(template, resources["RotationFailureRule"]["Properties"]["EventPattern"])
    ((prefix,),) = [
        [option["prefix"] for option in pattern["detail"]["additionalEventData"]["SecretId"]]
    ]
    for name in secret_names(resources).values():
        assert (STACK_SECRET_ARN_BASE + name + "-Ab12Cd").startswith(prefix), name


@pytest.mark.parametrize(
    ("topic", "targets"),
    [("", None), (TOPIC, [{"Id": "AlarmTopic", "Arn": TOPIC}])],
)
def test_the_rule_sends_the_event_to_the_topic_only_when_one_is_given(
    template, resources, topic, targets
):
    rule = resolved(template, resources["RotationFailureRule"]["Properties"], AlarmTopicArn=topic)
    assert rule.get("Targets") == targets


def assert_counts_every_match_of(alarm: Mapping[str, Any], rule: str) -> None:
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "TriggeredRules")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule}}]
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
    )
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)
    # EventBridge reports nothing until the rule matches: no data is nothing to say.
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(("topic", "actions"), [("", None), (TOPIC, [TOPIC])])
def test_a_failed_rotation_raises_an_alarm_with_or_without_a_topic(
    template, resources, topic, actions
):
    alarm = resources["RotationFailureAlarm"]
    # Without a topic the alarm is the only sign; with one it is a second to the rule's.
    assert "Condition" not in alarm
    assert_counts_every_match_of(alarm["Properties"], "RotationFailureRule")
    props = resolved(template, alarm["Properties"], AlarmTopicArn=topic)
    assert props.get("AlarmActions") == actions
    # The metric falls silent after a failure, which does not mean anyone fixed it.
    assert "OKActions" not in props


def test_a_failing_rotation_step_raises_an_alarm_of_its_own(resources):
    props = resources["RotateFunctionErrorsAlarm"]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Errors")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RotateFunction"}}]
    assert (props["Statistic"], props["ComparisonOperator"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
    )
    assert (props["Threshold"], props["EvaluationPeriods"]) == (1, 1)
    assert props["TreatMissingData"] == "notBreaching"
    # The reminder to stage a new token is this alarm's first job.
    assert "sekisho token stage" in " ".join(props["AlarmDescription"].split())


@pytest.mark.parametrize(("topic", "actions"), [("", None), (TOPIC, [TOPIC])])
def test_the_errors_alarm_notifies_the_topic_only_when_one_is_given_and_never_says_ok(
    template, resources, topic, actions
):
    alarm = resolved(
        template, resources["RotateFunctionErrorsAlarm"]["Properties"], AlarmTopicArn=topic
    )
    assert alarm.get("AlarmActions") == actions
    # The metric falls silent after a failure, which does not mean anyone fixed it.
    assert "OKActions" not in alarm


# ---------------------------------------------------------------- a renewed kintone URL token

KINTONE_SOURCE = "demo-kintone"
KINTONE_TOKEN_ARN = STACK_SECRET_ARN_BASE + "sekisho/webhook/demo-kintone-Ab12Cd"
STRIPE_KEY_ARN = STACK_SECRET_ARN_BASE + "sekisho/webhook/demo-stripe-Ab12Cd"
OTHER_STACKS_KINTONE_TOKEN_ARN = (
    SECRET_ARN_BASE + "sekisho-prod/sekisho/webhook/demo-kintone-Ab12Cd"
)


@pytest.fixture(scope="module")
def kintone_source(policy) -> Mapping[str, Any]:
    source = policy["webhooks"][KINTONE_SOURCE]
    assert source["scheme"] == "kintone"
    return source


def grace_days(source: Mapping[str, Any]) -> int:
    days, rest = divmod(source["grace_seconds"], DAY)
    assert rest == 0, "a grace period of whole days, as the alarm tells it"
    return days


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("event", "announced"),
    [
        (cloudtrail_event("RotationSucceeded", KINTONE_TOKEN_ARN, SERVICE_EVENT), True),
        # A deploy tests the configuration on a copy: the token kintone holds is unchanged.
        (cloudtrail_event("TestRotationSucceeded", KINTONE_TOKEN_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationStarted", KINTONE_TOKEN_ARN, SERVICE_EVENT), False),
        # A failure is the failure rule's: the old token is still current.
        (cloudtrail_event("RotationFailed", KINTONE_TOKEN_ARN, SERVICE_EVENT), False),
        # Other secrets renew without anyone touching kintone's webhook settings.
        (cloudtrail_event("RotationSucceeded", SEKISHO_SECRET_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationSucceeded", STRIPE_KEY_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationSucceeded", OTHER_SECRET_ARN, SERVICE_EVENT), False),
        # Another stack's kintone URL token is that stack's to announce.
        (
            cloudtrail_event("RotationSucceeded", OTHER_STACKS_KINTONE_TOKEN_ARN, SERVICE_EVENT),
            False,
        ),
        (
            cloudtrail_event("RotationSucceeded", KINTONE_TOKEN_ARN, "AWS API Call via CloudTrail"),
            False,
        ),
    ],
)
def test_the_renewal_rule_matches_only_a_completed_rotation_of_the_kintone_url_token(
    template, resources, event, announced
):
    rule = resources["KintoneWebhookTokenRenewedRule"]["Properties"]
    assert rule["State"] == "ENABLED"
    assert matches(resolved(template, rule["EventPattern"]), event) is announced


def test_the_renewal_rule_names_the_secret_the_kintone_source_uses_and_no_other(
    template, resources, kintone_source
):
    pattern = resolved(
        template, resources["KintoneWebhookTokenRenewedRule"]["Properties"]["EventPattern"]
    )
    (option,) = pattern["detail"]["additionalEventData"]["SecretId"]
    # Secrets Manager ends the ARN with "-" and six random characters.
    assert option == {"prefix": STACK_SECRET_ARN_BASE + kintone_source["secret"] + "-"}
    covered = [
        name
        for name in secret_names(resources).values()
        if (STACK_SECRET_ARN_BASE + name + "-Ab12Cd").startswith(option["prefix"])
    ]
    assert covered == [kintone_source["secret"]]


def test_the_kintone_url_token_keeps_its_schedule(resources, kintone_source):
    (logical_id,) = [k for k, v in secret_names(resources).items() if v == kintone_source["secret"]]
    assert [
        name
        for name, schedule in schedules(resources).items()
        if schedule["Properties"]["SecretId"] == {"Ref": logical_id}
    ] == ["DemoKintoneWebhookRotation"]


@pytest.mark.parametrize(
    ("topic", "targets"),
    [("", None), (TOPIC, [{"Id": "AlarmTopic", "Arn": TOPIC}])],
)
def test_the_renewal_rule_sends_the_event_to_the_topic_only_when_one_is_given(
    template, resources, topic, targets
):
    rule = resolved(
        template, resources["KintoneWebhookTokenRenewedRule"]["Properties"], AlarmTopicArn=topic
    )
    assert rule.get("Targets") == targets


@pytest.mark.parametrize(("topic", "actions"), [("", None), (TOPIC, [TOPIC])])
def test_a_renewed_kintone_url_token_raises_an_alarm_with_or_without_a_topic(
    template, resources, topic, actions
):
    alarm = resources["KintoneWebhookTokenRenewedAlarm"]
    assert "Condition" not in alarm
    assert_counts_every_match_of(alarm["Properties"], "KintoneWebhookTokenRenewedRule")
    props = resolved(template, alarm["Properties"], AlarmTopicArn=topic)
    assert props.get("AlarmActions") == actions
    # The metric falls silent long before anyone has updated kintone.
    assert "OKActions" not in props


def test_the_renewal_alarm_says_what_to_do_and_by_when(resources, kintone_source):
    description = flat(
        resources["KintoneWebhookTokenRenewedAlarm"]["Properties"]["AlarmDescription"]
    )
    assert kintone_source["secret"] in description
    assert "put the new URL into the kintone app's webhook settings" in description
    assert f"within {grace_days(kintone_source)} days" in description


def test_the_kintone_url_tokens_description_tells_of_the_alarm_and_the_deadline(
    resources, kintone_source
):
    (secret,) = [
        r["Properties"]
        for r in of_type(resources, "AWS::SecretsManager::Secret").values()
        if declared_secret_name(r["Properties"]["Name"]) == kintone_source["secret"]
    ]
    description = flat(secret["Description"])
    assert "KintoneWebhookTokenRenewedAlarm" in description
    assert f"within {grace_days(kintone_source)} days" in description


def test_outputs_name_the_rotation_function(template):
    assert template["Outputs"]["RotateFunctionArn"]["Value"] == {
        "Fn::GetAtt": ["RotateFunction", "Arn"]
    }


# ---------------------------------------------------------------- a renewed partner key

PARTNER_SECRET = "sekisho/partner/demo-erp"
PARTNER_KEY_ARN = STACK_SECRET_ARN_BASE + PARTNER_SECRET + "-Ab12Cd"
ANOTHER_PARTNER_KEY_ARN = STACK_SECRET_ARN_BASE + "sekisho/partner/booking-site-Zz99Yy"
OTHER_STACKS_PARTNER_KEY_ARN = SECRET_ARN_BASE + "sekisho-prod/" + PARTNER_SECRET + "-Ab12Cd"
# The policy's default grace for a partner's previous key.
DEFAULT_PARTNER_GRACE = 7 * DAY
PARTNER_DEALS_VIEW_TOKEN = "sekisho/kintone/partner-deals-view"


def secret_named(resources: Mapping[str, Any], declared: str) -> tuple[str, Mapping[str, Any]]:
    (found,) = [
        (logical_id, secret["Properties"])
        for logical_id, secret in of_type(resources, "AWS::SecretsManager::Secret").items()
        if declared_secret_name(secret["Properties"]["Name"]) == declared
    ]
    return found


def alarm_days(description: str) -> int:
    (days,) = re.findall(r"within (\d+) days", flat(description))
    return int(days)


def test_the_partner_key_is_generated_as_43_letters_and_digits_of_its_kind(resources):
    logical_id, secret = secret_named(resources, PARTNER_SECRET)
    assert logical_id == "DemoErpPartnerKeySecret"
    assert "SecretString" not in secret
    # 43 of 62 letters and digits read as base64url are 32 bytes (and 2 bits): the key.
    assert secret["GenerateSecretString"] == {
        "SecretStringTemplate": '{"kind": "partner-key"}',
        "GenerateStringKey": "secret",
        "PasswordLength": 43,
        "ExcludePunctuation": True,
    }


def test_the_partner_keys_description_says_who_gets_it_and_what_to_do_after_a_rotation(
    resources,
):
    _, secret = secret_named(resources, PARTNER_SECRET)
    description = flat(secret["Description"])
    assert '{"kind": "partner-key", "secret": "<base64url of 32 random bytes>"}' in description
    assert "hands it to the partner by a channel outside sekisho" in description
    assert "PartnerKeyRenewedAlarm" in description
    assert "aws secretsmanager get-secret-value" in description
    assert f"within {alarm_days(description)} days" in description


def test_the_partner_key_and_the_partner_view_token_each_keep_a_schedule(resources):
    for declared, schedule in (
        (PARTNER_SECRET, "DemoErpPartnerKeyRotation"),
        (PARTNER_DEALS_VIEW_TOKEN, "PartnerDealsViewTokenRotation"),
    ):
        logical_id, _ = secret_named(resources, declared)
        assert [
            name
            for name, found in schedules(resources).items()
            if found["Properties"]["SecretId"] == {"Ref": logical_id}
        ] == [schedule]


def test_the_rotation_role_reaches_the_partner_key_and_the_partner_view_token(function, resources):
    (statement,) = statements(function)
    granted = {resource["Ref"] for resource in as_list(statement["Resource"])}
    for declared in (PARTNER_SECRET, PARTNER_DEALS_VIEW_TOKEN):
        logical_id, _ = secret_named(resources, declared)
        assert logical_id in granted


def test_the_partner_view_token_is_an_empty_view_token_placeholder_kept_on_delete(resources):
    logical_id, secret = secret_named(resources, PARTNER_DEALS_VIEW_TOKEN)
    resource = resources[logical_id]
    assert json.loads(secret["SecretString"]) == {"kind": KINTONE_TOKEN, "token": ""}
    # It holds a token an operator made by hand in kintone.
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "record VIEW permission only, on the deals app" in flat(secret["Description"])


@pytest.mark.parametrize(
    ("event", "announced"),
    [
        (cloudtrail_event("RotationSucceeded", PARTNER_KEY_ARN, SERVICE_EVENT), True),
        # Every partner's key is handed over by someone: one rule for them all.
        (cloudtrail_event("RotationSucceeded", ANOTHER_PARTNER_KEY_ARN, SERVICE_EVENT), True),
        # A deploy's configuration test changes nothing the partner holds.
        (cloudtrail_event("TestRotationSucceeded", PARTNER_KEY_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationStarted", PARTNER_KEY_ARN, SERVICE_EVENT), False),
        # A failure is the failure rule's: the old key is still current.
        (cloudtrail_event("RotationFailed", PARTNER_KEY_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationSucceeded", KINTONE_TOKEN_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationSucceeded", SEKISHO_SECRET_ARN, SERVICE_EVENT), False),
        (cloudtrail_event("RotationSucceeded", OTHER_SECRET_ARN, SERVICE_EVENT), False),
        # Another stack's partners are that stack's to tell.
        (
            cloudtrail_event("RotationSucceeded", OTHER_STACKS_PARTNER_KEY_ARN, SERVICE_EVENT),
            False,
        ),
        (
            cloudtrail_event("RotationSucceeded", PARTNER_KEY_ARN, "AWS API Call via CloudTrail"),
            False,
        ),
    ],
)
def test_the_partner_key_rule_matches_only_a_completed_rotation_of_a_partner_key(
    template, resources, event, announced
):
    rule = resources["PartnerKeyRenewedRule"]["Properties"]
    assert rule["State"] == "ENABLED"
    assert matches(resolved(template, rule["EventPattern"]), event) is announced


def test_the_partner_key_rule_covers_the_partner_keys_of_the_template_and_nothing_else(
    template, resources
):
    pattern = resolved(template, resources["PartnerKeyRenewedRule"]["Properties"]["EventPattern"])
    (option,) = pattern["detail"]["additionalEventData"]["SecretId"]
    covered = {
        name
        for name in secret_names(resources).values()
        if (STACK_SECRET_ARN_BASE + name + "-Ab12Cd").startswith(option["prefix"])
    }
    held = {
        declared_secret_name(secret["Properties"]["Name"])
        for secret in of_type(resources, "AWS::SecretsManager::Secret").values()
        if stored_kind(secret) == PARTNER_KEY
    }
    assert covered == held
    assert PARTNER_SECRET in held


@pytest.mark.parametrize(
    ("topic", "targets"),
    [("", None), (TOPIC, [{"Id": "AlarmTopic", "Arn": TOPIC}])],
)
def test_the_partner_key_rule_sends_the_event_to_the_topic_only_when_one_is_given(
    template, resources, topic, targets
):
    rule = resolved(template, resources["PartnerKeyRenewedRule"]["Properties"], AlarmTopicArn=topic)
    assert rule.get("Targets") == targets


@pytest.mark.parametrize(("topic", "actions"), [("", None), (TOPIC, [TOPIC])])
def test_a_renewed_partner_key_raises_an_alarm_with_or_without_a_topic(
    template, resources, topic, actions
):
    alarm = resources["PartnerKeyRenewedAlarm"]
    assert "Condition" not in alarm
    assert_counts_every_match_of(alarm["Properties"], "PartnerKeyRenewedRule")
    props = resolved(template, alarm["Properties"], AlarmTopicArn=topic)
    assert props.get("AlarmActions") == actions
    # The metric falls silent long before the partner has the new key.
    assert "OKActions" not in props


def test_the_partner_key_alarm_gives_a_deadline_no_partner_s_grace_ends_before(resources, policy):
    description = flat(resources["PartnerKeyRenewedAlarm"]["Properties"]["AlarmDescription"])
    assert "hand it to the partner" in description
    assert "aws secretsmanager get-secret-value" in description
    # Past the grace the partner gets the one refusal of every bad signature.
    assert "401 signature_invalid" in description
    days = alarm_days(description)
    graces = [
        partner.get("grace_seconds", DEFAULT_PARTNER_GRACE)
        for partner in (policy.get("partners") or {}).values()
    ]
    assert days * DAY <= min(graces, default=DEFAULT_PARTNER_GRACE)
    _, secret = secret_named(resources, PARTNER_SECRET)
    assert alarm_days(secret["Description"]) == days
