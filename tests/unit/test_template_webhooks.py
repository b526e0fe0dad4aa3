"""template.yaml's webhook receipt: WebhookFunction's least privilege, WebhookQueue and its
alarms, the webhook secrets, and IP allowlists that keep browsers out without locking
webhook senders out; and what acts on the events: ActionFunction's least privilege, its
tokens and its alarm.

The template is read as written (cfn-lint's loader); where a parameter decides the result,
the local stack's resolver evaluates it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

# The backoff DeliverFunction and ActionFunction share: the redrive below is counted with it.
from sekisho.redelivery import backoff_seconds
from tests.template_support import (
    REPO,
    action_secret_names,
    as_list,
    declared_secret_name,
    load_policy_yaml,
    load_template,
    resolved,
    secret_names,
    statements,
)

DAY = 86_400
HOUR = 3_600
SQS_MAX_MESSAGE_BYTES = 256 * 1024
DEDUPE_KEY_PREFIX = "sekisho.webhook#"
LEDGER_KEY_PREFIX = "sekisho.action#"
# Each function's records in the GuardTable, which it shares with the guard's counters.
GUARD_TABLE_KEY_PREFIXES = {
    "WebhookFunction": DEDUPE_KEY_PREFIX,
    "ActionFunction": LEDGER_KEY_PREFIX,
}
# kintone's scheduled maintenance answers 503 for about this long.
SHORT_MAINTENANCE_SECONDS = 60
# The kintone permission each demo action token holds, and nothing else. The policy names
# them (see test_the_action_tokens_are_the_ones_the_policys_actions_name).
ACTION_TOKENS = {
    "sekisho/kintone/seminar-edit": "EDIT",
    "sekisho/kintone/seminar-payment-view": "VIEW",
    "sekisho/kintone/audit-add": "ADD",
}
OPERATION_PERMISSIONS = {"add": "ADD", "update": "EDIT"}
TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:ops"
BROWSER_ROUTES = [
    "execute-api:/*/*/views/*",
    "execute-api:/*/*/forms/*",
    "execute-api:/*/*/sessions/*",
]
KINTONE_SOURCE = "demo-kintone"
# The source's path as sent, and with a trailing slash (or anything after one), which API
# Gateway routes to the same source.
KINTONE_ROUTES = [
    "execute-api:/*/POST/webhooks/demo-kintone",
    "execute-api:/*/POST/webhooks/demo-kintone/*",
]
# Names, never values: where each demo source's key lives, and the shape stored there.
# "kind" tells the rotation function how to rotate it: staged by an operator.
SENDER_ISSUED = {
    "sekisho/webhook/demo-standard": {"kind": "webhook-key", "secret": ""},
    "sekisho/webhook/demo-stripe": {"kind": "webhook-key", "secret": ""},
    "sekisho/webhook/demo-github": {"kind": "webhook-key", "secret": ""},
    "sekisho/webhook/demo-box": {"kind": "webhook-key", "primary": "", "secondary": ""},
    "sekisho/webhook/demo-slack": {"kind": "webhook-key", "secret": ""},
}
KINTONE_SOURCE_SECRET = "sekisho/webhook/demo-kintone"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def function(resources) -> Mapping[str, Any]:
    return resources["WebhookFunction"]["Properties"]


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return load_policy_yaml()


@pytest.fixture(scope="module")
def action(resources) -> Mapping[str, Any]:
    return resources["ActionFunction"]["Properties"]


def touching(function: Mapping[str, Any], service: str) -> list[Mapping[str, Any]]:
    return [
        s
        for s in statements(function)
        if any(
            str(a).lower().startswith(service)
            for a in as_list(s.get("Action", [])) + as_list(s.get("NotAction", []))
        )
    ]


# ---------------------------------------------------------------- the function


def test_webhook_function_is_a_thin_handler_answering_only_post_webhooks_source(function):
    assert (function["CodeUri"], function["Handler"]) == (
        "functions/webhook/",
        "app.lambda_handler",
    )
    routes = [
        (e["Properties"]["Path"], e["Properties"]["Method"], e["Properties"]["RestApiId"])
        for e in function["Events"].values()
    ]
    # No preflight: no browser calls it.
    assert routes == [("/webhooks/{source}", "post", {"Ref": "Api"})]


def test_webhook_function_answers_well_inside_the_senders_patience(function):
    assert function["Timeout"] == 12
    assert function["MemorySize"] == 768  # make bench's first-response sizing


def test_webhook_function_logs_to_its_own_group(function, resources):
    group = resources[function["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/sekisho/${AWS::StackName}/webhook"}
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_webhook_environment_names_only_the_table_queue_body_cap_and_switches(function):
    assert function["Environment"]["Variables"] == {
        "GUARD_TABLE": {"Ref": "GuardTable"},
        "WEBHOOK_QUEUE_URL": {"Ref": "WebhookQueue"},
        "MAX_BODY_BYTES": "196608",
        "ROUTE_SWITCHES_PARAMETER": {"Ref": "RouteSwitchesParameter"},
    }


def test_the_body_cap_leaves_room_for_the_queue_messages_envelope(function):
    cap = int(function["Environment"]["Variables"]["MAX_BODY_BYTES"])
    assert 64 * 1024 <= cap <= SQS_MAX_MESSAGE_BYTES - 64 * 1024


def readable_by_name(function: dict, resources: dict) -> set[str]:
    """The secrets a function's one secrets statement names, each by !Ref (no pattern)."""
    names = secret_names(resources)
    (statement,) = touching(function, "secretsmanager:")
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
    assert "Condition" not in statement
    readable = set()
    for resource in as_list(statement["Resource"]):
        assert set(resource) == {"Ref"}, f"secret granted by pattern: {resource!r}"
        readable.add(names[resource["Ref"]])
    return readable


