"""Webhook receipt on the local stack (`make dev`): the emulator's kintone webhooks and every
demo source's signed deliveries end on WebhookQueue once each, forgeries end nowhere, and
no secret reaches the terminal."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.__main__ import main
from devstack.cli import banner
from devstack.provision import local_secret_name
from devstack.queue_report import peek
from devstack.send import Sent, demo_body, send
from devstack.stack import RunningStack
from kintone_emulator.schema import load_seed
from sekisho.policy import WebhookPolicy
from sekisho.policy.validation.loader import read_policy
from webhook_senders import demo_secret, sign

REPO = Path(__file__).resolve().parents[2]
POLICY = read_policy(REPO / "policy.yaml")
SOURCES = sorted(POLICY.webhooks)
ADD_TOKEN = "deals-add-token"
VIEW_TOKEN = "deals-view-token"
NO_SUCH_RECORD = "999999"


def eventually(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with devstack.start(repo_root=REPO, pump=False) as running:
        yield running


@pytest.fixture(scope="module")
def aws(stack: RunningStack) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    return lambda service: session.client(service, endpoint_url=stack.moto_url)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def drain(sqs: Any, url: str) -> None:
    # Not PurgeQueue: SQS allows one a minute per queue.
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )


@pytest.fixture
def events(stack: RunningStack, aws: Callable[[str], Any]) -> Callable[[], list[dict[str, Any]]]:
    """What WebhookQueue holds, read without taking anything off it; empty at the start."""
    sqs = aws("sqs")
    url = stack.queue("WebhookQueue").url
    drain(sqs, url)

    def read() -> list[dict[str, Any]]:
        messages = peek(sqs, url, attribute_names=("source", "dedupe_key"))
        return [
            {
                **json.loads(message["Body"]),
                "attributes": {
                    name: value["StringValue"]
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
            }
            for message in messages
        ]

    return read


def secret(aws: Callable[[str], Any], name: str) -> dict[str, Any]:
    answer = aws("secretsmanager").get_secret_value(SecretId=local_secret_name(name))
    return json.loads(answer["SecretString"])


def kintone_deliveries(stack: RunningStack) -> int:
    (registration,) = stack.kintone.emulator.webhooks.registrations()
    return int(registration["delivered"]) + int(registration["failed"])


def kintone_call(
    http: requests.Session, stack: RunningStack, method: str, token: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = http.request(
        method,
        f"{stack.kintone.url}/k/v1/record.json",
        json=body,
        headers={"X-Cybozu-API-Token": token},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()


def current_record(http: requests.Session, stack: RunningStack, record_id: str) -> dict[str, Any]:
    answer = http.get(
        f"{stack.kintone.url}/k/v1/record.json",
        params={"app": 1, "id": record_id},
        headers={"X-Cybozu-API-Token": VIEW_TOKEN},
        timeout=10,
    )
    answer.raise_for_status()
    record = answer.json()["record"]
    # The relay hands on only the fields demo-kintone's refetch declares.
    declared = {*read_policy(REPO / "policy.yaml").webhook("demo-kintone").refetch.fields}
    return {code: v for code, v in record.items() if code in declared | {"$id", "$revision"}}


def ports(stack: RunningStack) -> list[str]:
    return [
        "--port",
        stack.router_url.rsplit(":", 1)[1],
        "--moto-port",
        stack.moto_url.rsplit(":", 1)[1],
        "--policy",
        str(REPO / "policy.yaml"),
    ]


def webhooks_command(stack: RunningStack) -> list[str]:
    moto_port = stack.moto_url.rsplit(":", 1)[1]
    return ["webhooks", "--moto-port", moto_port, "--template", str(REPO / "template.yaml")]


# -- kintone's own webhooks --------------------------------------------------------------


def test_a_record_added_in_kintone_ends_as_one_refetched_event_with_kintones_record(
    stack: RunningStack, http: requests.Session, events: Callable[[], list[dict[str, Any]]]
) -> None:
    before = kintone_deliveries(stack)

    added = kintone_call(
        http,
        stack,
        "POST",
        ADD_TOKEN,
        {"app": 1, "record": {"取引ID": {"value": "D000900"}, "取引名": {"value": "新規の商談"}}},
    )
    eventually(lambda: kintone_deliveries(stack) == before + 1)

    (event,) = events()
    assert event["record_id"] == added["id"]
    assert event["source"] == "demo-kintone"
    assert event["scheme"] == "kintone"
    assert event["event_type"] == "ADD_RECORD"
    assert (event["refetched"], event["app"]) == (True, 1)
    assert event["record"] == current_record(http, stack, added["id"])
    assert "社内メモ" not in event["record"]  # internal: not declared, not handed on
    assert "body" not in event
    assert event["attributes"] == {"source": "demo-kintone", "dedupe_key": event["dedupe_key"]}


def test_an_edit_in_kintone_hands_on_the_record_as_edited(
    stack: RunningStack,
    http: requests.Session,
    events: Callable[[], list[dict[str, Any]]],
) -> None:
    admin = f"{stack.kintone.url}/_emulator/tokens"
    http.post(
        admin, json={"token": "deals-edit-token", "app": 1, "permissions": ["edit"]}, timeout=10
    ).raise_for_status()
    before = kintone_deliveries(stack)

    kintone_call(
        http,
        stack,
        "PUT",
        "deals-edit-token",
        {"app": 1, "id": "2", "record": {"金額": {"value": "510000"}}},
    )
    eventually(lambda: kintone_deliveries(stack) == before + 1)

    (event,) = events()
    assert (event["record_id"], event["event_type"]) == ("2", "UPDATE_RECORD")
    assert event["record"]["金額"]["value"] == "510000"
    assert event["record"] == current_record(http, stack, "2")


# -- python -m devstack send -------------------------------------------------------------


def sent_answer(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, Any]:
    status = main(argv)
    heading, _, answer = capsys.readouterr().out.partition("\n")
    return status, heading, json.loads(answer)


@pytest.mark.parametrize("source", SOURCES)
def test_send_queues_a_demo_event_once_and_answers_duplicate_the_second_time(
    stack: RunningStack,
    events: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    source: str,
) -> None:
    argv = ["send", source, "--event-id", f"redelivered-{source}", *ports(stack)]

    first = sent_answer(capsys, argv)
    second = sent_answer(capsys, argv)

    scheme = POLICY.webhooks[source].scheme
    assert first == (
        0,
        f"POST /webhooks/{source} ({scheme}, event id redelivered-{source}) -> 200",
        {"status": "queued"},
    )
    assert second[0] == 0
    assert second[2] == {"status": "duplicate"}
    (event,) = events()
    assert event["source"] == source
    assert event["attributes"] == {"source": source, "dedupe_key": event["dedupe_key"]}
    if source == "demo-github":  # keyed by its signed body, which names the event id
        commit = hashlib.sha1(f"redelivered-{source}".encode(), usedforsecurity=False)
        assert commit.hexdigest() in event["body"]
    else:
        assert event["dedupe_key"].endswith(f"redelivered-{source}")


def test_send_without_an_event_id_is_a_new_event_each_time(
    stack: RunningStack,
    events: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    statuses = [main(["send", "demo-stripe", *ports(stack)]) for _ in range(2)]
    capsys.readouterr()

    assert statuses == [0, 0]
    assert len({event["dedupe_key"] for event in events()}) == 2


def test_the_webhooks_command_shows_the_queued_event_and_its_body(
    stack: RunningStack,
    events: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["send", "demo-box", "--event-id", "box-shown", *ports(stack)])
    capsys.readouterr()

    status = main(webhooks_command(stack))
    shown = capsys.readouterr().out

    assert status == 0
    assert "WebhookQueue: 1 event" in shown
    assert "- demo-box (box)  FILE.UPLOADED  dedupe key box-shown" in shown
    assert '        "name": "見積書.pdf"' in shown
    assert len(events()) == 1


# -- forgeries ---------------------------------------------------------------------------


def deliver(
    stack: RunningStack, source: str, hook: WebhookPolicy, key: dict[str, Any], **options: Any
) -> Sent:
    return send(stack.router_url, source, hook, key, now=int(time.time()), **options)


def signing_key(aws: Callable[[str], Any], source: str, which: str) -> dict[str, Any]:
    """The source's own secret ("real"), or a fresh one of the same shape ("other")."""
    hook = POLICY.webhooks[source]
    return secret(aws, hook.secret) if which == "real" else demo_secret(hook.scheme)


