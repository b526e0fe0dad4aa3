"""Generated webhook requests turned into deliveries a real sender could have made.

The contract fuzzer hands every generated request for ``/webhooks/<source>`` to
:meth:`WebhookDeliveries.prepare` before it is sent. Most are signed with the source's own
key from the local stack (read from its moto, never printed), each scheme the way its
sender signs (``webhook_senders``, which shares no code with the verifiers), over the very
bytes that go on the wire: the body is serialised here and those bytes are handed to the
transport, which sends them unchanged (the case keeps the body as a value, for the
checks). A share is signed wrongly (another key, other bytes, an old timestamp) or left
as generated, so the verifier keeps meeting forgeries.

Whether a request got past the verifier is what the relay itself says: the webhook
function writes the audit line ``webhook.receipt`` with ``outcome="verified"`` once its
scheme's verifier accepted the delivery (the signature matched, inside the time window,
and the dedupe id could be read), and only then; what it says next (queued, duplicate,
record_missing, ...) is the code past the verifier at work. Every line carries the API
request id the router answers in ``x-amzn-RequestId``. The workers' output goes to a file
(see :func:`children_writing_to`), which :class:`WorkerLog` reads after each answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation

from devstack.send import new_event_id
from sekisho.policy import WebhookPolicy
from webhook_senders import demo_secret, sign

PREFIX = "/webhooks/"
SIGNED, WRONGLY_SIGNED, UNSIGNED = "signed", "wrongly_signed", "unsigned"
KINDS = (SIGNED, WRONGLY_SIGNED, UNSIGNED)
VERIFIED = "verified"
# Far outside every scheme's window (the widest, Box's, is ten minutes).
STALE_SECONDS = 3600
# Headers a GitHub sender sets but does not sign: the generated value may stay, so what
# the relay hands on as the event type is generated text too.
UNSIGNED_HINTS = {"github": ("x-github-event",)}
# What kintone notifies: four name a record that must exist, the last one that must not.
KINTONE_TYPES = (
    "ADD_RECORD",
    "UPDATE_RECORD",
    "UPDATE_STATUS",
    "ADD_RECORD_COMMENT",
    "DELETE_RECORD",
)


@contextlib.contextmanager
def children_writing_to(path: Path) -> Iterator[None]:
    """Processes started inside the block write their stdout and stderr to ``path``.

    The stack's workers inherit this process's file descriptors 1 and 2 when they are
    spawned, and that is where their JSON log lines go; pytest would otherwise swallow
    them into whichever test's captured output. This process's own streams are back as
    they were once the block ends.
    """
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = (os.dup(1), os.dup(2))
    try:
        with path.open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in saved:
            os.close(descriptor)


class WorkerLog:
    """The ``webhook.receipt`` outcomes of each API request, from the workers' output."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = b""
        self._lines: dict[str, list[tuple[str, str | None]]] = defaultdict(list)

    def receipts(self, request_id: str) -> tuple[tuple[str, str | None], ...]:
        """(outcome, reason) of each ``webhook.receipt`` line of the request, in order."""
        # A worker writes (and flushes) its audit lines before it answers, so they are in
        # the file by the time the router's answer arrives.
        self._read()
        return tuple(self._lines.get(request_id, ()))

    def _read(self) -> None:
        with self._path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        # A line still being written is read once it is whole.
        self._partial = lines.pop()
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # moto's request lines, a traceback: not the relay's audit
            if (
                isinstance(entry, dict)
                and entry.get("action") == "webhook.receipt"
                and isinstance(entry.get("correlation_id"), str)
            ):
                reason = entry.get("reason")
                self._lines[entry["correlation_id"]].append(
                    (str(entry.get("outcome")), None if reason is None else str(reason))
                )


@dataclass(frozen=True)
class Prepared:
    """One generated request as it is sent: ``kind`` says whether it is signed with the
    source's key, ``how`` what was done to it. ``params`` (the query the sender adds,
    kintone's token) and ``data`` (the body's bytes) go to the transport as they are; the
    token is kept out of the case, whose reports print it."""

    source: str
    kind: str
    how: str
    params: dict[str, str] = field(default_factory=dict, repr=False)
    data: bytes | None = field(default=None, repr=False)

    def transport(self) -> dict[str, Any]:
        sent: dict[str, Any] = {}
        if self.params:
            sent["params"] = self.params
        if self.data is not None:
            sent["data"] = self.data
        return sent


