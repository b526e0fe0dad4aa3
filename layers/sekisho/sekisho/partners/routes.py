"""The partner routes: ``POST /views/<partner view>`` and ``POST /partners/forms/<form>``.

The gate admits the call first (signature, partner, route, networks, certificate, nonce,
quota); only then is the body read as JSON and handed to the lookup or the intake, with
the partner named so that they take its claims and skip the browser's checks (the
per-IP guard, the CAPTCHA) which the gate's stand in for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sekisho.lookup import LookupRequest

from .gate import PartnerGate
from .message import SignedMessage

if TYPE_CHECKING:
    from sekisho.intake.result import IntakeResult
    from sekisho.intake.service import IntakeService
    from sekisho.lookup import LookupService

Body = Callable[[], Mapping[str, Any]]


class PartnerRoutes:
    def __init__(
        self,
        gate: PartnerGate,
        lookups: Callable[[], LookupService],
        intake: Callable[[], IntakeService],
    ) -> None:
        self._gate = gate
        self._lookups = lookups
        self._intake = intake

    def view(
        self, name: str, message: SignedMessage, client_ip: str, body: Body
    ) -> list[dict[str, Any]]:
        call = self._gate.admit(message, "views", name, client_ip)
        request = LookupRequest(
            view=name, body=body(), client_ip=client_ip, claims=call.claims, partner=call.partner_id
        )
        return self._lookups().lookup(request)

    def submit(
        self,
        form: str,
        message: SignedMessage,
        client_ip: str,
        body: Body,
        *,
        idempotency_key: str | None = None,
        remaining_ms: Callable[[], int] | None = None,
    ) -> IntakeResult:
        from sekisho.intake.request import IntakeRequest  # noqa: PLC0415 - with the first submission

        call = self._gate.admit(message, "forms", form, client_ip)
        return self._intake().submit(
            IntakeRequest(
                form=form,
                body=body(),
                client_ip=client_ip,
                idempotency_key=idempotency_key,
                remaining_ms=remaining_ms,
                partner=call.partner_id,
            )
        )
