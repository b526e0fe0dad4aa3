"""The in-memory world the session unit tests run in (no tests of its own here).

Every service of SessionFunction is built as its wiring builds it, over twins: the
secret store over its in-memory backend, InMemorySessionStore, the guard over
InMemoryGuardStore, InMemoryMailer, and a kintone twin that runs each query through the
emulator's query engine in-process (no socket) and remembers which token secret made
every call. One fake clock drives them all.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kintone_emulator.query import select
from kintone_emulator.schema import load_seed
from sekisho.entries.corrections import EntrySeats
from sekisho.entries.memory import InMemoryEntryLedger
from sekisho.guard.guard import Guard
from sekisho.guard.memory import InMemoryGuardStore
from sekisho.kintone.client import RecordsPage
from sekisho.kintone.clients import ClientsByToken
from sekisho.kintone.errors import KintonePermissionDenied, KintoneRevisionConflict
from sekisho.policy import Policy
from sekisho.policy.validation import read_policy, validate_policy
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.sessions.caller import Credentials
from sekisho.sessions.entries import EntryRequest, EntryService
from sekisho.sessions.listing import SessionViewService
from sekisho.sessions.mail import InMemoryMailer
from sekisho.sessions.realms import RealmTools
from sekisho.sessions.signin import SignInService
from sekisho.sessions.store import InMemorySessionStore
from sekisho.sessions.verifier import SessionVerifier

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "policy.yaml"

REALM = "applicants"
VIEW = "my-applications"
FORM = "seminar-apply"
APP = 2
KEY_SECRET = "sekisho/session/applicants-key"
PEOPLE_TOKEN = "sekisho/kintone/seminar-people"  # the realm's: record view
MINE_TOKEN = "sekisho/kintone/seminar-mine"  # the session view's: record view
CORRECT_TOKEN = "sekisho/kintone/seminar-correct"  # the form's editable: record edit

# PyJWT checks exp and iat against the real time, so the fake clock starts there.
NOW = int(time.time())
KEY = "k3y-for-unit-tests-only-0123456789abcdef"
OTHER_KEY = "an0ther-key-for-unit-tests-0123456789abc"
GUARD_KEY = b"unit-test-guard-hash-key-0123456789"
ORIGIN = "https://pages.example"
CLIENT_IP = "198.51.100.7"

HANAKO = "hanako@example.com"
TARO = "taro@example.com"

# What each token the twin knows may do, as kintone's API token settings would say.
PERMISSIONS = {PEOPLE_TOKEN: "view", MINE_TOKEN: "view", CORRECT_TOKEN: "edit"}

_CODE_LINE = re.compile(r"^([0-9]{6})$", re.MULTILINE)


def shipped_policy() -> Policy:
    return read_policy(POLICY_PATH)


def shipped_policy_data() -> dict[str, Any]:
    """policy.yaml as a mapping, for a test to change one thing of."""
    return yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))


def policy_from(data: dict[str, Any]) -> Policy:
    return validate_policy(data)


class Clock:
    """Wall clock and monotonic clock at once; ``sleep`` moves it on."""

    def __init__(self, now: float = NOW) -> None:
        self.now = float(now)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Call:
    secret: str
    operation: str
    app: int
    query: str = ""
    fields: list[str] | None = None
    record_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    revision: str | None = None


class Kintone:
    """App 2 of the emulator's seed, in memory. ``fold`` makes text equality as loose as
    real kintone's collation may be (case, width), to prove the relay re-checks."""

    def __init__(self) -> None:
        seed = load_seed()
        self.fields = seed.apps[APP].fields
        self.records: dict[int, dict[str, Any]] = {}
        self.revisions: dict[int, int] = {}
        self.calls: list[Call] = []
        self.fold = False
        # Set to make the next update fail as kintone would (e.g. GAIA_CO02).
        self.update_failure: Exception | None = None
        # Called on every request: a test may let time pass, as a real round trip does.
        self.on_call = lambda: None
        self._next_id = 1

    def add(self, **values: str) -> int:
        record_id = self._next_id
        self._next_id += 1
        self.records[record_id] = dict(values)
        self.revisions[record_id] = 1
        return record_id

    def touch(self, record_id: int, **values: str) -> None:
        """Someone else (the organiser, an action) changes the record."""
        self.records[record_id].update(values)
        self.revisions[record_id] += 1

    def client(self, secret: str) -> BoundClient:
        return BoundClient(self, secret)

    def clients(self) -> ClientsByToken:
        return ClientsByToken(self.client)

    def _cells(self, record_id: int) -> dict[str, Any]:
        cells = {
            code: {"type": self.fields[code].type, "value": value}
            for code, value in self.records[record_id].items()
        }
        cells["$id"] = {"type": "__ID__", "value": str(record_id)}
        cells["$revision"] = {"type": "__REVISION__", "value": str(self.revisions[record_id])}
        return cells

    def get_records(self, secret: str, app: int, query: str, fields: list[str] | None) -> Any:
        self.calls.append(Call(secret, "get_records", app, query=query, fields=fields))
        self.on_call()
        if PERMISSIONS.get(secret) != "view" or app != APP:
            raise KintonePermissionDenied("no view", kintone_code="GAIA_NO01", http_status=403)
        everything = [self._cells(record_id) for record_id in self.records]
        chosen = select(query, self.fields, everything, fold=self.fold).records
        if fields is not None:
            chosen = [{c: v for c, v in r.items() if c in fields} for r in chosen]
        return RecordsPage(records=chosen)

    def update_record(
        self, secret: str, app: int, record_id: int, values: dict, revision: Any
    ) -> str:
        self.calls.append(
            Call(
                secret,
                "update_record",
                app,
                record_id=record_id,
                values=dict(values),
                revision=None if revision is None else str(revision),
            )
        )
        self.on_call()
        if PERMISSIONS.get(secret) != "edit" or app != APP:
            raise KintonePermissionDenied("no edit", kintone_code="GAIA_NO01", http_status=403)
        if self.update_failure is not None:
            failure, self.update_failure = self.update_failure, None
            raise failure
        if revision is not None and str(revision) != str(self.revisions[record_id]):
            raise KintoneRevisionConflict(
                "the revision is stale", kintone_code="GAIA_CO02", http_status=409
            )
        self.touch(record_id, **{code: str(value) for code, value in values.items()})
        return str(self.revisions[record_id])

    def calls_of(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]