def test_webhook_function_reads_exactly_the_sources_secrets_and_the_refetch_token(
    function, resources, policy
):
    readable = readable_by_name(function, resources)
    refetch = policy["webhooks"]["demo-kintone"]["refetch"]["token_secret"]
    assert readable == {*SENDER_ISSUED, KINTONE_SOURCE_SECRET, refetch}


def test_webhook_function_holds_no_token_that_writes_to_kintone(function, resources):
    names = secret_names(resources)
    (statement,) = touching(function, "secretsmanager:")
    readable = {names[r["Ref"]] for r in as_list(statement["Resource"])}
    assert not [name for name in readable if re.search(r"-(add|edit|delete)$", name)]
    assert "sekisho/guard/hash-key" not in readable


@pytest.mark.parametrize(("function_name", "prefix"), GUARD_TABLE_KEY_PREFIXES.items())
def test_each_function_touches_only_its_own_records_of_the_guard_table(
    resources, function_name, prefix
):
    (statement,) = touching(resources[function_name]["Properties"], "dynamodb:")
    assert statement["Effect"] == "Allow"
    # What Powertools' idempotency layer calls: no Query, Scan or batch.
    assert sorted(as_list(statement["Action"])) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert statement["Resource"] == {"Fn::GetAtt": ["GuardTable", "Arn"]}
    # The lookup counters and lockouts share the table: this role cannot reach them.
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [prefix + "*"]}
    }


