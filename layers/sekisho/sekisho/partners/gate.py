"""The gate of every partner route: who signed this request, and may it come in?

In order, each step answering before the next costs anything: the route's switch, then
the signature's shape (:func:`~.signature.read_signature`), the partner its keyid names,
the cryptographic check with the partner's current key (and, within the grace, its
previous one), ``created`` within the allowed skew, the body's Content-Digest, the route
given to the partner (else the 404 of an undeclared route), its networks, its client
certificate, then one write each for the nonce (accepted once) and the quota's minute
and day counters. Every refusal is audited with the partner (when the keyid names one),
never with a hint of which key or which part of the signature failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from sekisho import metrics
from sekisho.access.errors import NetworkNotAllowed
from sekisho.access.when import admitted
from sekisho.audit import audit
from sekisho.errors import NotFound, SekishoError
from sekisho.policy.partners import PartnerPolicy

from .certificates import check_certificate
from .digest import check_digest
from .errors import PartnerRefused, QuotaExceeded, SignatureReplayed, SignatureStale, UnknownPartner
from .keys import PartnerKeys
from .message import SignedMessage
from .signature import MAX_SKEW_SECONDS, read_signature, verifies

logger = logging.getLogger(__name__)

Section = Literal["views", "forms"]
# A nonce is remembered past the whole window a signature could be accepted in.
NONCE_TTL_SECONDS = 2 * MAX_SKEW_SECONDS + 60
# Counter keys start with the partner: PartnerFunction's IAM admits only these prefixes.
KEY_PREFIX = "partner:"


class Counter(Protocol):
    """What the gate needs of the guard: one atomic count at a key (Guard.take)."""

    def take(self, key: str, *, limit: int, expires_at: int) -> bool: ...


@dataclass(frozen=True)
class PartnerCall:
    """An admitted call: the partner and the claims its route may use."""

    partner_id: str
    claims: Mapping[str, str]


class PartnerGate:
    def __init__(
        self,
        partners: Mapping[str, PartnerPolicy],
        keys: PartnerKeys,
        counter: Counter,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._partners = partners
        self._keys = keys
        self._counter = counter
        self._clock = clock

    def admit(
        self, message: SignedMessage, section: Section, route: str, client_ip: str
    ) -> PartnerCall:
        partner_id: str | None = None
        try:
            signature = read_signature(message)
            partner = self._partners.get(signature.keyid)
            if partner is None or not partner.enabled:
                raise UnknownPartner()
            partner_id = signature.keyid
            # A declared partner: its calls count under it, refused ones too.
            metrics.name_route(f"partner:{partner_id}")
            now = self._clock()
            if signature.alg != partner.algorithm or not self._verifies(
                message, partner, signature.keyid, now
            ):
                raise PartnerRefused()
            if abs(now - signature.created) > MAX_SKEW_SECONDS:
                raise SignatureStale()
            check_digest(message.header("content-digest"), message.body)
            if not partner.may_call(section, route):
                raise NotFound()
            if partner.networks is not None and not admitted(client_ip, partner.networks):
                raise NetworkNotAllowed()
            check_certificate(partner_id, partner, message.client_cert, self._partners)
            self._once(partner_id, signature.nonce, now)
            self._within_quota(partner_id, partner, now)
        except SekishoError as exc:
            audit(
                "partner_refused",
                # views -> view:<name>, as the metrics and every other audit line name it.
                route=f"{section.removesuffix('s')}:{route}",
                caller="partner",
                partner=partner_id,
                outcome=getattr(exc, "outcome", exc.code),
                client_ip=client_ip,
            )
            raise
        return PartnerCall(partner_id, dict(partner.claims))

    def _verifies(
        self, message: SignedMessage, partner: PartnerPolicy, keyid: str, now: float
    ) -> bool:
        for key in self._keys.keys(partner):
            if verifies(message, algorithm=partner.algorithm, key=key, keyid=keyid, now=now):
                return True
        # A key rotated in since this container read it: one fresh read, spaced out.
        if self._keys.refresh(partner):
            [current, *_] = self._keys.keys(partner)
            return verifies(message, algorithm=partner.algorithm, key=current, keyid=keyid, now=now)
        return False

    def _once(self, partner_id: str, nonce: str, now: float) -> None:
        key = f"{KEY_PREFIX}{partner_id}#nonce#{nonce}"
        if not self._counter.take(key, limit=1, expires_at=int(now) + NONCE_TTL_SECONDS):
            raise SignatureReplayed()

    def _within_quota(self, partner_id: str, partner: PartnerPolicy, now: float) -> None:
        if partner.quota is None:
            return
        for window, seconds, limit in (
            ("m", 60, partner.quota.per_minute),
            ("d", 86_400, partner.quota.per_day),
        ):
            number = int(now // seconds)
            ends = (number + 1) * seconds
            key = f"{KEY_PREFIX}{partner_id}#quota#{window}#{number}"
            if not self._counter.take(key, limit=limit, expires_at=ends + 60):
                raise QuotaExceeded(retry_after=int(ends - now) + 1)