FORGED_ADD = {
    "id": "forged-1",
    "type": "ADD_RECORD",
    "app": {"id": "1", "name": "deals"},
    "record": {"$id": {"type": "__ID__", "value": NO_SUCH_RECORD}},
}


FORGERIES = [
    pytest.param(("demo-github", "other", {}), id="github_wrong_secret"),
    pytest.param(("demo-stripe", "other", {}), id="stripe_wrong_secret"),
    pytest.param(("demo-slack", "other", {}), id="slack_wrong_secret"),
    pytest.param(("demo-standard", "other", {}), id="standard_wrong_secret"),
    pytest.param(("demo-box", "other", {}), id="box_wrong_keys"),
    pytest.param(("demo-kintone", "other", {}), id="kintone_wrong_token"),
    pytest.param(
        ("demo-kintone", "real", {"body": json.dumps(FORGED_ADD).encode()}),
        id="kintone_add_of_a_record_that_does_not_exist",
    ),
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_delivery_is_401_and_nothing_is_queued(
    stack: RunningStack,
    aws: Callable[[str], Any],
    events: Callable[[], list[dict[str, Any]]],
    forgery: tuple[str, str, dict[str, Any]],
) -> None:
    source, key, options = forgery
    hook = POLICY.webhooks[source]
    answer = deliver(stack, source, hook, signing_key(aws, source, key), **options)

    assert answer.status == 401
    assert json.loads(answer.body)["code"] == "signature_invalid"
    assert events() == []


def test_a_github_delivery_whose_body_was_tampered_with_is_401_and_nothing_is_queued(
    stack: RunningStack,
    aws: Callable[[str], Any],
    http: requests.Session,
    events: Callable[[], list[dict[str, Any]]],
) -> None:
    hook = POLICY.webhooks["demo-github"]
    body = demo_body("github", "tampered", hook)
    signed = sign("github", body, secret(aws, hook.secret), now=int(time.time()))

    answer = http.post(
        f"{stack.router_url}/webhooks/demo-github",
        data=body.replace(b"main", b"evil"),  # signed for the other body
        headers=signed.headers,
        timeout=30,
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == "signature_invalid"
    assert events() == []


@pytest.mark.parametrize(("source", "age"), [("demo-stripe", 600), ("demo-standard", -600)])
def test_a_delivery_signed_outside_the_window_is_401_and_nothing_is_queued(
    stack: RunningStack,
    events: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    source: str,
    age: int,
) -> None:
    status = main(["send", source, "--age", str(age), *ports(stack)])

    assert status == 1
    assert " -> 401" in capsys.readouterr().out
    assert events() == []


def test_an_unknown_source_is_404(stack: RunningStack, http: requests.Session) -> None:
    answer = http.post(f"{stack.router_url}/webhooks/no-such-source", data=b"{}", timeout=30)

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


# -- no secret on the terminal -----------------------------------------------------------


def url_on(lines: list[str], label: str) -> str:
    line = next(line for line in lines if line.strip().startswith(label))
    found = re.search(r"http://127\.0\.0\.1:[0-9]+", line)
    assert found is not None
    return found.group(0)


def secret_values(aws: Callable[[str], Any]) -> dict[str, str]:
    """Every secret value the stack holds, by where it is kept (a failing assertion then
    names the secret, not its value)."""
    manager = aws("secretsmanager")
    values = {token.token: f"seed token of app {token.app}" for token in load_seed().tokens}
    for entry in manager.list_secrets()["SecretList"]:
        text = manager.get_secret_value(SecretId=entry["Name"])["SecretString"]
        for key, value in json.loads(text).items():
            if key != "kind" and value:
                values[value] = f"{entry['Name']} ({key})"
    return values


def leaked(values: dict[str, str], output: str) -> list[str]:
    return [where for value, where in values.items() if value in output]


def test_banner_and_command_output_name_secrets_but_never_show_a_value(
    stack: RunningStack,
    aws: Callable[[str], Any],
    events: Callable[[], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = banner(stack)
    for source in SOURCES:
        main(["send", source, *ports(stack)])
    main(webhooks_command(stack))
    captured = capsys.readouterr()
    output = text + captured.out + captured.err

    assert (
        "kintone webhooks: app 1 ADD_RECORD/UPDATE_RECORD → /webhooks/demo-kintone "
        "(token from sekisho/webhook/demo-kintone)"
    ) in text
    assert len(events()) == len(SOURCES)
    assert leaked(secret_values(aws), output) == []


def test_make_dev_output_holds_no_secret_while_kintone_and_forged_webhooks_arrive(
    tmp_path: Path,
) -> None:
    """The whole terminal of `python -m devstack`, functions' logs included."""
    env = {
        **os.environ,
        "SEKISHO_PORT": "0",
        "MOTO_PORT": "0",
        "KINTONE_PORT": "0",
        # Importable even where the project is not installed in the interpreter.
        "PYTHONPATH": os.pathsep.join(
            filter(
                None,
                [
                    str(REPO / "local"),
                    str(REPO / "layers" / "sekisho"),
                    os.environ.get("PYTHONPATH"),
                ],
            )
        ),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(90, child.kill)
    watchdog.start()
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        shown = "".join(lines)
        router, kintone, moto = (
            url_on(lines, label) for label in ("API and demo pages", "kintone emulator", "moto")
        )
        client = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="ap-northeast-1",
        ).client
        values = secret_values(lambda service: client(service, endpoint_url=moto))
        with requests.Session() as http:
            http.trust_env = False
            http.post(
                f"{kintone}/k/v1/record.json",
                json={"app": 1, "record": {"取引ID": {"value": "D000901"}}},
                headers={"X-Cybozu-API-Token": ADD_TOKEN},
                timeout=10,
            ).raise_for_status()
            http.post(f"{router}/webhooks/demo-kintone?token=wrong", json={}, timeout=30)
            http.post(
                f"{router}/webhooks/demo-github",
                data=b"{}",
                headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
                timeout=30,
            )

            def delivered() -> bool:
                hooks = http.get(f"{kintone}/_emulator/webhooks", timeout=10).json()["webhooks"]
                return hooks[0]["delivered"] + hooks[0]["failed"] == 1

            eventually(delivered)
        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait(10)

    output = shown + rest
    assert leaked(values, output) == []
    assert "POST /webhooks/demo-kintone -> 200" in output
    assert "POST /webhooks/demo-github -> 401" in output
