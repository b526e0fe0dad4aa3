"""The saved Logs Insights queries and the log groups they read: each query names the
stack's own groups and only fields the code writes, and every group is kept only for
LogRetentionDays."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from sekisho.audit import CONTEXT_FIELDS, FIELDS
from tests.template_support import load_template, of_type

# What the "request refused" line adds (sekisho.http.resolver), and what Powertools'
# Logger writes on every line of a function.
REFUSAL_FIELDS = ("code", "status", "client_ip")
POWERTOOLS_FIELDS = ("message", "level", "function_name", "function_request_id", "cold_start")
WRITTEN = {*FIELDS, *CONTEXT_FIELDS, *REFUSAL_FIELDS, *POWERTOOLS_FIELDS}

# Words of the query language, not fields.
KEYWORDS = {
    "fields", "filter", "sort", "stats", "by", "desc", "asc", "limit", "as", "and", "or",
    "not", "like", "in", "count", "ispresent", "refusals",
}  # fmt: skip

QUERIES = ("WhoReadOrChangedRecordQuery", "RefusalsByCodeAndClientQuery", "PartnerCallsQuery")


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return load_template()["Resources"]


@pytest.fixture(scope="module")
def queries(resources: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = of_type(resources, "AWS::Logs::QueryDefinition")
    return {name: q["Properties"] for name, q in found.items()}


def fields_of(query: str) -> set[str]:
    """The field names a query reads: its words, less regex and string literals, the
    @-fields Logs Insights itself adds, and the language's own words."""
    text = re.sub(r"/(?:\\.|[^/])*/", " ", query)
    text = re.sub(r'"[^"]*"', " ", text)
    text = re.sub(r"@\w+", " ", text)
    words = {word.split(".")[0] for word in re.findall(r"[A-Za-z_][\w.]*", text)}
    return words - KEYWORDS


def test_the_stack_saves_the_three_queries(queries):
    assert sorted(queries) == sorted(QUERIES)
    for query in queries.values():
        assert query["Name"]["Fn::Sub"].startswith("sekisho/${AWS::StackName}/")


@pytest.mark.parametrize("name", QUERIES)
def test_each_query_reads_only_fields_the_code_writes(queries, name):
    used = fields_of(queries[name]["QueryString"])
    assert used, name
    assert used <= WRITTEN, used - WRITTEN


@pytest.mark.parametrize("name", QUERIES)
def test_each_query_names_log_groups_of_the_stack(resources, queries, name):
    for group in queries[name]["LogGroupNames"]:
        assert resources[group["Ref"]]["Type"] == "AWS::Logs::LogGroup"


def function_group(resources: Mapping[str, Any], function: str) -> str:
    return resources[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]


@pytest.mark.parametrize(
    ("name", "functions"),
    [
        (
            "WhoReadOrChangedRecordQuery",
            [
                "LookupFunction",
                "IntakeFunction",
                "PartnerFunction",
                "SessionFunction",
                "DeliverFunction",
                "WebhookFunction",
                "ActionFunction",
            ],
        ),
        (
            "RefusalsByCodeAndClientQuery",
            [
                "LookupFunction",
                "IntakeFunction",
                "PartnerFunction",
                "SessionFunction",
                "WebhookFunction",
            ],
        ),
        ("PartnerCallsQuery", ["PartnerFunction"]),
    ],
)
def test_each_query_reads_the_groups_of_the_functions_that_write_its_lines(
    resources, queries, name, functions
):
    groups = [group["Ref"] for group in queries[name]["LogGroupNames"]]
    assert groups == [function_group(resources, f) for f in functions]


def test_the_record_query_matches_one_id_exactly_and_audit_lines_only(queries):
    query = queries["WhoReadOrChangedRecordQuery"]["QueryString"]
    (pattern,) = re.findall(r'like /("record_ids".*)/', query)
    regex = re.compile(pattern.replace("RECORD_ID", "42"))
    assert regex.search('"record_ids":["42"]')
    assert regex.search('"record_ids": ["7", "42"]')
    assert not regex.search('"record_ids":["142","420"]')
    assert not regex.search('"record_ids":[],"receipt":"42"')
    assert '"audit":' in query


def test_the_partner_query_filters_on_the_partner_named_by_its_placeholder(queries):
    query = queries["PartnerCallsQuery"]["QueryString"]
    assert 'filter partner = "PARTNER_ID"' in query


# ---------------------------------------------------------------- retention


def test_every_log_group_is_kept_only_for_the_retention_period(resources):
    groups = of_type(resources, "AWS::Logs::LogGroup")
    assert len(groups) >= 11  # nine functions, two APIs
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_every_function_logs_to_an_explicit_group_never_an_implicit_one(resources):
    # A function without LoggingConfig writes to /aws/lambda/<name>, a group Lambda makes
    # on first use with no retention: kept forever.
    functions = {
        **of_type(resources, "AWS::Serverless::Function"),
        **of_type(resources, "AWS::Lambda::Function"),
    }
    assert len(functions) >= 9
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert resources[group["Ref"]]["Type"] == "AWS::Logs::LogGroup", name


def test_both_apis_write_access_logs_to_a_group_of_the_stack(resources):
    for api in ("Api", "PartnerApi"):
        destination = resources[api]["Properties"]["AccessLogSetting"]["DestinationArn"]
        (group, attribute) = destination["Fn::GetAtt"]
        assert (resources[group]["Type"], attribute) == ("AWS::Logs::LogGroup", "Arn")
        # No execution logs: their group would be API Gateway's own, with no retention.
        assert all(
            s["LoggingLevel"] == "OFF" for s in resources[api]["Properties"]["MethodSettings"]
        )
