"""The intake's answer to one submission, and its stored form (what an Idempotency-Key
replays)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IntakeResult:
    status_code: int  # 201 recorded, 202 queued
    receipt: str
    status: str
    # The form was full and declares a waitlist: the entry is recorded without a seat.
    waitlisted: bool = False

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"receipt": self.receipt, "status": self.status}
        if self.waitlisted:
            body["waitlisted"] = True
        return body

    def stored(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "receipt": self.receipt,
            "status": self.status,
            "waitlisted": self.waitlisted,
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> IntakeResult:
        return cls(
            int(stored["status_code"]),
            str(stored["receipt"]),
            str(stored["status"]),
            bool(stored.get("waitlisted", False)),
        )
