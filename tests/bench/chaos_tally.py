"""`make chaos`'s count: every answer classified against openapi.json, every submission and
webhook event looked for in kintone, each figure beside its goal.

An answer is one of:

- 2xx;
- a documented problem: application/problem+json whose `code` is one openapi.json
  documents for the route (a 503 `upstream_unavailable` while kintone is down is one);
- the gateway's answer for a worker lost mid-request (API Gateway's DEFAULT_5XX, 502
  `upstream_unavailable`, as the template declares it): explained for as many requests
  as workers were killed in the middle of one, since that is what API Gateway answers
  when a Lambda environment dies; the browser resubmits with the same Idempotency-Key
  and the submission must still be recorded once;
- anything else (no answer, a code the route does not document, no code at all): listed,
  and a 5xx among them is unexplained.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.chaos_faults import Timeline
from tests.bench.chaos_load import FORM_PATH, VIEW_PATH, WEBHOOK_PATH, Answer, Results
from tests.bench.figures import Figure

PATHS = {"lookup": VIEW_PATH, "submission": FORM_PATH, "webhook": WEBHOOK_PATH}
GATEWAY_5XX = {(502, "upstream_unavailable"), (504, "upstream_unavailable")}
# A lookup whose kintone call was stalled past its read timeout answers this, after it.
STALLED_LOOKUP = (503, "upstream_unavailable")
STALL_SECONDS = 9.5
# After the last rotation step, traffic that may still hold an old value.
ROTATION_AFTERMATH = 5.0
STALE_READ = "secret read failed; serving the cached value"
FAILED_READ = "secret read failed with nothing cached"


def documented_codes(openapi: Path) -> dict[str, frozenset[str]]:
    """Each load path's problem codes, as openapi.json documents them for its POST."""
    document = json.loads(openapi.read_text(encoding="utf-8"))
    codes: dict[str, frozenset[str]] = {}
    for kind, path in PATHS.items():
        found: set[str] = set()
        for response in document["paths"][path]["post"]["responses"].values():
            for content in (response.get("content") or {}).values():
                for part in content.get("schema", {}).get("allOf", []):
                    found |= set(part.get("properties", {}).get("code", {}).get("enum", []))
        codes[kind] = frozenset(found)
    return codes


@dataclass
class Classified:
    ok: int = 0
    documented: int = 0
    gateway: int = 0
    server_errors: int = 0
    explained_server_errors: int = 0
    unexplained: Counter = field(default_factory=Counter)  # "kind status code" -> n
    by_answer: Counter = field(default_factory=Counter)  # "kind status code" -> n

    @property
    def unexplained_server_errors(self) -> int:
        return sum(
            n for key, n in self.unexplained.items() if _status(key) >= 500 or not _status(key)
        )


def _status(key: str) -> int:
    return int(key.split()[1])


def classify(
    answers: Iterable[Answer], codes: dict[str, frozenset[str]], killed: int
) -> Classified:
    tally = Classified()
    lost_mid_request = 0
    for a in answers:
        key = f"{a.kind} {a.status} {a.code or '-'}"
        tally.by_answer[key] += 1
        if a.status >= 500:
            tally.server_errors += 1
        if 200 <= a.status < 300:
            tally.ok += 1
        elif a.code is not None and a.code in codes[a.kind]:
            tally.documented += 1
            if (a.status, a.code) in GATEWAY_5XX and a.kind == "submission":
                lost_mid_request += 1
                if lost_mid_request <= killed:
                    tally.gateway += 1
                    tally.explained_server_errors += 1
                else:
                    tally.unexplained[key] += 1
            elif (a.status, a.code) in GATEWAY_5XX:
                tally.unexplained[key] += 1
            elif a.status >= 500:
                tally.explained_server_errors += 1
        else:
            tally.unexplained[key] += 1
    return tally


def in_window(answers: Iterable[Answer], start: float, end: float) -> list[Answer]:
    """The requests sent between start and end."""
    return [a for a in answers if start <= a.sent <= end]