@dataclass(frozen=True)
class Answered:
    prepared: Prepared
    status: int
    receipts: tuple[tuple[str, str | None], ...]

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(outcome for outcome, _ in self.receipts)

    @property
    def past_verifier(self) -> bool:
        return VERIFIED in self.outcomes

    @property
    def outcome(self) -> str:
        """The relay's last word on the request (queued, duplicate, record_missing, ...)."""
        return self.outcomes[-1] if self.receipts else "no audit line"

    @property
    def reason(self) -> str | None:
        """Why it was refused, as the audit line says (a fixed text, never the input)."""
        return self.receipts[-1][1] if self.receipts else None


class Tally:
    """The figures of the run, per source and kind of request."""

    def __init__(self) -> None:
        self._answers: dict[str, dict[str, list[Answered]]] = defaultdict(lambda: defaultdict(list))

    def add(self, answered: Answered) -> None:
        self._answers[answered.prepared.source][answered.prepared.kind].append(answered)

    def figures(self, source: str) -> dict[str, Any]:
        by_kind = self._answers.get(source, {})
        return {kind: _figures(by_kind.get(kind, [])) for kind in KINDS}


def _counted(values: Sequence[Any]) -> dict[str, int]:
    return {str(key): count for key, count in sorted(Counter(values).items())}


def _figures(answers: Sequence[Answered]) -> dict[str, Any]:
    past = [answer for answer in answers if answer.past_verifier]
    return {
        "requests": len(answers),
        "how": _counted([answer.prepared.how for answer in answers]),
        "statuses": _counted([answer.status for answer in answers]),
        "past_verifier": len(past),
        "past_verifier_statuses": _counted([answer.status for answer in past]),
        "past_verifier_outcomes": _counted([answer.outcome for answer in past]),
        "refusals": _counted(
            [f"{answer.outcome}: {answer.reason}" for answer in answers if answer.reason]
        ),
        "5xx": sum(answer.status >= 500 for answer in answers),
    }


