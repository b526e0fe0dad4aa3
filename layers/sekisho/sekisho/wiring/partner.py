"""PartnerFunction: the partner routes, ``POST /views/<partner view>`` and
``POST /partners/forms/<form>``.

Its secret store admits the partners' keys and the tokens of the routes partners are
given (``secret_names("partners")``), plus the guard's hash key; the lookup and the
intake it runs are the browser routes' services, built over that store.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sekisho import runtime
from sekisho.aws import Service
from sekisho.guard.guard import Guard
from sekisho.lookup import LookupService
from sekisho.partners.gate import PartnerGate
from sekisho.partners.keys import PartnerKeys
from sekisho.partners.routes import PartnerRoutes
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore

from .guarded import guard
from .routes import route_switches

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "s3", "secretsmanager", "sqs", "ssm")

if TYPE_CHECKING:
    from sekisho.intake.service import IntakeService


@functools.cache
def _secrets() -> SecretStore:
    names = runtime.policy().secret_names("partners")
    return SecretStore(
        SecretsManagerBackend(), allowed=names | {runtime.settings().guard_hash_key_secret}
    )


@functools.cache
def _guard() -> Guard:
    (table,) = runtime.required("guard_table")
    return guard(_secrets(), runtime.settings(), table)


@functools.cache
def _lookups() -> LookupService:
    current = runtime.settings()
    return LookupService(
        runtime.policy(),
        _secrets().token_source,
        _guard(),
        runtime.kintone_base_url(),
        not_found_deadline=current.not_found_deadline_ms / 1000,
        switches=route_switches(),
    )


@functools.cache
def _intake() -> IntakeService:
    # A partner's form and its intake (the idempotency, the queue, the uploads) load with
    # its first submission: a container that serves views does not wait for them.
    from .intake import build_intake_service  # noqa: PLC0415

    return build_intake_service(_secrets(), captcha=False)


@functools.cache
def partner_routes() -> PartnerRoutes:
    # The nonces and quota counters are the guard's table's, keyed "partner:<id>#...".
    gate = PartnerGate(runtime.policy().partners, PartnerKeys(_secrets()), _guard())
    return PartnerRoutes(gate, _lookups, _intake)


def prepared() -> PartnerRoutes:
    """SnapStart's init: the routes and both services behind them, built now."""
    _lookups()
    _intake()
    return partner_routes()