def failed_during_rotation(answers: list[Answer], timeline: Timeline) -> list[Answer]:
    """Answers to requests sent from the rotation's start to a few seconds after its end
    that are not 2xx, except lookups that waited out a stalled kintone call (the run's
    5 % timeouts, not the rotation)."""
    if "rotation" not in timeline.windows:
        return []
    start, end = timeline.windows["rotation"]
    # The killed worker's submission, resent until its lost attempt's claim expires, is
    # the kill's doing, not the rotation's.
    lost = [
        a.subject for a in answers if a.kind == "submission" and (a.status, a.code) in GATEWAY_5XX
    ][: timeline.killed_mid_request]
    return [
        a
        for a in in_window(answers, start, end + ROTATION_AFTERMATH)
        if not 200 <= a.status < 300
        and not (a.kind == "submission" and a.subject in lost)
        and not (
            a.kind == "lookup"
            and (a.status, a.code) == STALLED_LOOKUP
            and a.at - a.sent >= STALL_SECONDS
        )
    ]


@dataclass(frozen=True)
class KintoneState:
    """What kintone holds at the end, for the load's submissions and events."""

    records_by_name: Counter  # submission name -> records
    receipts: Counter  # receipt -> records
    paid: dict[str, str]  # application -> the event receipt written on it
    revisions_advanced: dict[str, int]  # application -> revisions since it was seeded


def submission_figures(results: Results, kintone: KintoneState) -> list[Figure]:
    accepted = {s.receipt for s in results.submissions if s.receipt}
    recorded = accepted & set(kintone.receipts)
    doubled = sum(n - 1 for n in kintone.records_by_name.values() if n > 1) + sum(
        n - 1 for n in kintone.receipts.values() if n > 1
    )
    never = sum(1 for s in results.submissions if not s.receipt)
    return [
        Figure("submissions made", len(results.submissions), "", digits=0),
        Figure("submissions accepted (201 or 202)", len(accepted), "", digits=0),
        Figure("submissions recorded in kintone", len(recorded), "", digits=0),
        Figure("submissions never accepted", never, "", 0, digits=0),
        Figure("submissions lost", len(accepted - recorded), "", 0, digits=0),
        Figure("submissions doubled", doubled, "", 0, digits=0),
    ]


def doubled_submissions(results: Results, kintone: KintoneState) -> list[str]:
    """Each submission kintone holds more than once: its name, its records, its receipt."""
    answered = {s.name: s for s in results.submissions}
    return [
        f"    doubled: {name!r} × {n} in kintone (answered receipt "
        f"{getattr(answered.get(name), 'receipt', None)}, "
        f"{getattr(answered.get(name), 'attempts', 0)} attempts)"
        for name, n in sorted(kintone.records_by_name.items())
        if n > 1
    ]


def webhook_figures(results: Results, kintone: KintoneState, source: str) -> list[Figure]:
    accepted = [e for e in results.events if e.accepted]
    applied = [e for e in accepted if kintone.paid.get(e.application) == f"{source}#{e.event_id}"]
    doubled = sum(1 for e in results.events if kintone.revisions_advanced.get(e.application, 0) > 1)
    return [
        Figure("webhook events sent", len(results.events), "", digits=0),
        Figure("webhook events accepted (2xx)", len(accepted), "", digits=0),
        Figure("webhook events applied in kintone", len(applied), "", digits=0),
        Figure("webhook events lost", len(accepted) - len(applied), "", 0, digits=0),
        Figure("webhook events doubled", doubled, "", 0, digits=0),
    ]


def answer_figures(tally: Classified) -> list[Figure]:
    return [
        Figure("requests sent", sum(tally.by_answer.values()), "", digits=0),
        Figure("requests answered 2xx", tally.ok, "", digits=0),
        Figure("requests answered with a documented problem", tally.documented, "", digits=0),
        Figure("requests answered 5xx", tally.server_errors, "", digits=0),
        Figure("5xx explained (a documented code)", tally.explained_server_errors, "", digits=0),
        Figure("5xx for a killed worker's request (gateway 502)", tally.gateway, "", digits=0),
        Figure("5xx unexplained, or no answer", tally.unexplained_server_errors, "", 0, digits=0),
        Figure(
            "4xx with an undocumented code",
            sum(tally.unexplained.values()) - tally.unexplained_server_errors,
            "",
            0,
            digits=0,
        ),
    ]


