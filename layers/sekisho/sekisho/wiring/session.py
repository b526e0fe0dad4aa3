"""SessionFunction: sign-in (``/sessions/{realm}...``), the session views and the
corrections and cancels of one's own entries (``/forms/{form}/entries/...``).

The realm keys live only here: no other function can mint or verify a session, so no
other function's bug can act for a visitor.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from sekisho import runtime
from sekisho.aws import Service
from sekisho.http.resolver import HttpSettings
from sekisho.kintone.client import KintoneClient
from sekisho.kintone.clients import ClientsByToken
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore
from sekisho.sessions.files import FileService
from sekisho.sessions.listing import SessionViewService
from sekisho.sessions.realms import RealmTools
from sekisho.sessions.store import DynamoSessionStore
from sekisho.sessions.verifier import SessionVerifier

from .guarded import guard
from .routes import http_settings, route_switches

# The AWS services this function's role may call (template.yaml), so its clients: with
# SnapStart, built by the init into the snapshot (snapstart.prepare), not by a request.
AWS_SERVICES: tuple[Service, ...] = ("dynamodb", "secretsmanager", "sesv2", "ssm")

if TYPE_CHECKING:
    from sekisho.entries.corrections import EntrySeats
    from sekisho.guard.guard import Guard
    from sekisho.policy.model import Policy
    from sekisho.sessions.entries import EntryService
    from sekisho.sessions.signin import SignInService
    from sekisho.switches import RouteSwitches


def session_http_settings() -> HttpSettings:
    """API callers send the session as a bearer token, a revision as If-Match and a
    file's range as Range (CORS)."""
    return dataclasses.replace(
        http_settings(), allow_headers=("Authorization", "If-Match", "Range")
    )


class SessionRoutes:
    """The function's services. The views' and the files' are built with the routes; a
    sign-in's and an entry's with the first such request, so that a container whose first
    request is a listing does not wait for the forms' correction code, the seats and the
    mailer to load (tests/bench/first_response.py measures it; SnapStart builds all)."""

    def __init__(
        self,
        policy: Policy,
        tools: RealmTools,
        *,
        clients: ClientsByToken,
        guard: Guard,
        verifier: SessionVerifier,
        switches: RouteSwitches,
        sessions: DynamoSessionStore,
    ) -> None:
        self._policy, self._tools, self._clients = policy, tools, clients
        self._guard, self._verifier, self._switches = guard, verifier, switches
        self._sessions = sessions
        self.files = FileService(
            policy, tools, clients=clients, guard=guard, verifier=verifier, switches=switches
        )
        self.views = SessionViewService(
            policy,
            tools,
            clients=clients,
            guard=guard,
            verifier=verifier,
            switches=switches,
            files=self.files,
        )

    @functools.cached_property
    def sign_in(self) -> SignInService:
        from sekisho.mail.sender import SesMailer  # noqa: PLC0415 - see the class
        from sekisho.sessions.signin import SignInService  # noqa: PLC0415

        current = runtime.settings()
        (mail_from,) = runtime.required("mail_from_address")
        return SignInService(
            self._policy,
            self._tools,
            clients=self._clients,
            guard=self._guard,
            store=self._sessions,
            mailer=SesMailer(mail_from, configuration_set=current.mail_configuration_set),
            verifier=self._verifier,
            code_floor=current.code_request_floor_ms / 1000,
            switches=self._switches,
        )

    @functools.cached_property
    def entries(self) -> EntryService:
        from sekisho.sessions.entries import EntryService  # noqa: PLC0415 - see the class

        return EntryService(
            self._policy,
            self._tools,
            clients=self._clients,
            guard=self._guard,
            verifier=self._verifier,
            switches=self._switches,
            seats=_entry_seats(),
        )


def _entry_seats() -> EntrySeats | None:
    """Seats move with a correction or a cancel only where a form has them (and then the
    entries table must be set)."""
    if not any(form.capacity is not None for form in runtime.policy().forms.values()):
        return None
    from sekisho.entries.corrections import EntrySeats  # noqa: PLC0415 - see SessionRoutes
    from sekisho.entries.ledger import EntryLedger  # noqa: PLC0415

    (table,) = runtime.required("entries_table")
    return EntrySeats(EntryLedger(table))


@functools.cache
def session_routes() -> SessionRoutes:
    current = runtime.settings()
    # Asked for now: a deployment without its mail sender fails at the first request of
    # any kind, as it did when the sign-in was built with the routes.
    table, _ = runtime.required("guard_table", "mail_from_address")
    policy = runtime.policy()
    store = SecretStore(
        SecretsManagerBackend(),
        allowed=policy.secret_names("sessions") | {current.guard_hash_key_secret},
    )
    base_url = runtime.kintone_base_url()
    clients = ClientsByToken(lambda name: KintoneClient(base_url, store.token_source(name)))
    tools = RealmTools(policy, store)
    sessions = DynamoSessionStore(table)
    return SessionRoutes(
        policy,
        tools,
        clients=clients,
        guard=guard(store, current, table),
        verifier=SessionVerifier(tools.codec, sessions, current.allowed_origins),
        switches=route_switches(),
        sessions=sessions,
    )


def prepared() -> SessionRoutes:
    """SnapStart's init: every service, built now."""
    routes = session_routes()
    _ = routes.sign_in, routes.entries
    return routes