@pytest.mark.parametrize(
    ("function_name", "key", "allowed"),
    [
        ("WebhookFunction", "sekisho.webhook#5d41402abc4b2a76b9719d911017c592", True),
        ("WebhookFunction", "sekisho.webhook#", True),
        ("WebhookFunction", "guard#ip#203.0.113.7", False),
        ("WebhookFunction", "lockout#deal-status#abc", False),
        ("WebhookFunction", "sekisho.webhooks#x", False),
        ("WebhookFunction", "Sekisho.webhook#x", False),
        ("WebhookFunction", "x#sekisho.webhook#y", False),
        # Receipt cannot forget that an action was applied.
        ("WebhookFunction", "sekisho.action#5d41402abc4b2a76b9719d911017c592", False),
        ("ActionFunction", "sekisho.action#5d41402abc4b2a76b9719d911017c592", True),
        ("ActionFunction", "sekisho.action#", True),
        ("ActionFunction", "guard#ip#203.0.113.7", False),
        ("ActionFunction", "lockout#deal-status#abc", False),
        # Acting cannot make a sender's retry look like a new event.
        ("ActionFunction", "sekisho.webhook#5d41402abc4b2a76b9719d911017c592", False),
        ("ActionFunction", "sekisho.actions#x", False),
        ("ActionFunction", "Sekisho.action#x", False),
        ("ActionFunction", "x#sekisho.action#y", False),
    ],
)
def test_the_leading_keys_pattern_admits_only_the_functions_own_records(
    resources, function_name, key, allowed
):
    (statement,) = touching(resources[function_name]["Properties"], "dynamodb:")
    (pattern,) = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    # StringLike: `*` any run of characters, `?` one; case-sensitive.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    assert (re.fullmatch(regex, key) is not None) is allowed


def test_webhook_function_may_only_send_to_the_webhook_queue(function):
    (statement,) = touching(function, "sqs:")
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert statement["Resource"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}


def test_webhook_function_grants_no_wildcard_action_and_nothing_else(function):
    services = set()
    for statement in statements(function):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, action
            services.add(action.split(":")[0])
        for resource in as_list(statement["Resource"]):
            assert resource != "*"
    # ssm: the kill switch's one parameter (test_template.py checks which).
    assert services == {"secretsmanager", "dynamodb", "sqs", "ssm"}


def test_webhook_function_gets_its_permissions_only_from_inline_statements(function):
    assert "Role" not in function
    for entry in as_list(function["Policies"]):
        assert set(entry) <= {"Version", "Statement"}


# ---------------------------------------------------------------- the queue


@pytest.fixture(scope="module")
def queue(resources) -> Mapping[str, Any]:
    return resources["WebhookQueue"]["Properties"]


@pytest.fixture(scope="module")
def dead_letters(resources) -> Mapping[str, Any]:
    return resources["WebhookDeadLetterQueue"]["Properties"]


def test_webhook_queues_are_encrypted(queue, dead_letters):
    assert queue["SqsManagedSseEnabled"] is True
    assert dead_letters["SqsManagedSseEnabled"] is True


def test_verified_events_wait_as_long_as_sqs_allows(queue, dead_letters):
    assert queue["MessageRetentionPeriod"] == 14 * DAY
    assert dead_letters["MessageRetentionPeriod"] == 14 * DAY
    # Six of ActionFunction's timeouts and its batching window (test_template.py checks it).
    assert queue["VisibilityTimeout"] == 185
    assert "FifoQueue" not in queue  # dedupe is the GuardTable's, for days, not 5 minutes


def test_an_event_its_consumer_keeps_failing_goes_to_the_dead_letter_queue(queue):
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 300,
    }


def seconds_until_received(times: int, jitter: str) -> float:
    """How old a message that fails every time is when it is received for the `times`th
    time, with the consumers' backoff jittered to its shortest or its longest."""
    pick = {"shortest": lambda low, high: low, "longest": lambda low, high: high}[jitter]
    age = 0.0
    for _ in range(times - 1):
        age += backoff_seconds(age, pick)
    return age


@pytest.mark.parametrize("jitter", ["shortest", "longest"])
def test_the_redrive_outlasts_a_kintone_maintenance_and_ends_inside_the_retention(queue, jitter):
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    # Ten receives would be spent in well under a minute.
    assert seconds_until_received(10, jitter) < SHORT_MAINTENANCE_SECONDS
    # A message goes to the dead-letter queue after its last receive fails: between about
    # one and two and a half days, leaving most of its retention for a person to redrive.
    moved = seconds_until_received(receives, jitter)
    assert 0.9 * DAY <= moved <= 2.6 * DAY
    assert queue["MessageRetentionPeriod"] - moved >= 11 * DAY