def secret_reads(log_text: str) -> Counter:
    """(message, function) -> lines of the workers' log, for the two secret warnings."""
    found: Counter = Counter()
    for line in log_text.splitlines():
        if STALE_READ not in line and FAILED_READ not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        found[entry.get("message"), entry.get("function_name")] += 1
    return found


def outage_figures(
    answers: list[Answer], timeline: Timeline, log_text: str, request_functions: Iterable[str]
) -> list[Figure]:
    start, end = timeline.windows.get("Secrets Manager unreachable", (0.0, -1.0))
    during = in_window(answers, start, end)
    # While kintone is in maintenance a 5xx says nothing about Secrets Manager.
    down_from, down_to = timeline.windows.get("kintone maintenance", (0.0, -1.0))
    alone = [a for a in during if not down_from <= a.sent <= down_to]
    reads = secret_reads(log_text)
    routed = set(request_functions)
    failed = Counter({fn: n for (msg, fn), n in reads.items() if msg == FAILED_READ})
    return [
        Figure("Secrets Manager down: requests sent", len(during), "", digits=0),
        Figure(
            "Secrets Manager down: answered 2xx",
            sum(1 for a in during if 200 <= a.status < 300),
            "",
            digits=0,
        ),
        Figure(
            "Secrets Manager down, kintone up: answered 5xx",
            sum(1 for a in alone if a.status >= 500),
            "",
            digits=0,
        ),
        Figure(
            "secret reads served stale (stale-if-error)",
            sum(n for (msg, _), n in reads.items() if msg == STALE_READ),
            "",
            digits=0,
        ),
        # A container that starts inside the outage has nothing to serve stale, as on
        # Lambda: its requests get 503 upstream_unavailable (documented, so counted above)
        # and a consumer's message goes back to its queue. Printed, no goal: the goal is
        # on what the requests got.
        Figure(
            "secret reads failed, nothing cached: request functions",
            sum(n for fn, n in failed.items() if fn in routed),
            "",
            digits=0,
        ),
        Figure(
            "secret reads failed, nothing cached: queue consumers",
            sum(n for fn, n in failed.items() if fn not in routed),
            "",
            digits=0,
        ),
    ]


def rotation_figures(answers: list[Answer], timeline: Timeline) -> list[Figure]:
    start, end = timeline.windows.get("rotation", (0.0, 0.0))
    return [
        Figure("secrets rotated", len(timeline.rotated), "", digits=0),
        Figure("rotation failures", len(timeline.rotation_failures), "", 0, digits=0),
        Figure("rotation took", end - start, "s", digits=1),
        Figure(
            "requests failed during the rotation",
            len(failed_during_rotation(answers, timeline)),
            "",
            0,
            digits=0,
        ),
    ]


def fault_figures(timeline: Timeline, broken: dict[str, Any]) -> list[Figure]:
    return [
        Figure("kintone answers lost: reset", broken.get("reset", 0), "", digits=0),
        Figure(
            "kintone answers lost: stalled past the read timeout",
            broken.get("timeout", 0),
            "",
            digits=0,
        ),
        Figure("workers killed mid-request", timeline.killed_mid_request, "", 1, "≥", digits=0),
        Figure("faults that failed to strike", len(timeline.errors), "", 0, digits=0),
    ]


def dead_letter_figures(dead: dict[str, int]) -> list[Figure]:
    return [Figure(f"dead letters on {queue}", n, "", 0, digits=0) for queue, n in dead.items()]


def listed(tally: Classified, rotation_failures: list[Answer], timeline: Timeline) -> list[str]:
    """What a figure counts but cannot show: every unexplained answer, every failure."""
    lines = [f"    unexplained: {n} × {key}" for key, n in sorted(tally.unexplained.items())]
    lines += [
        f"    during the rotation: {a.kind} {a.status} {a.code or '-'}" for a in rotation_failures
    ]
    lines += [f"    rotation failed: {line}" for line in timeline.rotation_failures]
    lines += [f"    fault not struck: {line}" for line in timeline.errors]
    return lines


def answers_by_code(tally: Classified) -> list[str]:
    return [f"    {n:6d} × {key}" for key, n in sorted(tally.by_answer.items())]
