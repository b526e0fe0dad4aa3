"""The emulator's operational behaviour: limits, maintenance, faults, webhooks, admin API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from kintone_emulator.server import RunningEmulator

pytestmark = pytest.mark.emulator

VIEW, ADD = "deals-view-token", "deals-add-token"


def read_records(http: requests.Session, kintone: RunningEmulator) -> requests.Response:
    return http.get(
        kintone.url + "/k/v1/records.json",
        params={"app": 1, "query": "limit 1"},
        headers={"X-Cybozu-API-Token": VIEW},
        timeout=10,
    )


def fresh_session() -> requests.Session:
    # A session per thread: each request needs its own connection to be concurrent.
    session = requests.Session()
    session.trust_env = False
    return session


def eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def admin(
    http: requests.Session, kintone: RunningEmulator, name: str, body: dict[str, Any] | None = None
) -> requests.Response:
    if body is None:
        return http.get(f"{kintone.url}/_emulator/{name}", timeout=10)
    return http.post(f"{kintone.url}/_emulator/{name}", json=body, timeout=10)


# -- maintenance ---------------------------------------------------------------------------


def test_maintenance_answers_503_in_plain_text(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "maintenance", {"enabled": True}).raise_for_status()

    answer = read_records(http, kintone)

    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("text/plain")
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_admin_api_keeps_working_during_maintenance(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "maintenance", {"enabled": True}).raise_for_status()

    assert admin(http, kintone, "stats").status_code == 200
    admin(http, kintone, "maintenance", {"enabled": False}).raise_for_status()
    assert read_records(http, kintone).status_code == 200


# -- concurrency -----------------------------------------------------------------------------


def test_successful_answers_carry_the_concurrency_headers(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    answer = read_records(http, kintone)

    assert answer.status_code == 200
    assert answer.headers["X-ConcurrencyLimit-Limit"] == "100"
    assert answer.headers["X-ConcurrencyLimit-Running"] == "1"


def test_requests_over_the_concurrency_limit_get_429(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "limits", {"concurrency": 2}).raise_for_status()
    admin(http, kintone, "faults", {"latency_ms": 400}).raise_for_status()

    def one_request(_: int) -> requests.Response:
        with fresh_session() as session:
            return read_records(session, kintone)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(one_request, range(6)))

    refused = [a for a in answers if a.status_code == 429]
    assert refused
    assert sum(a.status_code == 200 for a in answers) >= 2
    for answer in refused:
        assert answer.json()["code"] == "GAIA_TO04"
        assert answer.headers["X-Cybozu-Error"] == "GAIA_TO04"
        assert answer.headers["X-ConcurrencyLimit-Limit"] == "2"
        assert int(answer.headers["X-ConcurrencyLimit-Running"]) > 2
    stats = admin(http, kintone, "stats").json()
    assert stats["max_concurrent"] > 2, "refused requests count while they are answered"
    assert stats["max_admitted"] == 2, "kintone never works on more than the cap"


def test_admin_requests_do_not_count_against_the_limit(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "limits", {"concurrency": 1}).raise_for_status()
    admin(http, kintone, "faults", {"latency_ms": 500}).raise_for_status()
    worker = threading.Thread(target=read_records, args=(fresh_session(), kintone))
    worker.start()

    # The one slot is taken, yet the admin API keeps answering.
    eventually(lambda: admin(http, kintone, "stats").json()["running"] == 1)

    worker.join()
    assert admin(http, kintone, "stats").json()["by_status"] == {"200": 1}


# -- faults --------------------------------------------------------------------------------


def test_fault_rate_of_one_always_answers_503_in_plain_text(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "faults", {"rate_503": 1}).raise_for_status()

    answer = read_records(http, kintone)

    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_fault_rate_of_one_always_answers_429(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "faults", {"rate_429": 1.0}).raise_for_status()

    answer = read_records(http, kintone)

    assert answer.status_code == 429
    assert answer.json()["code"] == "GAIA_TO04"
    assert answer.headers["X-Cybozu-Error"] == "GAIA_TO04"


def test_seeded_faults_repeat_the_same_sequence(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    def statuses() -> list[int]:
        admin(http, kintone, "faults", {"rate_429": 0.3, "rate_503": 0.3, "seed": 7})
        return [read_records(http, kintone).status_code for _ in range(20)]

    first, second = statuses(), statuses()

    assert first == second
    assert {200, 429, 503} <= set(first)


def test_latency_delays_the_answer(kintone: RunningEmulator, http: requests.Session) -> None:
    admin(http, kintone, "faults", {"latency_ms": 200}).raise_for_status()

    started = time.monotonic()
    read_records(http, kintone)

    assert time.monotonic() - started >= 0.2


def test_an_injected_429_is_refused_at_once_without_the_latency(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    # As the cap's own refusal: kintone does no work for a request it refuses.
    admin(http, kintone, "faults", {"rate_429": 1.0, "latency_ms": 3000}).raise_for_status()

    started = time.monotonic()
    answer = read_records(http, kintone)

    assert answer.status_code == 429
    assert time.monotonic() - started < 3.0


def test_an_injected_503_comes_after_the_latency(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "faults", {"rate_503": 1.0, "latency_ms": 200}).raise_for_status()

    started = time.monotonic()
    answer = read_records(http, kintone)

    assert answer.status_code == 503
    assert time.monotonic() - started >= 0.2


# -- admin API -----------------------------------------------------------------------------


def test_reset_restores_records_tokens_and_switches(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    http.post(
        kintone.url + "/k/v1/record.json",
        json={"app": 1, "record": {"取引ID": {"value": "D000100"}}},
        headers={"X-Cybozu-API-Token": ADD},
    ).raise_for_status()
    admin(http, kintone, "tokens", {"token": VIEW, "app": 1, "active": False})
    admin(http, kintone, "limits", {"concurrency": 3})
    admin(http, kintone, "collation", {"fold": True})
    admin(http, kintone, "maintenance", {"enabled": True})

    admin(http, kintone, "reset", {}).raise_for_status()

    answer = http.get(
        kintone.url + "/k/v1/records.json",
        params={"app": 1, "totalCount": "true"},
        headers={"X-Cybozu-API-Token": VIEW},
    )
    assert answer.status_code == 200
    assert answer.json()["totalCount"] == "9"
    assert answer.headers["X-ConcurrencyLimit-Limit"] == "100"
    assert admin(http, kintone, "settings").json()["fold"] is False
    assert admin(http, kintone, "stats").json()["requests"] == 1


def test_stats_count_kintone_requests_by_status(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    read_records(http, kintone)
    read_records(http, kintone)
    http.get(kintone.url + "/k/v1/records.json", params={"app": 1})

    stats = admin(http, kintone, "stats").json()

    assert stats["requests"] == 3
    assert stats["by_status"] == {"200": 2, "401": 1}
    assert stats["running"] == 0
    assert stats["max_concurrent"] == 1


def test_a_token_added_through_admin_works_until_deactivated_or_deleted(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    def read_with(token: str) -> int:
        headers = {"X-Cybozu-API-Token": token}
        return http.get(
            kintone.url + "/k/v1/records.json", params={"app": 2}, headers=headers
        ).status_code

    admin(http, kintone, "tokens", {"token": "rotated", "app": 2, "permissions": ["view"]})
    fresh = read_with("rotated")
    admin(http, kintone, "tokens", {"token": "rotated", "app": 2, "active": False})
    inactive = read_with("rotated")
    admin(http, kintone, "tokens", {"token": "rotated", "app": 2})
    http.delete(kintone.url + "/_emulator/tokens", json={"token": "rotated"}).raise_for_status()
    deleted = read_with("rotated")

    assert (fresh, inactive, deleted) == (200, 400, 400)


BAD_ADMIN_INPUT = [
    pytest.param("maintenance", {"enabled": "yes"}, id="maintenance_flag_not_boolean"),
    pytest.param("limits", {"concurrency": 0}, id="concurrency_below_one"),
    pytest.param("limits", {"concurrency": True}, id="concurrency_boolean"),
    pytest.param("faults", {"rate_429": 1.5}, id="fault_rate_above_one"),
    pytest.param("faults", {"latency_ms": -1}, id="negative_latency"),
    pytest.param("tokens", {"token": "t", "app": 99}, id="token_for_missing_app"),
    pytest.param("tokens", {"token": "t", "app": 1, "permissions": ["admin"]}, id="unknown_perm"),
    pytest.param("tokens", {"token": "a,b", "app": 1}, id="token_with_comma"),
    pytest.param("webhooks", {"app": 1, "url": "file:///etc/passwd"}, id="webhook_not_http"),
    pytest.param("webhooks", {"app": 1, "url": "http://x", "events": ["X"]}, id="unknown_event"),
    pytest.param("collation", {}, id="collation_flag_missing"),
]


@pytest.mark.parametrize(("name", "body"), BAD_ADMIN_INPUT)
def test_bad_admin_input_is_refused(
    kintone: RunningEmulator, http: requests.Session, name: str, body: dict[str, Any]
) -> None:
    answer = admin(http, kintone, name, body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "EMU_BAD_INPUT"


def test_admin_body_that_is_not_json_is_refused(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    answer = http.post(kintone.url + "/_emulator/limits", data=b"{")

    assert answer.status_code == 400


# -- webhooks ------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint on loopback that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.arrived:
                    outer.received.append(json.loads(body))
                    outer.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?secret=s3"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def wait_for(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()
    yield receiving
    receiving.server.shutdown()
    receiving.server.server_close()


def test_webhooks_announce_added_and_updated_records(
    kintone: RunningEmulator, http: requests.Session, receiver: Receiver
) -> None:
    admin(
        http,
        kintone,
        "webhooks",
        {"app": 1, "url": receiver.url, "events": ["ADD_RECORD", "UPDATE_RECORD"]},
    ).raise_for_status()
    admin(http, kintone, "tokens", {"token": "editor", "app": 1, "permissions": ["edit"]})

    added = http.post(
        kintone.url + "/k/v1/record.json",
        json={"app": 1, "record": {"取引ID": {"value": "D000100"}, "担当ID": {"value": "B7"}}},
        headers={"X-Cybozu-API-Token": ADD},
    ).json()
    http.put(
        kintone.url + "/k/v1/record.json",
        json={"app": 1, "id": added["id"], "record": {"金額": {"value": "5"}}},
        headers={"X-Cybozu-API-Token": "editor"},
    ).raise_for_status()

    add_event, update_event = receiver.wait_for(2)
    assert add_event["type"] == "ADD_RECORD"
    assert add_event["app"] == {"id": "1", "name": "deals"}
    assert add_event["record"]["$id"]["value"] == added["id"]
    assert add_event["record"]["取引ID"] == {"type": "SINGLE_LINE_TEXT", "value": "D000100"}
    assert add_event["recordTitle"] == "B7"
    assert add_event["url"] == f"{kintone.url}/k/1/show#record={added['id']}"
    assert update_event["type"] == "UPDATE_RECORD"
    assert update_event["record"]["金額"]["value"] == "5"
    assert update_event["record"]["$revision"]["value"] == "2"
    assert add_event["id"] != update_event["id"]


def test_webhooks_fire_only_for_their_app_and_events(
    kintone: RunningEmulator, http: requests.Session, receiver: Receiver
) -> None:
    admin(http, kintone, "webhooks", {"app": 2, "url": receiver.url, "events": ["ADD_RECORD"]})
    http.post(
        kintone.url + "/k/v1/record.json",
        json={"app": 1, "record": {"取引ID": {"value": "D000100"}}},
        headers={"X-Cybozu-API-Token": ADD},
    ).raise_for_status()
    http.post(
        kintone.url + "/k/v1/record.json",
        json={
            "app": 2,
            "record": {"氏名": {"value": "佐藤"}, "メール": {"value": "s@example.com"}},
        },
        headers={"X-Cybozu-API-Token": "seminar-add-token"},
    ).raise_for_status()

    (event,) = receiver.wait_for(1)

    assert event["app"]["id"] == "2"
    eventually(lambda: admin(http, kintone, "webhooks").json()["webhooks"][0]["delivered"] == 1)
    assert admin(http, kintone, "webhooks").json()["webhooks"] == [
        {"app": 2, "url": receiver.url, "events": ["ADD_RECORD"], "delivered": 1, "failed": 0}
    ]
    assert len(receiver.received) == 1


def test_a_failing_webhook_receiver_does_not_affect_the_kintone_answer(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    admin(http, kintone, "webhooks", {"app": 1, "url": dead_url, "events": ["ADD_RECORD"]})

    answer = http.post(
        kintone.url + "/k/v1/record.json",
        json={"app": 1, "record": {"取引ID": {"value": "D000100"}}},
        headers={"X-Cybozu-API-Token": ADD},
    )

    assert answer.status_code == 200
    eventually(lambda: admin(http, kintone, "webhooks").json()["webhooks"][0]["failed"] == 1)


# -- answers lost on the way back -------------------------------------------------------


def add_record(http: requests.Session, kintone: RunningEmulator, timeout: float = 10):
    return http.post(
        kintone.url + "/k/v1/record.json",
        json={"app": 1, "record": {"取引ID": {"value": "D-lost"}, "担当ID": {"value": "A9"}}},
        headers={"X-Cybozu-API-Token": ADD},
        timeout=timeout,
    )


def lost_deals(kintone: RunningEmulator) -> int:
    return sum(1 for r in kintone.emulator.store.records(1) if r["取引ID"]["value"] == "D-lost")


def test_a_reset_fault_stores_the_write_and_resets_the_connection(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "faults", {"rate_reset": 1}).raise_for_status()

    with fresh_session() as session, pytest.raises(requests.ConnectionError):
        add_record(session, kintone)

    assert lost_deals(kintone) == 1, "kintone did the work; only the answer was lost"
    assert admin(http, kintone, "stats").json()["broken"] == {"reset": 1, "timeout": 0}


def test_a_timeout_fault_holds_the_answer_past_the_clients_read_timeout(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    admin(http, kintone, "faults", {"rate_timeout": 1, "stall_ms": 2000}).raise_for_status()

    started = time.monotonic()
    with fresh_session() as session, pytest.raises(requests.Timeout):
        add_record(session, kintone, timeout=0.5)

    assert time.monotonic() - started < 2, "the client's timeout ended the wait"
    assert lost_deals(kintone) == 1
    assert admin(http, kintone, "stats").json()["broken"]["timeout"] == 1


@pytest.mark.parametrize(
    "faults",
    [
        {"rate_reset": 1.5},
        {"rate_timeout": -0.1},
        {"rate_reset": 0.6, "rate_timeout": 0.6},
        {"rate_timeout": 0.1, "stall_ms": -1},
        {"rate_timeout": 0.1, "stall_ms": 60_001},
    ],
)
def test_broken_connection_faults_out_of_range_are_refused(
    kintone: RunningEmulator, http: requests.Session, faults: dict[str, Any]
) -> None:
    answer = admin(http, kintone, "faults", faults)

    assert answer.status_code == 400
    assert answer.json()["code"] == "EMU_BAD_INPUT"


def test_seeded_broken_connections_repeat_and_spare_the_rest(
    kintone: RunningEmulator, http: requests.Session
) -> None:
    def outcomes() -> list[str]:
        admin(http, kintone, "faults", {"rate_reset": 0.3, "seed": 3}).raise_for_status()
        seen = []
        for _ in range(20):
            with fresh_session() as session:
                try:
                    seen.append(str(read_records(session, kintone).status_code))
                except requests.ConnectionError:
                    seen.append("reset")
        return seen

    first, second = outcomes(), outcomes()

    assert first == second
    assert {"200", "reset"} == set(first)