def test_webhook_queues_refuse_plain_http(resources):
    policy = resources["WebhookQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "WebhookQueue"}, {"Ref": "WebhookDeadLetterQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "sqs:*",
    )
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["WebhookQueue", "Arn"]},
        {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]},
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def alarm_on(resources, queue: str, metric: str) -> Mapping[str, Any]:
    (alarm,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("MetricName") == metric
        and r["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    ]
    return alarm


def test_a_webhook_dead_letter_raises_an_alarm(resources):
    alarm = alarm_on(resources, "WebhookDeadLetterQueue", "ApproximateNumberOfMessagesVisible")
    assert alarm["Namespace"] == "AWS/SQS"
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == (
        "Maximum",
        "GreaterThanOrEqualToThreshold",
    )
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_a_dead_letter_alarm_says_each_messages_reason_tells_why(resources):
    description = " ".join(
        resources["WebhookDeadLetterAlarm"]["Properties"]["AlarmDescription"].split()
    )
    assert "ActionFunction" in description
    assert "reason attribute" in description
    assert "redrive" in description


def test_events_waiting_for_hours_raise_an_alarm_before_the_redrive_could_move_one(
    template, resources, queue
):
    alarm = resolved(template, alarm_on(resources, "WebhookQueue", "ApproximateAgeOfOldestMessage"))
    assert alarm["Namespace"] == "AWS/SQS"
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == (
        "Maximum",
        "GreaterThanOrEqualToThreshold",
    )
    # Longer than a maintenance window, shorter than a working day.
    assert 2 * HOUR <= alarm["Threshold"] <= 8 * HOUR
    # The alarm is heard (one period late at most) before the first event could be moved.
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    heard = alarm["Threshold"] + alarm["Period"] * alarm["EvaluationPeriods"]
    assert heard < seconds_until_received(receives, "shortest")
    assert alarm["TreatMissingData"] == "notBreaching"
    description = " ".join(alarm["AlarmDescription"].split())
    assert "ActionConcurrency" in description


@pytest.mark.parametrize("alarm_name", ["WebhookDeadLetterAlarm", "WebhookQueueAgeAlarm"])
@pytest.mark.parametrize(
    ("topic", "actions"),
    [
        ("", None),
        (TOPIC, [TOPIC]),
    ],
)
def test_webhook_alarms_notify_the_topic_only_when_one_is_given(
    template, resources, alarm_name, topic, actions
):
    alarm = resolved(template, resources[alarm_name]["Properties"], AlarmTopicArn=topic)
    assert alarm.get("AlarmActions") == actions
    assert alarm.get("OKActions") == actions


# ---------------------------------------------------------------- the action function


def test_action_function_is_a_thin_handler_fed_only_by_webhook_queue(action):
    assert (action["CodeUri"], action["Handler"]) == ("functions/action/", "app.lambda_handler")
    assert [(e["Type"], e["Properties"]["Queue"]) for e in action["Events"].values()] == [
        ("SQS", {"Fn::GetAtt": ["WebhookQueue", "Arn"]})
    ]
    assert (REPO / action["CodeUri"] / "app.py").is_file()


def test_action_function_has_time_for_a_batch_of_kintone_writes(action):
    # Ten events, one kintone request at a time; WebhookQueue's visibility derives from it.
    assert action["Timeout"] == 30
    assert action["MemorySize"] == 640  # make bench's first-response sizing


def test_action_function_logs_to_its_own_group(action, resources):
    group = resources[action["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/sekisho/${AWS::StackName}/action"}
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_action_function_reads_exactly_the_actions_tokens_and_the_refetch_token(
    action, resources, policy
):
    readable = readable_by_name(action, resources)
    refetch = policy["webhooks"]["demo-kintone"]["refetch"]["token_secret"]
    assert readable == {*ACTION_TOKENS, refetch} == action_secret_names(policy)
    # Events were verified on receipt: no sender's key, no guard key.
    assert not [name for name in readable if name.startswith("sekisho/webhook/")]
    assert "sekisho/guard/hash-key" not in readable


def test_action_function_consumes_only_webhook_queue(action):
    (consume,) = [s for s in touching(action, "sqs:") if s.get("Sid") == "ConsumeWebhookQueue"]
    assert consume["Effect"] == "Allow"
    assert sorted(as_list(consume["Action"])) == [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert consume["Resource"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}


def test_action_function_may_send_only_to_the_webhook_dead_letter_queue(action):
    sends = [
        s
        for s in touching(action, "sqs:")
        if s["Effect"] == "Allow" and "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert sends == [
        {
            "Sid": "DeadLetterPermanentFailures",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]},
        }
    ]


def test_action_function_can_add_dead_letters_but_never_take_them(action):
    # SAM's poller policy grants ReceiveMessage and DeleteMessage on every queue; the fence
    # keeps the dead-letter queue inside, so only this Deny stops a bug consuming it.
    (deny,) = [
        s
        for s in touching(action, "sqs:")
        if s["Effect"] == "Deny"
        and s.get("Resource") == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    ]
    assert as_list(deny["NotAction"]) == ["sqs:SendMessage"]
    assert "Action" not in deny
    assert "Condition" not in deny


def test_action_function_grants_no_wildcard_action_and_nothing_else(action):
    services = set()
    for statement in statements(action):
        if statement["Effect"] == "Deny":
            continue  # the fences (test_template.py)
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for name in as_list(statement["Action"]):
            assert "*" not in name, name
            services.add(name.split(":")[0])
        for resource in as_list(statement["Resource"]):
            assert resource != "*"
    assert services == {"secretsmanager", "dynamodb", "sqs"}


def test_a_failing_action_function_raises_an_alarm(resources):
    props = resources["ActionFunctionErrorsAlarm"]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Errors")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ActionFunction"}}]
    assert (props["Statistic"], props["ComparisonOperator"]) == (
        "Sum",
        "GreaterThanOrEqualToThreshold",
    )
    assert (props["Threshold"], props["EvaluationPeriods"]) == (1, 1)
    assert props["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(("topic", "actions"), [("", None), (TOPIC, [TOPIC])])
def test_the_action_errors_alarm_notifies_the_topic_only_when_one_is_given_and_never_says_ok(
    template, resources, topic, actions
):
    alarm = resolved(
        template, resources["ActionFunctionErrorsAlarm"]["Properties"], AlarmTopicArn=topic
    )
    assert alarm.get("AlarmActions") == actions
    # The metric falls silent when no batch arrives, which does not mean anyone fixed it.
    assert "OKActions" not in alarm


# ---------------------------------------------------------------- the secrets


def secret(resources, name: str) -> Mapping[str, Any]:
    (found,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::SecretsManager::Secret"
        and declared_secret_name(r["Properties"]["Name"]) == name
    ]
    return found


def test_every_webhook_secret_the_policy_names_is_declared(resources, policy):
    declared = set(secret_names(resources).values())
    named = {hook["secret"] for hook in policy["webhooks"].values()}
    named |= {h["refetch"]["token_secret"] for h in policy["webhooks"].values() if h.get("refetch")}
    assert named <= declared
    assert {*SENDER_ISSUED, KINTONE_SOURCE_SECRET} <= named


@pytest.mark.parametrize(("name", "shape"), SENDER_ISSUED.items())
def test_sender_issued_keys_ship_as_empty_placeholders_that_outlive_the_stack(
    resources, name, shape
):
    found = secret(resources, name)
    # The sender made the key; an operator stored it by hand.
    assert (found["DeletionPolicy"], found["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = found["Properties"]
    assert json.loads(props["SecretString"]) == shape
    assert "GenerateSecretString" not in props
    # The description tells the operator what to store.
    for key in shape:
        assert f'"{key}"' in props["Description"], key


def test_the_kintone_url_token_is_generated_by_sekisho_without_punctuation(resources):
    props = secret(resources, KINTONE_SOURCE_SECRET)["Properties"]
    assert "SecretString" not in props
    spec = props["GenerateSecretString"]
    assert json.loads(spec["SecretStringTemplate"]) == {"kind": "hmac"}
    assert spec["GenerateStringKey"] == "secret"
    assert spec["PasswordLength"] == 48
    # It travels in a URL query: letters and digits need no escaping.
    assert spec["ExcludePunctuation"] is True
    assert '"secret"' in props["Description"]


def test_the_refetch_token_is_a_view_token_placeholder_that_outlives_the_stack(resources, policy):
    name = policy["webhooks"]["demo-kintone"]["refetch"]["token_secret"]
    found = secret(resources, name)
    assert (found["DeletionPolicy"], found["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert json.loads(found["Properties"]["SecretString"]) == {"kind": "kintone-token", "token": ""}
    assert "VIEW permission only" in found["Properties"]["Description"]


def test_the_action_tokens_are_the_ones_the_policys_actions_name(policy):
    declared = {}
    for hook in policy["webhooks"].values():
        for act in (hook.get("actions") or {}).values():
            declared[act["token_secret"]] = OPERATION_PERMISSIONS[act["operation"]]
            if act.get("read_secret"):
                declared[act["read_secret"]] = "VIEW"
    assert declared == ACTION_TOKENS


@pytest.mark.parametrize(("name", "permission"), ACTION_TOKENS.items())
def test_each_action_token_is_a_placeholder_for_one_permission_that_outlives_the_stack(
    resources, name, permission
):
    found = secret(resources, name)
    # An operator made it by hand in kintone; kintone has no API to make it again.
    assert (found["DeletionPolicy"], found["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = found["Properties"]
    assert json.loads(props["SecretString"]) == {"kind": "kintone-token", "token": ""}
    description = " ".join(props["Description"].split())
    assert f"record {permission} permission only" in description
    assert f"sekisho token stage {name}" in description


# ---------------------------------------------------------------- IP allowlists


def api_routes(resources) -> Iterator[tuple[str, str, str]]:
    """The routes of Api, whose resource policy this is; PartnerApi's partners are held by
    their own networks (test_template_partner_api.py)."""
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "Api" and event["Properties"]["RestApiId"] == {"Ref": "Api"}:
                yield name, event["Properties"]["Path"], event["Properties"]["Method"]


def deny_statements(template, resources, **overrides: str) -> list[Mapping[str, Any]]:
    policy = resolved(template, resources["Api"]["Properties"]["Policy"], **overrides)
    return [s for s in policy["Statement"] if s["Effect"] == "Deny"]


def test_the_browser_allowlist_covers_every_browser_route_and_no_webhook(resources):
    covered = {pattern.split("/")[3] for pattern in BROWSER_ROUTES}
    routes = list(api_routes(resources))
    assert ("WebhookFunction", "/webhooks/{source}", "post") in routes
    for function, path, _ in routes:
        first = path.split("/")[1]
        # A new browser route must be added to the Deny, or outsiders reach it.
        assert (first in covered) is (first != "webhooks"), (function, path)


@pytest.mark.parametrize(
    ("browser_ips", "kintone_ips", "expected"),
    [
        ("", "", []),
        ("203.0.113.0/24", "", [(BROWSER_ROUTES, ["203.0.113.0/24"])]),
        ("", "192.0.2.0/28", [(KINTONE_ROUTES, ["192.0.2.0/28"])]),
        (
            "203.0.113.0/24,2001:db8::/32",
            "192.0.2.0/28,198.51.100.0/28",
            [
                (BROWSER_ROUTES, ["203.0.113.0/24", "2001:db8::/32"]),
                (KINTONE_ROUTES, ["192.0.2.0/28", "198.51.100.0/28"]),
            ],
        ),
    ],
)
def test_each_allowlist_denies_other_addresses_on_its_own_routes_only_when_set(
    template, resources, browser_ips, kintone_ips, expected
):
    denies = deny_statements(
        template, resources, AllowedSourceIps=browser_ips, KintoneWebhookSourceIps=kintone_ips
    )
    assert [
        (s["Resource"], s["Condition"]["NotIpAddress"]["aws:SourceIp"]) for s in denies
    ] == expected
    for statement in denies:
        assert set(statement["Condition"]) == {"NotIpAddress"}
        assert (statement["Principal"], statement["Action"]) == ("*", "execute-api:Invoke")


def test_the_kintone_allowlist_guards_a_kintone_source_of_the_policy(policy):
    assert {route.split("/")[4] for route in KINTONE_ROUTES} == {KINTONE_SOURCE}
    assert policy["webhooks"][KINTONE_SOURCE]["scheme"] == "kintone"


def iam_glob(pattern: str) -> re.Pattern[str]:
    # IAM's wildcards: `*` any run of characters, `/` included; `?` one character.
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    )


@pytest.mark.parametrize(
    ("method", "path", "denied"),
    [
        ("POST", "/webhooks/demo-kintone", True),
        # API Gateway routes the trailing slash to the same source.
        ("POST", "/webhooks/demo-kintone/", True),
        ("POST", "/webhooks/demo-kintone//", True),
        ("POST", "/webhooks/demo-kintone/x", True),
        # Another source's name may start with this one's: it keeps its own senders.
        ("POST", "/webhooks/demo-kintone-2", False),
        ("POST", "/webhooks/demo-kintonex", False),
        ("POST", "/webhooks/demo-github", False),
        ("POST", "/views/deal-status", False),
        ("GET", "/webhooks/demo-kintone", False),  # no such route: API Gateway's 403
    ],
)
def test_the_kintone_allowlist_covers_every_spelling_of_the_source_path_and_nothing_else(
    template, resources, method, path, denied
):
    (statement,) = deny_statements(template, resources, KintoneWebhookSourceIps="192.0.2.0/28")
    arn = f"execute-api:/v1/{method}{path}"
    covered = any(iam_glob(pattern).fullmatch(arn) for pattern in as_list(statement["Resource"]))
    assert covered is denied


def test_the_kintone_ips_parameter_asks_for_the_same_cidrs_in_the_sources_allow_ips(template):
    # The gateway matches the path as spelled; the function's allow_ips holds whatever the
    # spelling, but only when it is set.
    description = " ".join(template["Parameters"]["KintoneWebhookSourceIps"]["Description"].split())
    assert "allow_ips" in description
    assert "same CIDRs" in description


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("192.0.2.0/28", True),
        ("192.0.2.0/28,2001:db8::/32", True),
        ("192.0.2.1", False),
        ("0.0.0.0/0 or 1=1", False),
        ("*", False),
    ],
)
def test_the_kintone_source_ips_parameter_takes_only_cidrs(template, value, accepted):
    spec = template["Parameters"]["KintoneWebhookSourceIps"]
    assert spec["Type"] == "CommaDelimitedList"
    assert spec["Default"] == ""
    ok = all(re.fullmatch(spec["AllowedPattern"], item) for item in value.split(","))
    assert ok is accepted


# ---------------------------------------------------------------- outputs


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("WebhookQueueUrl", {"Ref": "WebhookQueue"}),
        ("WebhookDeadLetterQueueUrl", {"Ref": "WebhookDeadLetterQueue"}),
        ("DealsRefetchTokenSecretArn", {"Ref": "DealsRefetchTokenSecret"}),
        ("SeminarEditTokenSecretArn", {"Ref": "SeminarEditTokenSecret"}),
        ("SeminarPaymentViewTokenSecretArn", {"Ref": "SeminarPaymentViewTokenSecret"}),
        ("AuditAddTokenSecretArn", {"Ref": "AuditAddTokenSecret"}),
        (
            "WebhookUrl",
            {
                "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/webhooks"
            },
        ),
    ],
)
def test_outputs_name_the_webhook_queues_and_where_senders_post(template, output, value):
    assert template["Outputs"][output]["Value"] == value
