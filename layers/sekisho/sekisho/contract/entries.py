"""The contract of what a form says about itself and its receipts: ``GET /forms/{form}``
(open or not, seats left) and ``GET /forms/{form}/receipts/{receipt}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sekisho.entries.facts import MAX_AGE_SECONDS

from .answers import FACTS_ERRORS, RECEIPT_ERRORS
from .parts import REF, identifier, json_answer, problems

if TYPE_CHECKING:
    from sekisho.policy import Policy


def _facts(name: str) -> dict[str, Any]:
    answer = json_answer(
        f"the form's public facts (Cache-Control: public, max-age={MAX_AGE_SECONDS})",
        {"$ref": REF.format(model="FormFacts")},
    )
    answer["headers"]["Cache-Control"] = {
        "required": True,
        "schema": {"type": "string", "const": f"public, max-age={MAX_AGE_SECONDS}"},
    }
    return {
        "operationId": f"facts_{identifier(name)}",
        "summary": f"What {name} is: open or not, seats left",
        "description": (
            "Read from the seat counters only, never from kintone; a few seconds old at "
            "most. The submission's own answer (409 capacity_full) is the final word."
        ),
        "tags": ["forms"],
        "responses": {"200": answer} | problems(FACTS_ERRORS),
    }


def _receipt(name: str) -> dict[str, Any]:
    return {
        "operationId": f"receipt_{identifier(name)}",
        "summary": f"What became of a submission to {name}",
        "description": (
            "queued, recorded or refused (with the reason's code), never a field value. An "
            "unknown receipt is the same 404 as an unknown form."
        ),
        "tags": ["forms"],
        "parameters": [
            {
                "name": "receipt",
                "in": "path",
                "required": True,
                "description": "the receipt the submission was answered with",
                "schema": {"type": "string", "minLength": 1, "maxLength": 64},
            }
        ],
        "responses": {
            "200": json_answer("the submission's state", {"$ref": REF.format(model="ReceiptState")})
        }
        | problems(RECEIPT_ERRORS),
    }


def entry_paths(policy: Policy) -> dict[str, dict[str, Any]]:
    """The GET operations of every form: its facts and its receipts' states."""
    paths: dict[str, dict[str, Any]] = {}
    for name in sorted(policy.forms):
        paths[f"/forms/{name}"] = {"get": _facts(name)}
        paths[f"/forms/{name}/receipts/{{receipt}}"] = {"get": _receipt(name)}
    return paths
