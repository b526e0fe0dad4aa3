"""The local stack's moto runs in a process of its own (its own GIL, not the router's): it
listens where it was asked, starts empty, and is gone when the stack stops or dies."""

from __future__ import annotations

import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devstack import stack as devstack
from devstack.aws import Moto

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def refuses_connections(url: str) -> bool:
    host, port = url.rsplit("/", 1)[1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


def process_is_gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A child of this process that exited stays a zombie until it is reaped.
        if Path(f"/proc/{pid}/stat").is_file() and " Z " in Path(f"/proc/{pid}/stat").read_text():
            return True
        time.sleep(0.05)
    return False


def test_moto_serves_from_a_process_of_its_own_on_the_requested_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = Moto("127.0.0.1", port)
    try:
        tables = moto.client("dynamodb").list_tables()["TableNames"]

        assert moto.url == f"http://127.0.0.1:{port}"
        assert moto.pid is not None
        assert moto.pid != os.getpid()
        assert tables == []
    finally:
        moto.stop()


def test_port_moto_cannot_bind_is_an_oserror_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(OSError, match=f"moto cannot listen on 127.0.0.1:{port}"):
            Moto("127.0.0.1", port)


def test_moto_is_gone_after_stop() -> None:
    moto = Moto()
    pid = moto.pid
    assert pid is not None

    moto.stop()

    assert not moto.alive()
    assert process_is_gone(pid)
    assert refuses_connections(moto.url)


def test_moto_started_again_on_the_port_of_a_stopped_one_starts_empty() -> None:
    first = Moto()
    port = int(first.url.rsplit(":", 1)[1])
    first.client("sqs").create_queue(QueueName="left-behind")
    first.stop()

    again = Moto("127.0.0.1", port)
    try:
        queues = again.client("sqs").list_queues().get("QueueUrls", [])
    finally:
        again.stop()

    assert queues == []


KILLED_STACK = """
import sys
sys.path[:0] = [{local!r}]
from devstack.aws import Moto

if __name__ == "__main__":
    moto = Moto()
    print(moto.pid, moto.url, flush=True)
    sys.stdin.read()
"""


def test_moto_dies_with_a_stack_that_is_killed_without_stopping(tmp_path: Path) -> None:
    script = tmp_path / "killed_stack.py"
    script.write_text(KILLED_STACK.format(local=str(REPO / "local")), encoding="utf-8")
    stack = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert stack.stdout is not None
        pid_text, url = stack.stdout.readline().split()
        pid = int(pid_text)
        assert requests.post(f"{url}/moto-api/reset", timeout=10).status_code == 200

        stack.send_signal(signal.SIGKILL)
        stack.wait(10)

        assert process_is_gone(pid)
        assert refuses_connections(url)
    finally:
        if stack.poll() is None:
            stack.kill()
            stack.wait(10)


def test_the_stacks_moto_is_gone_after_the_stack_stops() -> None:
    stack = devstack.start(repo_root=REPO, template=FIXTURES / "template.yaml")
    with requests.Session() as http:
        http.trust_env = False
        assert http.post(f"{stack.moto_url}/moto-api/reset", timeout=10).status_code == 200

    stack.stop()

    assert refuses_connections(stack.moto_url)


LIST_TABLES = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
    # moto finds the service in the credential scope; it does not check the signature.
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/ap-northeast-1/dynamodb/"
    "aws4_request, SignedHeaders=host, Signature=0",
}


def test_moto_answers_one_connections_requests_one_after_another() -> None:
    moto = Moto()
    try:
        connection = http.client.HTTPConnection(moto.url.removeprefix("http://"), timeout=10)
        answers = []
        for _ in range(3):
            connection.request("POST", "/", body=b"{}", headers=LIST_TABLES)
            answer = connection.getresponse()
            answers.append((answer.status, answer.getheader("Connection"), answer.read()))
            # http.client drops the socket when the server says it closes the connection.
            assert connection.sock is not None
        connection.close()
    finally:
        moto.stop()

    assert answers == [(200, None, b'{"TableNames": []}')] * 3


def test_objects_larger_than_one_request_buffer_go_in_and_out_of_moto_whole() -> None:
    moto = Moto()
    try:
        s3 = moto.client("s3")
        s3.create_bucket(
            Bucket="whole", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        data = os.urandom(3 * 1024 * 1024)
        # A file-like body: boto3 asks for "Expect: 100-continue" before sending it.
        s3.put_object(Bucket="whole", Key="big", Body=io.BytesIO(data))

        head = s3.head_object(Bucket="whole", Key="big")
        body = s3.get_object(Bucket="whole", Key="big")["Body"].read()
        missing = s3.list_objects_v2(Bucket="whole", Prefix="none")
    finally:
        moto.stop()

    assert head["ContentLength"] == len(data)
    assert body == data
    assert missing["KeyCount"] == 0
