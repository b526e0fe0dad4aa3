"""Secure views over kintone: the filter is enforced here, not in the browser.

A lookup names a view of the policy and sends the view's ``match`` values. The relay
checks the caller's rate, refuses locked-out keys, compiles one query from the policy
(server condition + exact predicates), makes exactly one kintone call with a projection,
then re-checks every returned record itself and returns only the projected fields.
Everything that is not a hit — unknown view, wrong value, nothing found, locked out —
is the same 404, answered at one fixed deadline from the request's start: a locked-out
value (no kintone call) and a miss (a kintone round trip and the failure counts) take
the same time, as long as kintone answers inside the deadline.

A view with ``guard.budget`` spends one unit of it per kintone call; the budget is read
together with the lockout counters, so an exhausted budget answers 429 whether or not
the value is locked (the answer tells nothing about the value).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sekisho.access.errors import RouteNotOpen
from sekisho.audit import audit
from sekisho.browser_route import BrowserRoute, ClientFactory
from sekisho.errors import (
    NotFound,
    RateLimited,
    RouteBudgetExhausted,
    RouteDisabled,
    SekishoError,
    ValidationFailed,
)
from sekisho.guard.budget import spend_or_refuse
from sekisho.guard.network import client_network
from sekisho.kintone.cells import matches, plain
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.query import Predicate, compile_query
from sekisho.switches import RouteSwitches

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sekisho.guard.guard import Guard
    from sekisho.kintone.client import KintoneClient, TokenSource
    from sekisho.policy import Policy, ViewPolicy


# Every guard counter of a view is keyed "view:<name>#...": the lookup role's IAM
# condition (template.yaml) admits only keys with this prefix.
SCOPE_PREFIX = "view:"
RECORD_ID = "$id"
# Every not-found answers this long after the request started (NOT_FOUND_DEADLINE_MS):
# longer than kintone's usual round trip plus the failure counts, so a locked-out value,
# which costs no kintone call, cannot be told from a miss by its timing.
DEFAULT_NOT_FOUND_DEADLINE = 1.0


@dataclass(frozen=True)
class LookupRequest:
    view: str
    body: Mapping[str, Any]
    client_ip: str
    claims: Mapping[str, str] = field(default_factory=dict)
    # The partner whose signed call this is (PartnerFunction): a partner-only view, its
    # claims from the policy, its quota counted already in place of the per-IP guard.
    partner: str | None = None


class _Miss(NotFound):
    """A 404 like any other, with the reason kept for the audit log only."""

    def __init__(self, outcome: str) -> None:
        super().__init__()
        self.outcome = outcome


def _field_error(name: str, code: str, detail: str) -> dict[str, str]:
    return {"pointer": f"/match/{name}", "code": code, "detail": detail}


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


class LookupService(BrowserRoute):
    def __init__(
        self,
        policy: Policy,
        token_sources: Callable[[str], TokenSource],
        guard: Guard,
        kintone_base_url: str,
        *,
        client_factory: ClientFactory | None = None,
        not_found_deadline: float = DEFAULT_NOT_FOUND_DEADLINE,
        switches: RouteSwitches | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            policy,
            token_sources,
            guard,
            kintone_base_url,
            client_factory=client_factory or KintoneClient,
            switches=switches,
            clock=clock,
            sleep=sleep,
            wall=wall,
        )
        self._deadline = not_found_deadline

    def lookup(self, request: LookupRequest) -> list[dict[str, Any]]:
        started = self._clock()
        outcome, values, found = "error", {}, 0
        record_ids: list[object] = []
        scope = f"{SCOPE_PREFIX}{request.view}"
        try:
            view = self._view(request)
            self._switches.check("views", request.view, enabled=view.enabled)
            self._check_when(view.when, request.client_ip)
            guard = view.guard
            counted = request.partner is None
            if counted and not self._guard.allow_request(scope, request.client_ip, guard.per_ip):
                outcome = "rate_limited"
                raise RateLimited("try again later")
            values = self._values(view, request)
            network = (
                client_network(request.client_ip) if guard.lockout == "value_and_network" else None
            )
            standing = self._guard.standing(
                scope, values, guard.failures_per_key, network=network, budget=guard.budget
            )
            if standing.budget_exhausted:
                raise RouteBudgetExhausted(standing.budget_resets_in)
            if standing.locked:
                raise _Miss("locked")
            if guard.budget is not None:
                spend_or_refuse(self._guard, scope, guard.budget)
            records = self._matching_records(view, values)
            found = len(records)
            record_ids = [plain(record.get(RECORD_ID)) for record in records]
            if not records:
                self._guard.record_failure(scope, values, guard.failures_per_key, network=network)
                raise _Miss("not_found")
            outcome = "found"
            return [{code: plain(record.get(code)) for code in view.fields} for record in records]
        except NotFound as exc:
            outcome = exc.outcome if isinstance(exc, _Miss) else "unknown_view"
            self._pad(started)
            raise NotFound() from None
        except ValidationFailed:
            outcome = "invalid"
            raise
        except (RouteDisabled, RouteNotOpen) as exc:
            outcome = exc.outcome
            raise
        except RouteBudgetExhausted:
            outcome = "budget_exhausted"
            raise
        except SekishoError as exc:
            if outcome == "error":
                outcome = "upstream_unavailable" if exc.status == 503 else "failed"
            raise
        finally:
            audit(
                "lookup",
                route=scope,
                outcome=outcome,
                caller="partner" if request.partner else "anonymous",
                record_ids=record_ids,
                partner=request.partner,
                client_ip=request.client_ip,
                predicates={
                    name: self._guard.fingerprint(scope, name, value)
                    for name, value in values.items()
                },
                records=found,
                duration_ms=round((self._clock() - started) * 1000, 1),
            )

    # -- steps -----------------------------------------------------------------------

    def _view(self, request: LookupRequest) -> ViewPolicy:
        """A partner's call reaches partner views only, a browser's never reaches one."""
        if request.partner is not None:
            return self._policy.partner_view(request.view)
        return self._policy.browser_view(request.view)

    def _values(self, view: ViewPolicy, request: LookupRequest) -> dict[str, str]:
        """The caller's match values, checked against the view's declared predicates."""
        if set(request.body) != {"match"} or not isinstance(request.body.get("match"), dict):
            raise ValidationFailed(
                'the body must be {"match": {...}} and nothing else',
                errors=[{"pointer": "/match", "code": "required", "detail": "an object"}],
            )
        submitted: Mapping[str, Any] = request.body["match"]
        errors: list[dict[str, str]] = []
        values: dict[str, str] = {}
        from_body = {name for name, rule in view.match.items() if rule.claim is None}
        for name in sorted(set(submitted) - from_body):
            errors.append(_field_error(name, "not_allowed", "this view takes no such value"))
        for name, rule in view.match.items():
            if rule.claim is not None:
                claim = request.claims.get(rule.claim)
                if claim is None:
                    # Not the caller's typo: the identity lacks what the view requires.
                    raise _Miss("claim_missing")
                values[name] = claim
                continue
            value = submitted.get(name)
            if value is None:
                errors.append(_field_error(name, "required", "this value is required"))
            elif not isinstance(value, str):
                errors.append(_field_error(name, "type", "must be a string"))
            elif not value or len(value) > rule.max_length:
                errors.append(
                    _field_error(name, "length", f"must be 1 to {rule.max_length} characters")
                )
            elif _has_control_characters(value) or not rule.accepts(value):
                errors.append(_field_error(name, "format", "is not in the expected format"))
            else:
                values[name] = value
        if errors:
            raise ValidationFailed("the match values are not valid", errors=errors)
        return values

    def _matching_records(
        self, view: ViewPolicy, values: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        predicates = [
            Predicate(rule.code, view.field_type(rule.code), values[name], rule.max_length)
            for name, rule in view.match.items()
        ]
        query = compile_query(predicates, where=view.where, limit=view.limit)
        # The predicate fields come back too, only so the relay can re-check them below,
        # and the record id, only for the audit line: neither leaves the relay.
        wanted = list(
            dict.fromkeys([*view.fields, *(r.code for r in view.match.values()), RECORD_ID])
        )
        page = self._clients(view.token_secret).get_records(view.app, query, fields=wanted)
        expected = {rule.code: values[name] for name, rule in view.match.items()}
        return [record for record in page.records if matches(record, expected)]

    def _pad(self, started: float) -> None:
        remaining = self._deadline - (self._clock() - started)
        if remaining > 0:
            self._sleep(remaining)
        else:
            # This miss took longer than a locked-out value would: its timing shows. The
            # deadline should sit above kintone's slowest usual answer.
            logger.warning(
                "a not-found answer passed its deadline; raise NOT_FOUND_DEADLINE_MS",
                extra={"late_ms": round(-remaining * 1000, 1)},
            )
