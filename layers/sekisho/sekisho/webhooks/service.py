"""POST /webhooks/{source}: verify, deduplicate, queue, and only then acknowledge.

The order matters. A delivery is verified by its source's scheme against the current
secret (and the previous one inside its grace period). Its dedupe key then runs through
:class:`~sekisho.once.RunOnce` in the GuardTable: the first delivery holds an in-progress
record while it sends the event to WebhookQueue, and the record becomes the dedupe
record ("already queued", kept for days) only after the queue accepted the event. When
the queue refuses, the in-progress record is deleted and the answer is a 503, so the
sender's retry is accepted rather than swallowed as a duplicate. A redelivery that finds
the first still in flight waits briefly for it, then gets a 503 with Retry-After.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sekisho.access.when import check_when, wall_now
from sekisho.audit import audit
from sekisho.errors import ConfigurationError, PayloadTooLarge, SekishoError
from sekisho.once import AlreadyRunning, RunOnce, StoreUnavailable
from sekisho.switches import RouteSwitches

from .delivery import Delivery, Verified
from .errors import (
    DeliveryInProgress,
    MalformedDelivery,
    SignatureMismatch,
    SourceForbidden,
    UnknownSource,
    WebhookQueueUnavailable,
)
from .keys import CURRENT, SigningKeys
from .queue import MAX_MESSAGE_BYTES, EventQueue, attributes, encode_event, message_bytes
from .refetch import Refetcher
from .schemes import VERIFIERS

if TYPE_CHECKING:
    from sekisho.policy import Policy, WebhookPolicy

logger = logging.getLogger(__name__)

# Senders retry for up to three days; a redelivery inside this is answered "duplicate".
DEDUPE_SECONDS = 7 * 86_400
KEY_PREFIX = "sekisho.webhook"
# How long a redelivery waits for a concurrent first delivery to finish queueing.
IN_PROGRESS_WAITS = (0.1, 0.2, 0.4, 0.8)


@dataclass(frozen=True)
class Receipt:
    status: str  # "queued" | "duplicate" | "challenge"
    body: dict[str, Any]


def _now_iso(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slack_challenge(delivery: Delivery) -> str | None:
    """Slack's url_verification handshake (signed like any event) echoes a challenge."""
    try:
        body = delivery.json_object()
    except MalformedDelivery:
        return None
    challenge = body.get("challenge")
    if body.get("type") == "url_verification" and isinstance(challenge, str):
        return challenge
    return None


