"""What every route of a signed-in visitor holds alike, and how a session view is opened."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sekisho.access.when import check_claims, check_when, wall_now
from sekisho.errors import RateLimited
from sekisho.kintone.clients import ClientsByToken
from sekisho.switches import RouteSwitches

from .caller import Credentials
from .realms import RealmTools
from .records import view_scope
from .tokens import Session
from .verifier import SessionVerifier

if TYPE_CHECKING:
    from sekisho.guard.guard import Guard
    from sekisho.policy.model import Policy
    from sekisho.policy.routes import ViewPolicy
    from sekisho.policy.when import WhenPolicy


class SessionRoute:
    """The policy, the realms' keys, a kintone client per token, the guard, the session
    check, the kill switches and the wall clock."""

    def __init__(
        self,
        policy: Policy,
        tools: RealmTools,
        *,
        clients: ClientsByToken,
        guard: Guard,
        verifier: SessionVerifier,
        switches: RouteSwitches | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy
        self._tools = tools
        self._clients = clients
        self._guard = guard
        self._verifier = verifier
        self._switches = switches or RouteSwitches()
        self._wall = wall

    def _open_view(
        self, view_name: str, caller: Credentials, client_ip: str
    ) -> tuple[ViewPolicy, Session]:
        """A session view, switched on, for a valid session, within the per-IP rate (a
        read: no Origin check, a cross-site page cannot read the answer)."""
        view = self._policy.session_view(view_name)
        self._switches.check("views", view_name, enabled=view.enabled)
        self._check_when(view.when, client_ip)
        realm_name = view.session or ""
        session = self._verifier.session(
            realm_name, self._policy.realm(realm_name), caller, changes_state=False
        )
        check_claims(view.when, session.claims)
        if not self._guard.allow_request(
            view_scope(realm_name, view_name), client_ip, view.guard.per_ip
        ):
            raise RateLimited("try again later")
        return view, session

    def _check_when(self, when: WhenPolicy | None, client_ip: str) -> None:
        """The route's period, hours and networks: before the session's key is read.
        Its claims (:func:`check_claims`) wait for the verified session."""
        check_when(when, now=wall_now(self._wall), source_ip=client_ip)
