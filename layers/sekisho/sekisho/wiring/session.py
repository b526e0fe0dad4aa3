"""SessionFunction: sign-in (``/sessions/{realm}...``), the session views and the
corrections and cancels of one's own entries (``/forms/{form}/entries/...``).

The realm keys live only here: no other function can mint or verify a session, so no
other function's bug can act for a visitor.
"""

from __future__ import annotations

import dataclasses
import functools

from sekisho import runtime
from sekisho.entries.corrections import EntrySeats
from sekisho.entries.ledger import EntryLedger
from sekisho.http.resolver import HttpSettings
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.clients import ClientsByToken
from sekisho.mail.sender import SesMailer
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.sessions.entries import EntryService
from sekisho.sessions.files import FileService
from sekisho.sessions.listing import SessionViewService
from sekisho.sessions.realms import RealmTools
from sekisho.sessions.signin import SignInService
from sekisho.sessions.store import DynamoSessionStore
from sekisho.sessions.verifier import SessionVerifier

from .guarded import guard
from .routes import http_settings, route_switches


def session_http_settings() -> HttpSettings:
    """API callers send the session as a bearer token, a revision as If-Match and a
    file's range as Range (CORS)."""
    return dataclasses.replace(
        http_settings(), allow_headers=("Authorization", "If-Match", "Range")
    )


@dataclasses.dataclass(frozen=True)
class SessionRoutes:
    sign_in: SignInService
    views: SessionViewService
    entries: EntryService
    files: FileService


def _entry_seats() -> EntrySeats | None:
    """Seats move with a correction or a cancel only where a form has them (and then the
    entries table must be set)."""
    if not any(form.capacity is not None for form in runtime.policy().forms.values()):
        return None
    (table,) = runtime.required("entries_table")
    return EntrySeats(EntryLedger(table))


@functools.cache
def session_routes() -> SessionRoutes:
    current = runtime.settings()
    table, mail_from = runtime.required("guard_table", "mail_from_address")
    policy = runtime.policy()
    store = SecretStore(
        SecretsManagerBackend(),
        allowed=policy.secret_names("sessions") | {current.guard_hash_key_secret},
    )
    base_url = runtime.kintone_base_url()
    clients = ClientsByToken(lambda name: KintoneClient(base_url, store.token_source(name)))
    tools = RealmTools(policy, store)
    sessions = DynamoSessionStore(table)
    verifier = SessionVerifier(tools.codec, sessions, current.allowed_origins)
    shared_guard = guard(store, current, table)
    switches = route_switches()
    files = FileService(
        policy, tools, clients=clients, guard=shared_guard, verifier=verifier, switches=switches
    )
    return SessionRoutes(
        sign_in=SignInService(
            policy,
            tools,
            clients=clients,
            guard=shared_guard,
            store=sessions,
            mailer=SesMailer(mail_from, configuration_set=current.mail_configuration_set),
            verifier=verifier,
            code_floor=current.code_request_floor_ms / 1000,
            switches=switches,
        ),
        views=SessionViewService(
            policy,
            tools,
            clients=clients,
            guard=shared_guard,
            verifier=verifier,
            switches=switches,
            files=files,
        ),
        entries=EntryService(
            policy,
            tools,
            clients=clients,
            guard=shared_guard,
            verifier=verifier,
            switches=switches,
            seats=_entry_seats(),
        ),
        files=files,
    )
