"""`python -m devstack`, started the way `make dev` starts it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
import requests

from devstack import stack as devstack
from devstack.__main__ import main
from kintone_emulator.schema import load_seed

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
DEMO_BODY = '{"match": {"owner_id": "A1", "deal_id": "D000001"}}'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ports() -> dict[str, int]:
    return {"SEKISHO_PORT": free_port(), "MOTO_PORT": free_port(), "KINTONE_PORT": free_port()}


@contextmanager
def devstack_process(
    template: Path, ports: dict[str, int], *options: str
) -> Iterator[subprocess.Popen[str]]:
    # Importable even where the project is not installed in the interpreter.
    path = [str(REPO / "local"), str(REPO / "layers" / "sekisho"), os.environ.get("PYTHONPATH")]
    child = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--template", str(template), *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            **{name: str(port) for name, port in ports.items()},
            "PYTHONPATH": os.pathsep.join(filter(None, path)),
        },
    )
    # Reading its output must never hang the suite.
    watchdog = threading.Timer(60, child.kill)
    watchdog.start()
    try:
        yield child
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait(10)


@pytest.fixture
def serving(ports: dict[str, int]) -> Iterator[subprocess.Popen[str]]:
    with devstack_process(FIXTURES / "template.yaml", ports) as child:
        yield child


def read_banner(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    return "".join(lines)


def test_started_stack_prints_its_urls_and_a_working_curl_line_then_stops_on_sigterm(
    serving: subprocess.Popen[str], ports: dict[str, int]
) -> None:
    banner = read_banner(serving)
    router = f"http://127.0.0.1:{ports['SEKISHO_PORT']}"
    moto = f"http://127.0.0.1:{ports['MOTO_PORT']}"
    assert router in banner
    assert f"http://127.0.0.1:{ports['KINTONE_PORT']}" in banner
    assert moto in banner
    curl = (
        f"curl -s -X POST {router}/views/deal-status "
        f"-H 'content-type: application/json' -d '{DEMO_BODY}'"
    )
    assert curl in banner

    with requests.Session() as client:
        client.trust_env = False
        looked_up = client.post(
            f"{router}/views/deal-status",
            data=DEMO_BODY,
            headers={"content-type": "application/json"},
            timeout=20,
        )
        page = client.get(f"{router}/", timeout=20)
        probed = client.get(f"{router}/probe", timeout=20)
    hash_key = boto3.client(
        "secretsmanager",
        endpoint_url=moto,
        region_name="ap-northeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_secret_value(SecretId="sekisho/guard/hash-key")["SecretString"]
    serving.send_signal(signal.SIGTERM)
    rest, _ = serving.communicate(timeout=30)

    assert looked_up.status_code == 200
    assert json.loads(looked_up.json()["event"]["body"]) == json.loads(DEMO_BODY)
    assert page.status_code == 200
    assert probed.status_code == 200
    # Every worker has exited too: otherwise the pipe would still be open.
    assert serving.returncode == 0
    output = banner + rest
    secret_values = [json.loads(hash_key)["key"], *(token.token for token in load_seed().tokens)]
    assert [value for value in secret_values if value in output] == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com"])  # noqa: S104
def test_non_loopback_host_is_refused(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", host]) == 2
    assert "loopback" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["0", "-1", "many"])
def test_worker_count_must_be_a_positive_number(workers: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--workers", workers])

    assert exited.value.code == 2


def test_port_already_in_use_fails_with_what_could_not_listen() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(OSError, match=f"the router cannot listen on 127.0.0.1:{port}"):
            devstack.start(repo_root=REPO, template=FIXTURES / "template.yaml", router_port=port)


def test_started_stack_pumps_its_queue_into_the_consumer_and_the_queues_command_shows_it(
    ports: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    moto = f"http://127.0.0.1:{ports['MOTO_PORT']}"
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto,
        region_name="ap-northeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # One batch at a time: the fixture queue's zero visibility timeout would otherwise let
    # a second batch take the message again while the first is being delivered.
    with devstack_process(
        FIXTURES / "queues_template.yaml", ports, "--param", "ConsumerConcurrency=1"
    ) as child:
        banner = read_banner(child)
        url = sqs.get_queue_url(QueueName="WorkQueue")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}))
        # The pump runs in the stack's own process: wait for it, up to the watchdog.
        while sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"] != {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }:
            time.sleep(0.1)
        kept = boto3.client(
            "s3",
            endpoint_url=moto,
            region_name="ap-northeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).list_objects_v2(Bucket="fixturebucket", Prefix="events/")
        assert main(["queues", "--moto-port", str(ports["MOTO_PORT"])]) == 0
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=30)

    assert "WorkQueue -> ConsumerFunction (batches of up to 4, 1 at a time)" in banner
    assert f"python -m devstack queues --moto-port {ports['MOTO_PORT']}" in banner
    assert kept["KeyCount"] == 1
    report = capsys.readouterr().out
    assert "WorkDeadLetterQueue" in report
    assert child.returncode == 0
