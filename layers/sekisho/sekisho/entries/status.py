"""``GET /forms/{form}/receipts/{receipt}``: what became of a submission — queued,
recorded or refused (with the reason's code) — and nothing of what it said.

Unknown form, unknown receipt and a receipt of another form are one 404. The caller's IP
is counted (the receipt space is large, but a poller has no business asking millions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sekisho.errors import NotFound, RateLimited

from .ledger import CANCELLED, QUEUED, RECORDED, REFUSED

if TYPE_CHECKING:
    from collections.abc import Callable

    from sekisho.guard.guard import Guard
    from sekisho.policy import Policy
    from sekisho.switches import RouteSwitches

    from .ledger import EntryLedger

SCOPE_PREFIX = "form:"
# A cancelled entry is still a record in kintone (marked cancelled there); the status
# route speaks only of what happened to the submission.
_SHOWN = {QUEUED: QUEUED, RECORDED: RECORDED, CANCELLED: RECORDED, REFUSED: REFUSED}


class ReceiptStatus:
    def __init__(
        self,
        policy: Policy,
        entries: EntryLedger,
        guard: Guard,
        switches: RouteSwitches,
        *,
        normalize: Callable[[str], str | None],
    ) -> None:
        self._policy = policy
        self._entries = entries
        self._guard = guard
        self._switches = switches
        self._normalize = normalize

    def status(self, name: str, receipt: str, client_ip: str) -> dict[str, Any]:
        form = self._policy.form(name)
        self._switches.check("forms", name, enabled=form.enabled)
        if not self._guard.allow_request(
            f"{SCOPE_PREFIX}{name}#receipts", client_ip, form.guard.receipts_per_ip
        ):
            raise RateLimited("try again later")
        canonical = self._normalize(receipt)
        entry = None if canonical is None else self._entries.read(name, canonical)
        if entry is None:
            raise NotFound("no such receipt")
        body: dict[str, Any] = {"status": _SHOWN.get(entry.status, QUEUED)}
        if body["status"] == REFUSED and entry.reason:
            body["reason"] = entry.reason
        if entry.waitlisted:
            body["waitlisted"] = True
        return body