class WebhookDeliveries:
    def __init__(
        self,
        hooks: Mapping[str, WebhookPolicy],
        secrets: Mapping[str, Mapping[str, Any]],
        record_ids: Mapping[str, Sequence[int]],
        log: WorkerLog,
    ) -> None:
        self._hooks = hooks
        self._secrets = secrets
        # The records of each refetch source's app, so a notification can name one.
        self._record_ids = record_ids
        self._log = log
        # Each source's earlier event ids: now and then one comes again, a redelivery.
        self._sent: dict[str, list[str | int]] = defaultdict(list)

    def prepare(self, case: Any) -> Prepared | None:
        """Sign (or not) a generated request for a webhook source in place; None for
        anything else (another route, a method the contract does not declare)."""
        if not case.path.startswith(PREFIX) or case.method.upper() != "POST":
            return None
        source = case.path.removeprefix(PREFIX)
        hook = self._hooks[source]
        # Every choice follows from the generated request itself, so Hypothesis replaying
        # a case (to shrink or report a failure) sends it the same way again.
        rng = random.Random(_fingerprint(case))
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        if negative:
            return self._negative(case, source, hook, rng)
        share = rng.random()
        if share < 1 / 8:
            return Prepared(source, UNSIGNED, "as generated")
        if share < 1 / 4:
            return self._wrongly_signed(case, source, hook, rng)
        if share < 3 / 8:
            # The body as generated: what the scheme needs after the signature may be
            # missing, and the relay must refuse that with a 401, not fail.
            return self._sign(case, source, hook, rng, body=case.body, how="body as generated")
        completed = self._complete(case.body, source, hook, rng)
        return self._sign(case, source, hook, rng, body=completed, how="complete")

    def answered(self, prepared: Prepared, status: int, request_id: str | None) -> Answered:
        receipts = self._log.receipts(request_id) if request_id else ()
        return Answered(prepared, status, receipts)

    # ------------------------------------------------------------------ the kinds

    def _negative(
        self, case: Any, source: str, hook: WebhookPolicy, rng: random.Random
    ) -> Prepared:
        """A request the contract refuses stays refused: signed, it keeps what makes it
        invalid (a header left out, the Content-Type probe, no body), so the verifier
        meets a correct signature beside the flaw."""
        query_negated = case.meta.is_negative_at(ParameterLocation.QUERY)
        if rng.random() < 1 / 4 or (hook.scheme == "kintone" and query_negated):
            # kintone's token is its whole signature: a missing or empty one stays so.
            return Prepared(source, UNSIGNED, "as generated")
        return self._sign(case, source, hook, rng, body=case.body, how="negation kept")

    def _wrongly_signed(
        self, case: Any, source: str, hook: WebhookPolicy, rng: random.Random
    ) -> Prepared:
        # Everything else is what the relay accepts: only the signature is wrong.
        body = self._complete(case.body, source, hook, rng)
        ways = ["another key"]
        if hook.scheme != "kintone":  # kintone's token does not cover the body
            ways.append("other bytes")
        if hook.scheme not in ("github", "kintone"):  # neither signs a time
            ways.append("an old timestamp")
        how = rng.choice(ways)
        return self._sign(case, source, hook, rng, body=body, how=how, forged=how)

    # ------------------------------------------------------------------ signing

    def _sign(
        self,
        case: Any,
        source: str,
        hook: WebhookPolicy,
        rng: random.Random,
        *,
        body: Any,
        how: str,
        forged: str | None = None,
    ) -> Prepared:
        payload = b"" if isinstance(body, NotSet) else _serialised(body, rng)
        secret = demo_secret(hook.scheme) if forged == "another key" else self._secrets[source]
        now = int(time.time()) - (STALE_SECONDS if forged == "an old timestamp" else 0)
        signed_bytes = payload + b"\n" if forged == "other bytes" else payload
        delivery_id = self._delivery_id(case, source, hook.scheme, rng)
        signed = sign(hook.scheme, signed_bytes, secret, now=now, delivery_id=delivery_id)
        data = None
        if not isinstance(body, NotSet):
            # The case holds the body as a value (so the checks judge it as generated and
            # completed); the transport sends these bytes, the ones that were signed.
            case.body = body
            data = payload
        case.headers = self._headers(case, hook, signed.headers)
        kind = WRONGLY_SIGNED if forged else SIGNED
        return Prepared(source, kind, how, dict(signed.query), data)

    @staticmethod
    def _headers(case: Any, hook: WebhookPolicy, signed: Mapping[str, str]) -> dict[str, str]:
        generated = dict(case.headers or {})
        present = {name.lower() for name in generated}
        declared = {parameter.name.lower() for parameter in case.operation.headers}
        keep_negation = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
        hints = UNSIGNED_HINTS.get(hook.scheme, ())
        # The media type stays the case's: schemathesis names it (or probes with another).
        added = {name: value for name, value in signed.items() if name.lower() != "content-type"}
        if keep_negation:
            # A declared header the negative case left out stays out.
            added = {
                name: value
                for name, value in added.items()
                if name.lower() in present or name.lower() not in declared
            }
        added = {name: value for name, value in added.items() if name.lower() not in hints}
        replaced = {name.lower() for name in added}
        kept = {name: value for name, value in generated.items() if name.lower() not in replaced}
        return kept | added

    def _delivery_id(self, case: Any, source: str, scheme: str, rng: random.Random) -> str | None:
        # Only Standard Webhooks keys its dedupe on the delivery id (webhook-id); the other
        # schemes' ids live in the body, and the signer makes a fresh one otherwise.
        if scheme != "standard":
            return None
        generated = [
            value
            for name, value in (case.headers or {}).items()
            if name.lower() == "webhook-id" and isinstance(value, str) and value
        ]
        return str(self._event_id(source, scheme, rng, generated))

    def _event_id(
        self, source: str, scheme: str, rng: random.Random, generated: Sequence[Any]
    ) -> Any:
        # Both drawn whatever came before, so a case replayed later chooses the same way.
        share, pick = rng.random(), rng.random()
        earlier = self._sent[source]
        if share < 1 / 8 and generated:
            # What the generator made, as the id: the relay must refuse what is not one.
            return generated[int(pick * len(generated))]
        if share < 1 / 4 and earlier:
            return earlier[int(pick * len(earlier))]  # a redelivery
        # Fresh, as the sender's own ids are; the schemes that read an id from the body
        # take a number too.
        fresh: str | int = new_event_id(scheme)
        if scheme in ("stripe", "box", "kintone") and share > 7 / 8:
            fresh = uuid.uuid4().int % 10**15
        earlier.append(fresh)
        return fresh

    # ------------------------------------------------------------------ bodies

    def _complete(self, body: Any, source: str, hook: WebhookPolicy, rng: random.Random) -> Any:
        """The generated body with what the scheme needs to be accepted; the rest of it
        stays generated (a body that is not an object goes under ``data``)."""
        if isinstance(body, NotSet):
            return body
        fields = self._fields(body, source, hook, rng)
        if not fields:
            return body
        base = dict(body) if isinstance(body, dict) else {"data": body}
        return base | fields

    def _fields(
        self, body: Any, source: str, hook: WebhookPolicy, rng: random.Random
    ) -> dict[str, Any]:
        scheme = hook.scheme
        # What the generator made, for the fields the relay reads after the signature.
        generated = _generated_nodes(body)
        texts = [node for node in generated if isinstance(node, str)]
        event_type = texts[int(rng.random() * len(texts))] if texts else None
        if scheme == "standard":
            return {"type": event_type} if event_type is not None else {}
        if scheme == "github":
            # GitHub's dedupe key is the body's digest: a commit id of its own keeps two
            # generated bodies (often `{}` or `null`) from being one event.
            commit = hashlib.sha1(uuid.uuid4().bytes, usedforsecurity=False).hexdigest()
            return {"after": commit}
        event_id = self._event_id(source, scheme, rng, generated)
        if scheme == "slack":
            if rng.random() < 1 / 8:
                # The URL handshake: signed like any event, answered with its challenge.
                return {"type": "url_verification", "challenge": event_type or uuid.uuid4().hex}
            event = {"type": event_type} if event_type is not None else {}
            return {"event_id": event_id, "event": event}
        if scheme == "kintone":
            return self._kintone_fields(source, hook, event_id, generated, rng)
        type_field = "trigger" if scheme == "box" else "type"
        return {"id": event_id} | ({type_field: event_type} if event_type is not None else {})

    def _kintone_fields(
        self,
        source: str,
        hook: WebhookPolicy,
        event_id: Any,
        generated: Sequence[Any],
        rng: random.Random,
    ) -> dict[str, Any]:
        """A notification of a record: mostly one the app holds (refetched and queued, or
        refused for a deletion that did not happen), sometimes one it does not (refused,
        unless it is a deletion), and now and then a generated value where kintone writes
        the type, the app or the record id."""
        draws = [rng.random() for _ in range(7)]
        existing = self._record_ids.get(source, ())
        if existing and draws[0] < 5 / 6:
            record_id: Any = existing[int(draws[1] * len(existing))]
        else:
            record_id = max(existing, default=0) + 1 + int(draws[1] * 10**6)
        # kintone writes the id as a string; the relay takes a number as well.
        value: Any = record_id if draws[2] < 1 / 4 else str(record_id)
        app: Any = str(hook.refetch.app) if hook.refetch is not None else "1"
        event_type: Any = KINTONE_TYPES[int(draws[3] * len(KINTONE_TYPES))]
        if generated and draws[4] < 1 / 8:
            # One of the three is generated instead: refused with a 401 after the token
            # matched, unless the generator happened to write a usable one.
            slot = int(draws[4] * 24)
            pick = generated[int(draws[5] * len(generated))]
            value, app, event_type = (
                pick if slot == 0 else value,
                pick if slot == 1 else app,
                pick if slot == 2 else event_type,
            )
        named = (
            {"recordId": value}
            if draws[6] < 1 / 3
            else {"record": {"$id": {"type": "__ID__", "value": value}}}
        )
        return {"id": event_id, "type": event_type, "app": {"id": app}} | named


def _generated_nodes(body: Any) -> list[Any]:
    """Every value the generator put in ``body``, itself and what it holds, keys too."""
    found: list[Any] = []
    stack = [body]
    while stack:
        value = stack.pop()
        found.append(value)
        if isinstance(value, dict):
            found.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _serialised(body: Any, rng: random.Random) -> bytes:
    """The body as a sender might write it: raw UTF-8 or escaped, compact or spaced."""
    separators = rng.choice([(",", ":"), (", ", ": ")])
    if rng.random() < 1 / 2:
        with contextlib.suppress(UnicodeEncodeError):
            # A lone surrogate the generator made has no UTF-8: such a body goes escaped.
            return json.dumps(body, ensure_ascii=False, separators=separators).encode("utf-8")
    return json.dumps(body, separators=separators).encode("ascii")


def _fingerprint(case: Any) -> bytes:
    body = None if isinstance(case.body, NotSet) else case.body
    described = [case.method, case.path, body, case.headers, case.query, str(case.media_type)]
    return hashlib.sha256(
        json.dumps(described, sort_keys=True, default=repr).encode("utf-8", "surrogatepass")
    ).digest()
