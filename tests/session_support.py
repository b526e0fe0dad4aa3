"""Signed-in visitors on the local stack, for the tests that call it over HTTP: a stack
whose guards leave room for many sign-ins from 127.0.0.1, visitors who apply, ask for a
code, read it from moto's SES and sign in, the realm key as moto holds it, and the
seminar app read and changed in the emulator with its demo tokens.

The tokens minted here are what an attacker would mint if the realm key leaked, or what
they can make without it; a test mints one that must pass first, so that the refusals
of the others are refusals of what they change and not of a mistake in the minting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import boto3
import jwt
import requests
import yaml

from devstack.mailbox import messages_to, sent_messages, wait_for_code
from devstack.provision import LOCAL_SECRET_PREFIX
from devstack.stack import RunningStack
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.secrets.names import prefixed

REPO = Path(__file__).resolve().parents[1]
REALM = "applicants"
VIEW = "my-applications"
FORM = "seminar-apply"
SEMINAR = 2
REALM_KEY = "sekisho/session/applicants-key"
COOKIE = "__Host-sekisho"
_OPEN = "100000/hour"


# -- the stack's files --------------------------------------------------------------------


def open_guard_policy(directory: Path) -> Path:
    """The shipped policy with the per-IP and per-address limits opened (every request of
    these tests comes from 127.0.0.1, and those limits are not what they test); the wrong
    code limit (failures_per_key) is kept as shipped."""
    policy = yaml.safe_load((REPO / "policy.yaml").read_text(encoding="utf-8"))
    guard = policy["realms"][REALM]["guard"]
    assert guard["failures_per_key"] == "5/hour", guard
    guard.update(per_ip=_OPEN, per_address=_OPEN)
    policy["views"][VIEW]["guard"]["per_ip"] = _OPEN
    policy["forms"][FORM]["guard"]["per_ip"] = _OPEN
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# -- HTTP ---------------------------------------------------------------------------------


def http_session() -> requests.Session:
    """No proxy of the environment's, and no cookie jar: each test says which cookie it
    sends (requests would not send a Secure cookie over http anyway)."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def fresh_address(tag: str = "visitor") -> str:
    """An address no other test has used: each test has people of its own."""
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def problem(answer: requests.Response) -> tuple[int, str]:
    """(status, code) of an RFC 9457 answer; asserts it is one."""
    assert answer.headers["Content-Type"].startswith("application/problem+json"), (
        answer.status_code,
        answer.headers.get("Content-Type"),
        answer.text,
    )
    return answer.status_code, answer.json()["code"]


@dataclass
class Visitors:
    """The stack's public routes, as a browser or curl calls them."""

    stack: RunningStack
    http: requests.Session

    @property
    def url(self) -> str:
        return self.stack.router_url

    @property
    def origin(self) -> str:
        """An origin the stack allows (the router's own)."""
        return self.stack.router_url

    def apply(self, email: str, name: str = "山田 花子", seats: int = 2) -> str:
        """One application through the public form; its receipt (受付ID)."""
        answer = self.http.post(
            f"{self.url}/forms/{FORM}",
            json={"fields": {"name": name, "email": email, "seats": seats}},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["receipt"])

    def request_code(self, email: Any, realm: str = REALM) -> requests.Response:
        return self.http.post(
            f"{self.url}/sessions/{realm}/code", json={"email": email}, timeout=60
        )

    def mails_to(self, email: str) -> int:
        return len(messages_to(sent_messages(self.stack.moto_url), email))

    def code_for(self, email: str) -> str:
        """A fresh code for `email`, read from the mail it was sent."""
        before = self.mails_to(email)
        answer = self.request_code(email)
        assert answer.status_code == 202, answer.text
        return wait_for_code(self.stack.moto_url, email, after=before)

    def sign_in_with(self, email: str, code: str, realm: str = REALM) -> requests.Response:
        return self.http.post(
            f"{self.url}/sessions/{realm}", json={"email": email, "code": code}, timeout=60
        )

    def sign_in(self, email: str) -> str:
        """A session token for `email` (who must have an active application)."""
        answer = self.sign_in_with(email, self.code_for(email))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])

    def page(
        self,
        token: str | None,
        cursor: str | None = None,
        *,
        view: str = VIEW,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = {} if cursor is None else {"cursor": cursor}
        return self.http.post(
            f"{self.url}/views/{view}",
            json=body,
            headers={**bearer(token), **(headers or {})},
            timeout=60,
        )

    def records(self, token: str) -> list[dict[str, Any]]:
        """Every record of the session's list, page after page."""
        shown: list[dict[str, Any]] = []
        cursor = None
        while True:
            answer = self.page(token, cursor)
            assert answer.status_code == 200, answer.text
            shown.extend(answer.json()["records"])
            cursor = answer.json()["next"]
            if cursor is None:
                return shown

    def correct(
        self,
        ref: str,
        fields: Mapping[str, Any],
        *,
        revision: str | None,
        headers: Mapping[str, str],
    ) -> requests.Response:
        sent = dict(headers)
        if revision is not None:
            sent["If-Match"] = revision
        return self.http.patch(
            f"{self.url}/forms/{FORM}/entries/{ref}",
            json={"fields": dict(fields)},
            headers=sent,
            timeout=60,
        )

    def cancel(
        self, ref: str, *, headers: Mapping[str, str], revision: str | None = None
    ) -> requests.Response:
        sent = dict(headers)
        if revision is not None:
            sent["If-Match"] = revision
        return self.http.post(
            f"{self.url}/forms/{FORM}/entries/{ref}/cancel", json={}, headers=sent, timeout=60
        )

    def sign_out(self, headers: Mapping[str, str], realm: str = REALM) -> requests.Response:
        return self.http.delete(f"{self.url}/sessions/{realm}", headers=dict(headers), timeout=60)


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


def record_id(ref: str) -> int:
    """The kintone record a ref names (`<id>.<tag>`): the test peeks, a visitor needs not."""
    return int(ref.split(".", 1)[0])


# -- the realm key and tokens -------------------------------------------------------------


def secretsmanager(stack: RunningStack) -> Any:
    """moto's Secrets Manager by declared names, under the local stack's prefix."""
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    ).client("secretsmanager", endpoint_url=stack.moto_url)
    return prefixed(client, LOCAL_SECRET_PREFIX)


