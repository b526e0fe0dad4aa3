"""``GET /forms/{form}``: what anyone may know of a form before filling it in — open or
not, and the seats left on each counter. Read from the entries table only: never a
kintone call, never a secret, no field value."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sekisho.access.when import wall_now, when_facts

from .seats import CHOICE_PREFIX, FORM_COUNTER, limits

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy, Policy
    from sekisho.switches import RouteSwitches

    from .ledger import EntryLedger

# How long a browser or a CDN may reuse the answer: seats left change under load, and a
# few seconds of staleness is what the issue allows; the 409 at submission is the truth.
MAX_AGE_SECONDS = 5


class FormFacts:
    def __init__(
        self,
        policy: Policy,
        entries: EntryLedger,
        switches: RouteSwitches,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy
        self._entries = entries
        self._switches = switches
        self._wall = wall

    def facts(self, name: str) -> dict[str, Any]:
        """The form's public facts; :class:`~sekisho.errors.NotFound` for no such form."""
        form = self._policy.form(name)
        disabled = not form.enabled or f"forms/{name}" in self._switches.switched_off()
        # The period and hours (not the networks: they are about a caller).
        period = when_facts(form.when, wall_now(self._wall))
        return {
            "form": name,
            **period,
            "open": period["open"] and not disabled,
            "state": "route_disabled" if disabled else period["state"],
            "seats": self._seats(name, form),
        }

    def _seats(self, name: str, form: FormPolicy) -> dict[str, Any] | None:
        capacity = form.capacity
        if capacity is None:
            return None
        bounds = limits(form)
        taken = self._entries.taken(name, list(bounds))

        def counter(key: str) -> dict[str, int]:
            return {"capacity": bounds[key], "left": max(0, bounds[key] - taken[key])}

        seats: dict[str, Any] = {
            "counts": capacity.count or "entries",
            "total": counter(FORM_COUNTER) if FORM_COUNTER in bounds else None,
        }
        if capacity.by is not None:
            seats["by"] = capacity.by
            seats["choices"] = {
                key.removeprefix(CHOICE_PREFIX): counter(key)
                for key in bounds
                if key.startswith(CHOICE_PREFIX)
            }
        return seats
