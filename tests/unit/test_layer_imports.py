"""The layer's import graph: no circle, no arrow up, one way to reach AWS, few deferrals."""

from __future__ import annotations

import pytest

from tests.import_graph import cycles, edges, imports, package_of

# Each package of the layer and the rank it sits at: a module may import its own rank or
# a lower one, never a higher one (the arrow back up the issue called out).
RANKS = {
    0: {"sekisho", "errors", "aws", "safe_traceback", "metrics", "audit", "coldstart"},
    1: {"kintone", "http", "switches", "redelivery", "once", "mail"},
    2: {"secrets", "policy", "guard"},
    3: {"settings", "forms", "tokens", "commands", "entries", "access", "snapstart"},
    4: {"lookup", "intake", "webhooks", "rotation", "browser_route", "partners"},
    5: {"actions", "contract", "sessions", "explain"},
    6: {"runtime"},
    7: {"wiring", "cli"},
}
RANK = {package: rank for rank, packages in RANKS.items() for package in packages}
# The one import a layer module makes inside a function: pydantic and PyYAML, for a
# policy that is not a reviewed snapshot (the layer ships neither).
# The others: code a function's first request does not run, loaded where it is used so
# that the cold start does not wait for it (tests/bench/first_response.py measures it):
# the partner's intake, for a container that serves partner views; the sign-in and the
# entries' corrections, for a container that serves session lists.
DEFERRED = {
    ("sekisho.policy.reviewed", "sekisho.policy.validation.loader"),
    ("sekisho.wiring.partner", "sekisho.wiring.intake"),
    ("sekisho.partners.routes", "sekisho.intake.request"),
    ("sekisho.wiring.session", "sekisho.sessions.signin"),
    ("sekisho.wiring.session", "sekisho.sessions.entries"),
    ("sekisho.wiring.session", "sekisho.mail.sender"),
    ("sekisho.wiring.session", "sekisho.entries.corrections"),
    ("sekisho.wiring.session", "sekisho.entries.ledger"),
}
# Who may read the policy's validation (pydantic): the operator commands and itself.
VALIDATION_READERS = {
    "sekisho.cli",
    "sekisho.commands",
    "sekisho.contract.cli",
    "sekisho.tokens.cli",
    "sekisho.rotation.cli",
    "sekisho.entries.cli",
    "sekisho.explain.cli",
}


def test_the_layer_has_no_import_cycle():
    assert cycles(edges()) == []


def test_a_cycle_is_found_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_of_the_layer_has_a_rank():
    assert {package_of(module) for module in edges()} - set(RANK) == set()


def test_no_module_imports_a_package_ranked_above_its_own():
    upward = sorted(
        f"{importer} -> {target}"
        for importer, targets in edges().items()
        for target in targets
        if RANK[package_of(target)] > RANK[package_of(importer)]
    )
    assert upward == []


def test_only_the_aws_module_imports_boto3():
    importers = {item.importer for item in imports() if item.target.split(".")[0] == "boto3"}
    assert importers == {"sekisho.aws"}


def test_the_only_import_inside_a_function_is_the_documented_deferral():
    deferred = {(item.importer, item.target) for item in imports() if item.in_function}
    assert deferred == DEFERRED


@pytest.mark.parametrize("wiring", ["sekisho.runtime", "sekisho.wiring"])
def test_only_the_wiring_builds_a_container(wiring):
    importers = {
        item.importer
        for item in imports()
        if item.target == wiring or item.target.startswith(f"{wiring}.")
    }
    assert {i for i in importers if not i.startswith("sekisho.wiring")} == set()


def test_only_the_operator_commands_read_the_policys_validation():
    readers = {
        item.importer
        for item in imports()
        if item.target.startswith("sekisho.policy.validation")
        and not item.importer.startswith("sekisho.policy.validation")
        and (item.importer, item.target) not in DEFERRED
    }
    assert readers <= VALIDATION_READERS