def realm_secret(stack: RunningStack, stage: str = "AWSCURRENT") -> dict[str, Any]:
    answer = secretsmanager(stack).get_secret_value(SecretId=REALM_KEY, VersionStage=stage)
    return json.loads(answer["SecretString"])


def derived(secret_key: str, purpose: str) -> bytes:
    """The key of one use (session, cursor, ref, code) derived from the realm's secret,
    as sekisho.sessions.keys documents it: HMAC-SHA256 of `sekisho.<purpose>.v1`."""
    return hmac.new(secret_key.encode(), f"sekisho.{purpose}.v1".encode(), hashlib.sha256).digest()


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (what anyone holding the token can read)."""
    return jwt.decode(token, options={"verify_signature": False})


def session_claims(email: str, **overrides: Any) -> dict[str, Any]:
    """The claims of a session sekisho would sign for `email`, now."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "claims": {"email": email},
        "iss": "sekisho",
        "aud": REALM,
        "typ": "session",
        "iat": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def mint(claims: Mapping[str, Any], key: bytes, algorithm: str = "HS256") -> str:
    return jwt.encode(dict(claims), key, algorithm=algorithm)


def unsigned(claims: Mapping[str, Any]) -> str:
    """An `alg: none` JWT: header and payload, an empty signature."""

    def part(value: Mapping[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def flip_last(part: str) -> str:
    """`part` with its last base64url character changed (a different signature)."""
    return part[:-1] + ("A" if part[-1] != "A" else "B")


def with_payload(token: str, changes: Mapping[str, Any]) -> str:
    """`token` with its payload edited and its signature kept (which no longer fits)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


# -- the seminar app in kintone -----------------------------------------------------------


def seminar_record(stack: RunningStack, record: int) -> dict[str, Any]:
    """The record as kintone holds it, read with the emulator's demo view token."""
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    return {code: cell.get("value") for code, cell in client.get_record(SEMINAR, record).items()}


def seminar_receipts_kintone_finds(stack: RunningStack, email: str) -> set[str]:
    """The 受付ID of every record kintone itself returns for `メール = email` (with the
    emulator's collation folding, more than the address's own)."""
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-view-token"))
    page = client.get_records(SEMINAR, f'メール = "{email}" limit 500', fields=["受付ID"])
    return {str(record["受付ID"]["value"]) for record in page.records}


def change_seminar_record(stack: RunningStack, record: int, values: Mapping[str, Any]) -> str:
    """Change the record as the organiser would in kintone (the demo edit token); the new
    revision."""
    client = KintoneClient(stack.kintone.url, TokenSource.fixed("seminar-edit-token"))
    return client.update_record(SEMINAR, record, values)
