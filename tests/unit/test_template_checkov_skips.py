"""Every checkov check template.yaml skips says why, on the resource it is skipped for.

`make scan-template` runs checkov with no skip list of its own: a check that does not apply
is skipped in the resource's Metadata (checkov: skip: - id, comment), where a reviewer of the
resource reads the reason beside what it is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.template_support import load_template

REPO = Path(__file__).resolve().parents[2]
CHECK_ID = re.compile(r"CKV2?_AWS_[0-9]+")


def skips(template: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(logical id, skip entry) of every checkov skip the resources declare."""
    for logical_id, resource in template["Resources"].items():
        checkov = (resource.get("Metadata") or {}).get("checkov")
        if checkov is None:
            continue
        entries = checkov.get("skip") if isinstance(checkov, Mapping) else None
        assert isinstance(entries, list), f"{logical_id}: checkov.skip must be a list"
        for entry in entries:
            yield logical_id, entry


def reasonless(template: Mapping[str, Any]) -> list[str]:
    found = []
    for logical_id, entry in skips(template):
        comment = entry.get("comment") if isinstance(entry, Mapping) else None
        if not isinstance(comment, str) or not comment.strip():
            found.append(f"{logical_id}: {entry!r}")
    return found


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_template_skips_checks_only_on_resources(template):
    assert list(skips(template)), "the template skips nothing: is checkov still run?"


def test_every_checkov_skip_in_the_template_carries_its_reason(template):
    assert reasonless(template) == []


def test_every_skip_names_one_check_by_its_id_and_names_it_once(template):
    for logical_id, entry in skips(template):
        assert CHECK_ID.fullmatch(str(entry.get("id", ""))), f"{logical_id}: {entry!r}"
    pairs = [(logical_id, entry["id"]) for logical_id, entry in skips(template)]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "CKV_AWS_117"},
        {"id": "CKV_AWS_117", "comment": ""},
        {"id": "CKV_AWS_117", "comment": "   "},
        {"id": "CKV_AWS_117", "comment": None},
        "CKV_AWS_117",
    ],
)
def test_a_skip_without_a_reason_is_found(entry):
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"checkov": {"skip": [entry]}}}
        }
    }
    assert reasonless(template) == [f"Fn: {entry!r}"]


def test_the_scan_names_no_skip_on_its_command_line():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nscan-template:", 1)[1].split("\n\n", 1)[0]
    assert "$(CHECKOV)" in recipe
    assert "--framework cloudformation" in recipe
    assert "--skip-check" not in recipe
    assert "--soft-fail" not in recipe
    assert "--skip-framework" not in recipe