class WebhookService:
    def __init__(
        self,
        policy: Policy,
        keys: SigningKeys,
        queue: EventQueue,
        once: RunOnce,
        refetcher: Refetcher | None = None,
        *,
        switches: RouteSwitches | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._policy = policy
        self._switches = switches or RouteSwitches()
        self._keys = keys
        self._queue = queue
        self._once = once
        self._refetcher = refetcher
        self._sleep = sleep
        self.clock = clock

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        # One clock for the time windows, the grace period and received_at.
        self._clock = clock
        self._keys.clock = clock

    def receive_event(
        self,
        source: str,
        event: Mapping[str, Any],
        *,
        max_body_bytes: int,
        remaining_ms: Callable[[], int] | None = None,
    ) -> Receipt:
        """An API Gateway event: the exact bytes received, size-capped, then :meth:`receive`."""
        try:
            delivery = Delivery.from_event(event)
            if len(delivery.body) > max_body_bytes:
                raise PayloadTooLarge(f"the body must be at most {max_body_bytes} bytes")
        except SekishoError as exc:
            identity = (event.get("requestContext") or {}).get("identity") or {}
            _audit_refusal({"source": source, "client_ip": identity.get("sourceIp")}, exc)
            raise
        return self.receive(source, delivery, remaining_ms=remaining_ms)

    def receive(
        self,
        source: str,
        delivery: Delivery,
        *,
        remaining_ms: Callable[[], int] | None = None,
    ) -> Receipt:
        """Verify, dedupe and queue one delivery; every outcome is one audit line."""
        fields: dict[str, Any] = {"source": source, "client_ip": delivery.source_ip}
        try:
            hook = self._policy.webhooks.get(source)
            if hook is None:
                raise UnknownSource("no such webhook source")
            fields["scheme"] = hook.scheme
            self._check_address(hook, delivery)
            # Before verifying: a switched-off source costs no key read, and its sender
            # retries the 503 later (an address it refuses still gets its 403).
            self._switches.check("webhooks", source, enabled=hook.enabled)
            # Before the key read too; allow_ips (above) and when.networks must both admit.
            check_when(hook.when, now=wall_now(self._clock), source_ip=delivery.source_ip)
            if not delivery.body:
                # No sender posts an event without a body (the contract requires one), and
                # Standard Webhooks, GitHub and Slack sign the body without reading it: a
                # signed empty one would be queued as an event that says nothing.
                raise MalformedDelivery("the delivery has no body")
            verification = self._verify(hook, delivery)
            verified = verification.result
            fields["dedupe_key"] = verified.dedupe_key
            _audit(fields, "verified", stage=verification.stage)
            if verification.stage != CURRENT:
                # Passes only until the grace period ends: the sender must get the new key.
                logger.warning(
                    "webhook delivery verified with the previous key",
                    extra={"source": source, "scheme": hook.scheme},
                )
            if hook.scheme == "slack" and (challenge := _slack_challenge(delivery)) is not None:
                _audit(fields, "challenge")
                return Receipt("challenge", {"challenge": challenge})
            replayed = self._queue_once(source, hook, delivery, verified, remaining_ms)
        except SekishoError as exc:
            _audit_refusal(fields, exc)
            raise
        except Exception as exc:
            # A bug: still one audit line (the resolver answers 500 and logs the trace).
            _audit(fields, "error", reason=type(exc).__name__)
            raise
        status = "duplicate" if replayed else "queued"
        _audit(fields, status)
        return Receipt(status, {"status": status})

    # ---------------------------------------------------------------- verification

    @staticmethod
    def _check_address(hook: WebhookPolicy, delivery: Delivery) -> None:
        if not hook.networks:
            return
        try:
            address = ipaddress.ip_address(delivery.source_ip)
        except ValueError:
            raise SourceForbidden("no usable source address") from None
        if not any(address in network for network in hook.networks):
            raise SourceForbidden("the source address is not allowed")

    def _verify(self, hook: WebhookPolicy, delivery: Delivery) -> _Verification:
        try:
            return self._verify_cached(hook, delivery)
        except SignatureMismatch:
            # Perhaps the key was rotated since this container cached it: look once.
            if not self._keys.refresh(hook):
                raise
        return self._verify_cached(hook, delivery)

    def _verify_cached(self, hook: WebhookPolicy, delivery: Delivery) -> _Verification:
        verify = VERIFIERS[hook.scheme]
        mismatch: SignatureMismatch | None = None
        for stage, secret in self._keys.versions(hook):
            try:
                return _Verification(verify(delivery, secret, now=self._clock()), stage)
            except SignatureMismatch as exc:
                mismatch = exc  # the previous key (inside its grace period) may still match
            except ConfigurationError:
                if stage == CURRENT:
                    raise  # the operator must fix the current key
                # An empty placeholder (the first rotation's AWSPREVIOUS) or another value
                # the verifier cannot use: there is no previous key, the delivery is forged.
                self._keys.previous_unusable(hook)
        raise mismatch or SignatureMismatch("no key matched")

    # ---------------------------------------------------------------- queueing, once

    def _queue_once(
        self,
        source: str,
        hook: WebhookPolicy,
        delivery: Delivery,
        verified: Verified,
        remaining_ms: Callable[[], int] | None,
    ) -> bool:
        """Queue the event unless it was queued before; True for a duplicate."""

        def enqueue() -> dict[str, Any]:
            encoded = encode_event(self._message(source, hook, delivery, verified))
            size = message_bytes(encoded, attributes(verified.dedupe_key, source))
            if size > MAX_MESSAGE_BYTES:
                raise PayloadTooLarge("the event is too large to queue")
            try:
                self._queue.send(encoded, dedupe_key=verified.dedupe_key, source=source)
            except (ClientError, BotoCoreError) as exc:
                raise WebhookQueueUnavailable("the event could not be queued") from exc
            return {"status": "queued"}

        key = f"{source}#{verified.dedupe_key}"
        for wait in (*IN_PROGRESS_WAITS, None):
            try:
                return self._once.run(key=key, action=enqueue, remaining_ms=remaining_ms).replayed
            except AlreadyRunning:
                if wait is None:
                    break
                self._sleep(wait)
            except StoreUnavailable as exc:
                raise WebhookQueueUnavailable("the dedupe table failed") from exc
        raise DeliveryInProgress("the same event is being queued; try again")

    def _message(
        self, source: str, hook: WebhookPolicy, delivery: Delivery, verified: Verified
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "source": source,
            "scheme": hook.scheme,
            "dedupe_key": verified.dedupe_key,
            "event_type": verified.event_type,
            "received_at": _now_iso(self._clock()),
        }
        if hook.refetch is not None:
            if self._refetcher is None:
                raise ConfigurationError("a refetch source needs a kintone refetcher")
            return message | self._refetcher.event(hook.refetch, delivery.json_object())
        # A hint for the consumer, not part of what was verified.
        content_type = (delivery.headers.get("content-type") or ("application/octet-stream",))[0]
        return message | {"content_type": content_type, "body": delivery.text()}


@dataclass(frozen=True)
class _Verification:
    result: Verified
    stage: str


def _reason(exc: SekishoError) -> str:
    return getattr(exc, "reason", None) or type(exc).__name__


def _audit_refusal(fields: Mapping[str, Any], exc: SekishoError) -> None:
    outcome = getattr(exc, "outcome", None) or exc.code
    _audit(fields, outcome, reason=_reason(exc))


def _audit(fields: Mapping[str, Any], outcome: str, **extra: Any) -> None:
    """One receipt line. No record ids: a receipt queues an event and reads no record
    (the action that applies it says which record it wrote)."""
    audit(
        "webhook.receipt",
        route=f"webhook:{fields['source']}",
        caller="webhook",
        outcome=outcome,
        **fields,
        **extra,
    )
