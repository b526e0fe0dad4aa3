"""What the two routes a browser calls hold alike (lookup and intake)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sekisho.access.when import check_when, wall_now
from sekisho.kintone.client import KintoneClient, TokenSource
from sekisho.kintone.clients import ClientsByToken
from sekisho.switches import RouteSwitches

if TYPE_CHECKING:
    from sekisho.guard.guard import Guard
    from sekisho.policy import Policy
    from sekisho.policy.when import WhenPolicy

ClientFactory = Callable[[str, TokenSource], KintoneClient]


class BrowserRoute:
    """The policy, the per-IP guard, the route's kill switches, a kintone client per
    token (built on first use by ``client_factory``), the clock it answers by and the
    wall clock a route's ``when`` is read by."""

    def __init__(
        self,
        policy: Policy,
        token_sources: Callable[[str], TokenSource],
        guard: Guard,
        kintone_base_url: str,
        *,
        client_factory: ClientFactory,
        switches: RouteSwitches | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy
        self._token_sources = token_sources
        self._guard = guard
        self._base_url = kintone_base_url
        self._switches = switches or RouteSwitches()
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._clients = ClientsByToken(
            lambda name: client_factory(kintone_base_url, token_sources(name))
        )

    def _check_when(self, when: WhenPolicy | None, client_ip: str) -> None:
        """The route's ``when``, before the guard reads its key or kintone is called."""
        check_when(when, now=wall_now(self._wall), source_ip=client_ip)
