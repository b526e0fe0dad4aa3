"""The operator's alarms and dashboard in template.yaml: each alarm reads the metric,
dimensions, statistic and threshold it is meant to, and every sekisho metric the alarms
and the dashboard name is one of the metrics contract's, with its dimensions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from sekisho.metrics import NAMESPACE, SERVICE, emf
from sekisho.redelivery import MAX_VISIBILITY_SECONDS
from tests.metrics_support import emitted
from tests.template_support import load_template, of_type, resolved

# The metrics contract: each metric's dimensions besides `service`. The template is held
# to this table, and the first test below holds the code's EMF lines to it too.
CONTRACT: dict[str, frozenset[str]] = {
    "Requests": frozenset({"route", "outcome"}),
    "Refusals": frozenset({"route", "outcome"}),
    "KintoneLatency": frozenset({"route"}),
    "KintoneRetries": frozenset({"route"}),
    "QueueAge": frozenset({"queue"}),
    "Deliveries": frozenset({"route", "outcome"}),
    "DeadLetters": frozenset({"queue"}),
    "Rotations": frozenset({"outcome"}),
    # Older than the contract, and kept as it is (metadata, not dimensions).
    "RouteBudgetNearlySpent": frozenset(),
}

EMITTERS = [
    lambda: emf.request("view:deal-status", emf.OK),
    lambda: emf.refusal("view:deal-status", "rate_limited"),
    lambda: emf.kintone_latency("view:deal-status", 12.5),
    lambda: emf.kintone_retry("view:deal-status"),
    lambda: emf.queue_age(emf.INTAKE_QUEUE, 3.0),
    lambda: emf.delivery("form:seminar-apply", emf.RECORDED),
    lambda: emf.dead_letter(emf.WEBHOOK_QUEUE),
    lambda: emf.rotation(emf.ROTATED),
    lambda: emf.route_budget_nearly_spent("view:deal-status", spent=80, limit=100),
]

HOUR = 3_600
DAY = 86_400

# The request and consumer functions (PolicyDigestFunction runs once per deployment, and
# its failure fails that deployment).
FUNCTIONS = (
    "LookupFunction",
    "IntakeFunction",
    "PartnerFunction",
    "SessionFunction",
    "WebhookFunction",
    "DeliverFunction",
    "ActionFunction",
    "RotateFunction",
)
# The functions with an Errors alarm of their own; FunctionErrorsAlarm sums the others.
OWN_ERRORS_ALARM = {
    "ActionFunction": "ActionFunctionErrorsAlarm",
    "RotateFunction": "RotateFunctionErrorsAlarm",
}


def test_the_code_emits_exactly_the_metrics_and_dimensions_the_alarms_are_held_to(capsys):
    for emit in EMITTERS:
        emit()

    printed = {
        m.name: frozenset(m.dimensions) - {"service"} for m in emitted(capsys.readouterr().out)
    }

    assert printed == CONTRACT


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def alarms(resources: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        name: r["Properties"] for name, r in of_type(resources, "AWS::CloudWatch::Alarm").items()
    }


def dims(dimensions: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in dimensions}


def default(template: Mapping[str, Any], parameter: str) -> int:
    return int(template["Parameters"][parameter]["Default"])


# ---------------------------------------------------------------- single-metric alarms

SERVICE_DIM = {"service": SERVICE}

SINGLE_METRIC_ALARMS = [
    # name, namespace, metric, dimensions, statistic, period, threshold, comparison
    (
        "IntakeDeadLetterAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["IntakeDeadLetterQueue", "QueueName"]}},
        "Maximum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "WebhookDeadLetterAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "QueueName"]}},
        "Maximum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "IntakeQueueAgeAlarm",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": {"Fn::GetAtt": ["IntakeQueue", "QueueName"]}},
        "Maximum",
        300,
        {"Ref": "IntakeQueueAgeThreshold"},
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "WebhookQueueAgeAlarm",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": {"Fn::GetAtt": ["WebhookQueue", "QueueName"]}},
        "Maximum",
        300,
        {"Ref": "WebhookQueueAgeThreshold"},
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "IntakeMessageAgeAlarm",
        NAMESPACE,
        "QueueAge",
        {**SERVICE_DIM, "queue": "intake"},
        "Maximum",
        1800,
        {"Ref": "IntakeQueueAgeThreshold"},
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "WebhookMessageAgeAlarm",
        NAMESPACE,
        "QueueAge",
        {**SERVICE_DIM, "queue": "webhook"},
        "Maximum",
        1800,
        {"Ref": "WebhookQueueAgeThreshold"},
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "RotationStepFailedAlarm",
        NAMESPACE,
        "Rotations",
        {**SERVICE_DIM, "outcome": "failed"},
        "Sum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "RotateFunctionErrorsAlarm",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": {"Ref": "RotateFunction"}},
        "Sum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "ActionFunctionErrorsAlarm",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": {"Ref": "ActionFunction"}},
        "Sum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "RotationFailureAlarm",
        "AWS/Events",
        "TriggeredRules",
        {"RuleName": {"Ref": "RotationFailureRule"}},
        "Sum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
    (
        "RouteBudgetAlarm",
        NAMESPACE,
        "RouteBudgetNearlySpent",
        SERVICE_DIM,
        "Sum",
        300,
        1,
        "GreaterThanOrEqualToThreshold",
    ),
]


@pytest.mark.parametrize(
    "expected", SINGLE_METRIC_ALARMS, ids=[row[0] for row in SINGLE_METRIC_ALARMS]
)
def test_each_alarm_reads_its_metric_with_its_statistic_and_threshold(alarms, expected):
    name, namespace, metric, dimensions, statistic, period, threshold, comparison = expected
    alarm = alarms[name]
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert dims(alarm["Dimensions"]) == dimensions
    assert (alarm["Statistic"], alarm["Period"]) == (statistic, period)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, comparison)
    assert alarm["EvaluationPeriods"] == 1


# ---------------------------------------------------------------- metric-math alarms


def math_metrics(alarm: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {m["Id"]: m for m in alarm["Metrics"]}


@pytest.mark.parametrize(
    ("name", "api_name"),
    [
        ("ApiServerErrorRateAlarm", {"Ref": "AWS::StackName"}),
        ("PartnerApiServerErrorRateAlarm", {"Fn::Sub": "${AWS::StackName}-partners"}),
    ],
)
def test_a_5xx_rate_over_five_percent_of_enough_requests_raises_the_api_alarm(
    alarms, name, api_name
):
    alarm = alarms[name]
    metrics = math_metrics(alarm)
    assert [m["Id"] for m in alarm["Metrics"] if m["ReturnData"]] == ["rate"]
    assert metrics["rate"]["Expression"] == "IF(requests >= 20, errors, 0)"
    stage = {"ApiName": api_name, "Stage": {"Ref": "Stage"}}
    for metric_id, metric_name, stat in (
        ("errors", "5XXError", "Average"),
        ("requests", "Count", "Sum"),
    ):
        stat_of = metrics[metric_id]["MetricStat"]
        assert stat_of["Metric"]["Namespace"] == "AWS/ApiGateway"
        assert stat_of["Metric"]["MetricName"] == metric_name
        assert dims(stat_of["Metric"]["Dimensions"]) == stage
        assert (stat_of["Stat"], stat_of["Period"]) == (stat, 300)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0.05, "GreaterThanThreshold")


@pytest.mark.parametrize(
    ("alarm_name", "api"),
    [("ApiServerErrorRateAlarm", "Api"), ("PartnerApiServerErrorRateAlarm", "PartnerApi")],
)
def test_the_5xx_alarm_names_the_api_by_its_published_name_and_stage(
    template, resources, alarms, alarm_name, api
):
    # API Gateway publishes a REST API's metrics under its name: the definition's title.
    properties = resources[api]["Properties"]
    title = properties["DefinitionBody"]["info"]["title"]
    (errors,) = [m for m in alarms[alarm_name]["Metrics"] if m["Id"] == "errors"]
    dimensions = dims(errors["MetricStat"]["Metric"]["Dimensions"])
    assert dimensions["ApiName"] == title
    assert dimensions["Stage"] == properties["StageName"]
    # Stage metrics exist only when the stage turns them on.
    assert all(setting["MetricsEnabled"] for setting in properties["MethodSettings"])


@pytest.mark.parametrize(
    ("alarm_name", "metric", "covered"),
    [
        ("FunctionErrorsAlarm", "Errors", [f for f in FUNCTIONS if f not in OWN_ERRORS_ALARM]),
        ("FunctionThrottlesAlarm", "Throttles", list(FUNCTIONS)),
    ],
)
def test_function_errors_and_throttles_are_summed_over_the_functions(
    alarms, alarm_name, metric, covered
):
    alarm = alarms[alarm_name]
    returned = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert [m["Expression"] for m in returned] == ["SUM(FILL(METRICS(), 0))"]
    read = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert all(s["Metric"]["Namespace"] == "AWS/Lambda" for s in read)
    assert all(s["Metric"]["MetricName"] == metric for s in read)
    assert all((s["Stat"], s["Period"]) == ("Sum", 300) for s in read)
    named = [dims(s["Metric"]["Dimensions"])["FunctionName"] for s in read]
    assert named == [{"Ref": f} for f in covered]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_every_function_has_its_errors_alarmed_exactly_once(alarms):
    told: list[str] = []
    for alarm in alarms.values():
        for stat in [
            alarm,
            *(m.get("MetricStat", {}).get("Metric", {}) for m in alarm.get("Metrics", [])),
        ]:
            if stat.get("Namespace") == "AWS/Lambda" and stat.get("MetricName") == "Errors":
                told.append(dims(stat["Dimensions"])["FunctionName"]["Ref"])
    assert sorted(told) == sorted(FUNCTIONS)


# ---------------------------------------------------------------- every alarm


def test_every_alarm_says_what_to_do_and_treats_silence_as_an_idle_stack(alarms):
    for name, alarm in alarms.items():
        assert len(alarm["AlarmDescription"].split()) >= 15, name
        # Each metric is written only when something happens: no data is no trouble.
        assert alarm["TreatMissingData"] == "notBreaching", name


@pytest.mark.parametrize("topic", ["", "arn:aws:sns:ap-northeast-1:123456789012:sekisho-alarms"])
def test_every_alarm_notifies_the_topic_only_when_one_is_given(template, alarms, topic):
    for name, alarm in alarms.items():
        actions = resolved(template, alarm, AlarmTopicArn=topic).get("AlarmActions")
        assert actions == ([topic] if topic else None), name


# ---------------------------------------------------------------- queue age


@pytest.mark.parametrize(
    ("queue", "function", "alarm_name"),
    [
        ("IntakeQueue", "DeliverFunction", "IntakeMessageAgeAlarm"),
        ("WebhookQueue", "ActionFunction", "WebhookMessageAgeAlarm"),
    ],
)
def test_a_backed_off_message_is_reported_in_every_period_of_the_consumers_age_alarm(
    resources, alarms, queue, function, alarm_name
):
    # SQS's oldest-message age leaves out a message received three times or more: the
    # consumers' own QueueAge must see it in every period, so the period is longer than
    # the longest a failing message stays out of sight (plus the poller's batching).
    (event,) = resources[function]["Properties"]["Events"].values()
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    batching = event["Properties"]["MaximumBatchingWindowInSeconds"]
    assert alarms[alarm_name]["Period"] >= MAX_VISIBILITY_SECONDS + batching


@pytest.mark.parametrize("parameter", ["IntakeQueueAgeThreshold", "WebhookQueueAgeThreshold"])
def test_queue_age_thresholds_sit_past_a_maintenance_and_before_any_redrive(template, parameter):
    declared = template["Parameters"][parameter]
    assert declared["Type"] == "Number"
    assert 2 * HOUR <= default(template, parameter) <= 8 * HOUR
    # Even the largest allowed one is heard (one period late) before a message could be
    # moved to a dead-letter queue: about a day of failures at the earliest.
    assert declared["MaxValue"] + 1800 < 0.9 * DAY
    assert declared["MinValue"] >= 300


# ---------------------------------------------------------------- the metrics named


def sekisho_metrics_of_alarms(
    alarms: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, frozenset[str]]]:
    found = []
    for alarm in alarms.values():
        for metric in [
            alarm,
            *(m.get("MetricStat", {}).get("Metric", {}) for m in alarm.get("Metrics", [])),
        ]:
            if metric.get("Namespace") == NAMESPACE:
                named = dims(metric["Dimensions"])
                assert named.get("service") == SERVICE
                found.append((metric["MetricName"], frozenset(named) - {"service"}))
    return found


def test_alarms_name_only_the_contracts_metrics_with_its_exact_dimensions(alarms):
    found = sekisho_metrics_of_alarms(alarms)
    assert {name for name, _ in found} >= {"QueueAge", "Rotations", "RouteBudgetNearlySpent"}
    for name, dimensions in found:
        assert name in CONTRACT, name
        # An alarm reads one series: every dimension of the contract, fixed.
        assert dimensions == CONTRACT[name], name


# ---------------------------------------------------------------- the dashboard


def dashboard_body(resources: Mapping[str, Any]) -> dict[str, Any]:
    (dashboard,) = of_type(resources, "AWS::CloudWatch::Dashboard").values()
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    # Every ${...} stands in for a name, an ARN or a number (the thresholds).
    return json.loads(
        re.sub(r"\$\{([^}]+)\}", lambda m: _placeholder(m[1], m.string, m.start()), text)
    )


def _placeholder(reference: str, text: str, at: int) -> str:
    quoted = text[at - 1] == '"' or text[at - 1] not in " :,[{"
    return f"<{reference}>" if quoted else "1"


SEARCH = re.compile(
    r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<terms>[^']*)',\s*'(?P<stat>[^']+)',\s*(?P<period>\d+)\)"
)


def dashboard_metrics(body: Mapping[str, Any]) -> list[tuple[str, str, frozenset[str], str]]:
    """(namespace, metric, dimension names, statistic) of every line the dashboard draws."""
    lines = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            options = row[-1] if isinstance(row[-1], dict) else {}
            if "expression" in options:
                match = SEARCH.fullmatch(options["expression"])
                assert match, options["expression"]
                namespace, *dimensions = [part.strip() for part in match["schema"].split(",")]
                (metric,) = re.findall(r'MetricName="([^"]+)"', match["terms"])
                assert f'service="{SERVICE}"' in match["terms"]
                lines.append((namespace, metric, frozenset(dimensions), match["stat"]))
            else:
                namespace, metric, *pairs = [part for part in row if not isinstance(part, dict)]
                lines.append((namespace, metric, frozenset(pairs[0::2]), options["stat"]))
    return lines


def test_the_dashboard_draws_only_the_contracts_metrics_with_their_dimensions(resources):
    lines = [line for line in dashboard_metrics(dashboard_body(resources)) if line[0] == NAMESPACE]
    drawn = {metric for _, metric, _, _ in lines}
    assert drawn == set(CONTRACT) - {"RouteBudgetNearlySpent"}
    for _, metric, dimensions, _ in lines:
        assert dimensions == CONTRACT[metric] | {"service"}, metric


def test_the_dashboard_shows_kintone_latency_at_p50_and_p99(resources):
    lines = dashboard_metrics(dashboard_body(resources))
    stats = {stat for _, metric, _, stat in lines if metric == "KintoneLatency"}
    assert stats == {"p50", "p99"}


@pytest.mark.parametrize("metric", ["Errors", "Throttles", "Duration"])
def test_the_dashboard_shows_each_functions_errors_throttles_and_duration(resources, metric):
    body = dashboard_body(resources)
    named = [
        row[3]
        for widget in body["widgets"]
        for row in widget["properties"].get("metrics", [])
        if row[:2] == ["AWS/Lambda", metric]
    ]
    assert named == [f"<{function}>" for function in FUNCTIONS]


def test_the_dashboard_shows_both_apis_4xx_and_5xx(resources):
    lines = dashboard_metrics(dashboard_body(resources))
    api = [(metric, dims) for ns, metric, dims, _ in lines if ns == "AWS/ApiGateway"]
    assert sorted(m for m, _ in api) == ["4XXError", "4XXError", "5XXError", "5XXError"]
    assert all(d == {"ApiName", "Stage"} for _, d in api)


def test_the_dashboard_lists_every_alarm_of_the_stack(resources, alarms):
    body = dashboard_body(resources)
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(widget["properties"]["alarms"]) == sorted(f"<{name}.Arn>" for name in alarms)
