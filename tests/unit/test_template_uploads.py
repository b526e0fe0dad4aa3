"""Direct uploads in template.yaml: the quarantine's grants, its lifecycle and its CORS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.template_support import as_list, load_template, resolved, statements

UPLOADS = {"Fn::Sub": "${AttachmentBucket.Arn}/uploads/*"}
DAY = 86_400


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def bucket(resources) -> Mapping[str, Any]:
    return resources["AttachmentBucket"]["Properties"]


def quarantine_actions(resources, function: str) -> set[str]:
    """What ``function`` may do to the uploads' objects, and nowhere else in the bucket."""
    found: set[str] = set()
    for statement in statements(resources[function]["Properties"]):
        if statement["Effect"] == "Allow" and UPLOADS in as_list(statement["Resource"]):
            found |= set(as_list(statement["Action"]))
    return found


# A partner's form submission runs the intake, its uploads' checks and claims included.
@pytest.mark.parametrize("function", ["IntakeFunction", "PartnerFunction"])
def test_the_intake_signs_reads_and_claims_uploads_but_cannot_list_or_delete_them(
    resources, function
):
    assert quarantine_actions(resources, function) == {
        "s3:PutObject",  # a presigned POST is signed with the role that hands it out
        "s3:GetObject",  # HeadObject and the ranged read of the first bytes
        "s3:GetObjectTagging",
        "s3:PutObjectTagging",  # claimed, or given back when the queue refused
    }


def test_the_deliverer_reads_and_deletes_uploads_but_never_writes_one(resources):
    assert quarantine_actions(resources, "DeliverFunction") == {"s3:GetObject", "s3:DeleteObject"}


@pytest.mark.parametrize(
    "function", ["LookupFunction", "WebhookFunction", "ActionFunction", "SessionFunction"]
)
def test_no_other_function_reaches_the_quarantine(resources, function):
    assert quarantine_actions(resources, function) == set()


def test_an_unclaimed_upload_expires_after_a_day_and_a_claimed_one_outlives_its_dead_letter(
    bucket, resources
):
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    unclaimed, claimed = rules["ExpireUnclaimedUploads"], rules["ExpireClaimedUploads"]
    assert (unclaimed["Prefix"], unclaimed["ExpirationInDays"]) == ("uploads/", 1)
    assert unclaimed["TagFilters"] == [{"Key": "sekisho", "Value": "unclaimed"}]
    assert (claimed["Prefix"], claimed.get("TagFilters")) == ("uploads/", None)
    dead = resources["IntakeDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert claimed["ExpirationInDays"] * DAY >= dead
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


def test_browsers_may_post_uploads_from_the_apis_origins_only(template, bucket):
    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    origins = "https://apply.example.jp,https://www.example.jp"
    assert resolved(template, rule["AllowedOrigins"], AllowedOrigins=origins) == origins.split(",")


def test_the_upload_route_is_the_intake_functions_with_its_preflight(resources):
    events = resources["IntakeFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events.values()}
    assert {("/forms/{form}/uploads", "post"), ("/forms/{form}/uploads", "options")} <= routes