class BoundClient:
    """What ClientsByToken hands out: the twin as seen through one token secret."""

    def __init__(self, kintone: Kintone, secret: str) -> None:
        self._kintone = kintone
        self.secret = secret

    def get_records(self, app, query="", fields=None, *, total_count=False):
        return self._kintone.get_records(self.secret, app, query, fields)

    def update_record(self, app, record_id, record, *, revision=None):
        return self._kintone.update_record(self.secret, app, record_id, record, revision)

    def __getattr__(self, name: str):
        raise AssertionError(f"a session route called kintone's {name}")


def key_secret(key: str = KEY, rotated_at: float | None = None) -> str:
    value: dict[str, Any] = {"kind": "hmac", "key": key}
    if rotated_at is not None:
        value["rotated_at"] = rotated_at
    return json.dumps(value)


def code_in(text: str) -> str:
    codes = _CODE_LINE.findall(text)
    assert len(codes) == 1, text
    return codes[0]


def bearer(token: str, origin: str | None = None) -> Credentials:
    return Credentials(token, via_cookie=False, origin=origin)


def cookie(token: str, origin: str | None = ORIGIN) -> Credentials:
    return Credentials(token, via_cookie=True, origin=origin)


class World:
    """Every SessionFunction service over the twins, as wiring/session.py builds them."""

    def __init__(self, policy: Policy | None = None, *, floor: float = 1.5) -> None:
        self.policy = policy or shipped_policy()
        self.clock = Clock()
        self.backend = InMemorySecretBackend()
        self.backend.put(KEY_SECRET, key_secret())
        self.secrets = SecretStore(
            self.backend, allowed=self.policy.secret_names("sessions"), clock=self.clock
        )
        self.tools = RealmTools(self.policy, self.secrets, clock=self.clock)
        self.store = InMemorySessionStore(clock=self.clock)
        self.guard_store = InMemoryGuardStore(clock=self.clock)
        self.guard = Guard(self.guard_store, hash_key=GUARD_KEY, clock=self.clock)
        self.mailer = InMemoryMailer()
        self.kintone = Kintone()
        clients = self.kintone.clients()
        self.verifier = SessionVerifier(self.tools.codec, self.store, [ORIGIN])
        self.sign_in_service = SignInService(
            self.policy,
            self.tools,
            clients=clients,
            guard=self.guard,
            store=self.store,
            mailer=self.mailer,
            verifier=self.verifier,
            code_floor=floor,
            clock=self.clock,
            wall=self.clock,
            sleep=self.clock.sleep,
        )
        self.views = SessionViewService(
            self.policy,
            self.tools,
            clients=clients,
            guard=self.guard,
            verifier=self.verifier,
            wall=self.clock,
        )
        self.ledger = InMemoryEntryLedger()
        self.entries = EntryService(
            self.policy,
            self.tools,
            clients=clients,
            guard=self.guard,
            verifier=self.verifier,
            seats=EntrySeats(self.ledger),
        )

    # -- people and their applications ---------------------------------------------

    def apply(self, email: str = HANAKO, **values: str) -> int:
        record = {
            "受付ID": f"00000000-0000-4000-8000-{self.kintone._next_id:012d}",
            "氏名": "山田 花子",
            "メール": email,
            "人数": "2",
            "受付経路": "web",
            "支払状況": "未払い",
            "申込状況": "申込",
        }
        record.update(values)
        return self.kintone.add(**record)

    # -- signing in ------------------------------------------------------------------

    def request_code(self, email: str = HANAKO, ip: str = CLIENT_IP) -> dict[str, Any]:
        return self.sign_in_service.request_code(REALM, {"email": email}, ip)

    def last_code(self, email: str = HANAKO) -> str:
        mails = [m for m in self.mailer.sent if m.to == email]
        assert mails, f"no mail to {email}"
        return code_in(mails[-1].text)

    def sign_in(self, email: str = HANAKO, ip: str = CLIENT_IP) -> str:
        self.request_code(email, ip)
        return self.sign_in_service.sign_in(
            REALM, {"email": email, "code": self.last_code(email)}, ip
        ).token

    # -- a signed-in visitor's requests ----------------------------------------------

    def page(self, token: str, body: dict | None = None) -> dict[str, Any]:
        return self.views.page(VIEW, body or {}, bearer(token), CLIENT_IP)

    def ref_of(self, token: str, record_id: int) -> str:
        return self.tools.refs(REALM).make(APP, str(record_id))

    def request(
        self, token: str, ref: str, if_match: str | None, caller: Credentials | None = None
    ) -> EntryRequest:
        return EntryRequest(FORM, ref, if_match, caller or bearer(token), CLIENT_IP)
