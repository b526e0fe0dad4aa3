"""Validation of partner systems: each partner's key, routes, networks, quota and claims,
and the partner-only views they call (``caller: partner``).

A partner is another company's system, so what it may reach is checked here rather than
trusted to review: a partner-only view must be given to a partner and take at least one
predicate from the partner's claims (else the partner alone chooses which records it
reads), every claim a view uses must be declared by each partner that calls it, and a
partner reachable from every address must have a quota.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator

from ..model import Policy
from ..partners import DEFAULT_PARTNER_GRACE_SECONDS, PARTNER_CLAIM, normal_serial
from ..partners import ClientCertificate as RuntimeCertificate
from ..partners import PartnerPolicy as RuntimePartner
from .base import StrictModel, no_duplicates
from .names import ClaimName, RouteName, SecretName

Location = tuple[str | int, ...]
Issue = tuple[Location, str]

_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*")
# RFC 4514 as API Gateway writes a subject: attribute=value pairs separated by commas.
_DN = re.compile(r"[A-Za-z][A-Za-z0-9.]*=[^,]+(,[A-Za-z][A-Za-z0-9.]*=[^,]+)*")
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,2}(:?[0-9A-Fa-f]{2})*")
ClaimValue = Annotated[str, Field(min_length=1, max_length=256)]


class PartnerRoutes(StrictModel):
    views: Annotated[tuple[RouteName, ...], Field(strict=False)] = ()
    forms: Annotated[tuple[RouteName, ...], Field(strict=False)] = ()

    @field_validator("views", "forms")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return no_duplicates(value)

    @model_validator(mode="after")
    def _some_route(self) -> PartnerRoutes:
        if not (self.views or self.forms):
            raise ValueError("give the partner at least one view or form, or remove it")
        return self


class PartnerQuota(StrictModel):
    per_minute: int = Field(ge=1, le=100_000)
    per_day: int = Field(ge=1, le=100_000_000)

    @model_validator(mode="after")
    def _day_holds_a_minute(self) -> PartnerQuota:
        if self.per_day < self.per_minute:
            raise ValueError("per_day is less than per_minute: the day would end in a minute")
        return self


class ClientCertificate(StrictModel):
    subject: Annotated[str, Field(min_length=3, max_length=1024, pattern=_DN.pattern)]
    # Hex as API Gateway writes it; compared without case or colons.
    serial: Annotated[str, Field(min_length=1, max_length=128, pattern=_SERIAL.pattern)] | None = (
        None
    )


class PartnerPolicy(StrictModel):
    """A partner system: how it signs, what it may call, from where, how often."""

    key_secret: SecretName | None = None
    public_key: Annotated[str, Field(max_length=4096)] | None = None
    algorithm: Literal["hmac-sha256", "ed25519"] = "hmac-sha256"
    routes: PartnerRoutes
    networks: Annotated[tuple[IPvAnyNetwork, ...], Field(strict=False)] | None = None
    quota: PartnerQuota | None = None
    claims: dict[ClaimName, ClaimValue] = Field(default_factory=dict)
    client_cert: ClientCertificate | None = None
    grace_seconds: int = Field(DEFAULT_PARTNER_GRACE_SECONDS, ge=0, le=30 * 86_400)
    enabled: bool = True

    @field_validator("networks")
    @classmethod
    def _some_network(cls, value: tuple[object, ...] | None) -> tuple[object, ...] | None:
        if value is not None and not value:
            raise ValueError("list at least one network, or leave networks out")
        return no_duplicates(value) if value is not None else None

    @model_validator(mode="after")
    def _one_key_for_its_algorithm(self) -> PartnerPolicy:
        if self.algorithm == "hmac-sha256":
            if self.key_secret is None or self.public_key is not None:
                raise ValueError("hmac-sha256 needs key_secret (the shared key), not public_key")
        elif self.public_key is None or self.key_secret is not None:
            raise ValueError("ed25519 needs public_key (the partner keeps the private key)")
        elif not _PEM.fullmatch(self.public_key):
            raise ValueError("public_key must be a PEM public key (BEGIN PUBLIC KEY)")
        return self

    @model_validator(mode="after")
    def _limited(self) -> PartnerPolicy:
        open_to_all = self.networks is None or any(n.prefixlen == 0 for n in self.networks)
        if open_to_all and self.quota is None:
            raise ValueError(
                "a partner reachable from every address needs a quota (per_minute, per_day)"
            )
        return self


def _partner_views(policy: Policy) -> Iterator[tuple[str, str]]:
    for partner_id, partner in policy.partners.items():
        for view in partner.routes.views:
            yield partner_id, view


def partner_issues(policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    for partner_id, partner in policy.partners.items():
        issues.extend(_partner_issues(partner_id, partner, policy))
    given = {view for _, view in _partner_views(policy)}
    for name, view in policy.views.items():
        if view.caller != "partner":
            continue
        loc: Location = ("views", name)
        if view.session is not None:
            issues.append(((*loc, "session"), "a partner view has no signed-in visitor"))
        if name not in given:
            issues.append(((*loc, "caller"), "no partner lists this view under routes.views"))
        if not any(rule.claim is not None for rule in view.match.values()):
            issues.append(
                (
                    (*loc, "match"),
                    "a partner view needs a predicate from: claim:<name>, or the partner "
                    "alone chooses which records it reads",
                )
            )
        if view.single_predicate is not None:
            issues.append(((*loc, "single_predicate"), "a partner view's claims bound it; drop it"))
    return issues


def _partner_issues(partner_id: str, partner: RuntimePartner, policy: Policy) -> list[Issue]:
    loc: Location = ("partners", partner_id)
    issues: list[Issue] = []
    if partner.claims.get(PARTNER_CLAIM) != partner_id:
        issues.append(
            ((*loc, "claims", PARTNER_CLAIM), f"declare {PARTNER_CLAIM}: {partner_id} (the keyid)")
        )
    for index, name in enumerate(partner.routes.views):
        where = (*loc, "routes", "views", index)
        view = policy.views.get(name)
        if view is None:
            issues.append((where, f"view {name} is not declared under views"))
            continue
        if view.caller != "partner":
            issues.append((where, f"view {name} is a browser's: declare caller: partner on it"))
            continue
        for key, rule in view.match.items():
            if rule.claim is not None and rule.claim not in partner.claims:
                issues.append(
                    (
                        (*loc, "claims"),
                        f"view {name} takes match.{key} from claim {rule.claim}, which this "
                        "partner does not declare",
                    )
                )
    for index, name in enumerate(partner.routes.forms):
        if name not in policy.forms:
            issues.append(((*loc, "routes", "forms", index), f"form {name} is not declared"))
    mine = partner.client_cert
    if mine is not None:
        for other_id, other in policy.partners.items():
            theirs = other.client_cert
            if other_id == partner_id or theirs is None or theirs.subject != mine.subject:
                continue
            if mine.serial is None or theirs.serial is None or _same_serial(mine, theirs):
                issues.append(
                    (
                        (*loc, "client_cert"),
                        f"partner {other_id}'s certificate has the same subject: give each "
                        "its own subject, or both their serials",
                    )
                )
    return issues


def _same_serial(one: RuntimeCertificate, other: RuntimeCertificate) -> bool:
    return normal_serial(one.serial or "") == normal_serial(other.serial or "")
