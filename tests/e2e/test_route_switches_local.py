"""The kill switch on the local stack: flipping a route off takes it to 503 route_disabled
within a minute, with no restart, and flipping it on brings it back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from devstack import stack as devstack
from devstack.__main__ import main
from devstack.stack import RunningStack
from sekisho.switches import REFRESH_SECONDS

REPO = Path(__file__).resolve().parents[2]
LOOKUP = {"match": {"owner_id": "A1", "deal_id": "D000001"}}
APPLICATION = {"fields": {"name": "山田 花子", "email": "hanako@example.com"}}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


def switch(stack: RunningStack, *args: str, capsys) -> str:
    port = stack.moto_url.rsplit(":", 1)[1]
    status = main(["switch", *args, "--moto-port", port, "--template", str(REPO / "template.yaml")])
    assert status == 0
    return capsys.readouterr().out


def answers(stack: RunningStack) -> dict[str, tuple[int, str | None]]:
    with requests.Session() as http:
        http.trust_env = False
        found = {
            "views": http.post(f"{stack.router_url}/views/deal-status", json=LOOKUP, timeout=30),
            "forms": http.post(
                f"{stack.router_url}/forms/seminar-apply", json=APPLICATION, timeout=30
            ),
            # Unsigned: 401 while on; refused before verification while off.
            "webhooks": http.post(
                f"{stack.router_url}/webhooks/demo-github", data=b"{}", timeout=30
            ),
        }
    return {k: (r.status_code, r.json().get("code")) for k, r in found.items()}


def lookup(stack: RunningStack) -> int:
    with requests.Session() as http:
        http.trust_env = False
        return http.post(
            f"{stack.router_url}/views/deal-status", json=LOOKUP, timeout=30
        ).status_code


def eventually(condition: Callable[[], bool], timeout: float) -> float:
    # Every 3 s: the routes' per-IP limits (20 and 30 an hour) must outlast the wait.
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "not in time"
        time.sleep(3)
    return time.monotonic() - started


def test_routes_switched_off_answer_route_disabled_within_a_minute_and_come_back(stack, capsys):
    assert answers(stack) == {
        "views": (200, None),
        "forms": (201, None),
        "webhooks": (401, "signature_invalid"),
    }
    for route in ("views/deal-status", "forms/seminar-apply", "webhooks/demo-github"):
        out = switch(stack, "off", route, capsys=capsys)
    assert "views/deal-status" in out
    assert "forms/seminar-apply" in out

    off = dict.fromkeys(("views", "forms", "webhooks"), (503, "route_disabled"))
    took = eventually(lambda: answers(stack) == off, timeout=60)
    with capsys.disabled():
        print(f"\nswitched off: 503 route_disabled after {took:.1f} s")
    assert took <= REFRESH_SECONDS + 8

    for route in ("views/deal-status", "forms/seminar-apply", "webhooks/demo-github"):
        switch(stack, "on", route, capsys=capsys)
    eventually(lambda: lookup(stack) == 200, timeout=60)
    assert "switched off: none" in switch(stack, capsys=capsys)


def test_a_route_that_is_not_one_is_refused_by_the_switch_command(stack, capsys):
    port = stack.moto_url.rsplit(":", 1)[1]
    template = str(REPO / "template.yaml")
    assert main(["switch", "off", "deal-status", "--moto-port", port, "--template", template]) == 2
    assert "views|forms|webhooks|realms/<name>" in capsys.readouterr().err
