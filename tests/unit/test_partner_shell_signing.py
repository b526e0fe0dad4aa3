"""docs/partners.md's ways to sign, run as the page shows them and checked by the library.

The openssl block runs in bash with `secret` (the local Secrets Manager) and `curl`
replaced by functions: the first hands it a fresh key, the second keeps the words curl
would have been given. The Python client runs against a loopback server that records what
arrived. Each request must then verify with http-message-signatures' own verifier, with
the coverage the contract requires, so a change to the contract, or a typo in the page,
fails here.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import (
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from requests.structures import CaseInsensitiveDict

from sekisho.partners.signature import BODY_COMPONENTS

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "partners.md"
PARTNER = "demo-erp"
LOCAL_URL = "http://127.0.0.1:3000/views/partner-deals"
_FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(lang: str) -> list[str]:
    """The page's fenced blocks of ``lang``, in order."""
    found, current, inside = [], [], None
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        fence = _FENCE.match(line)
        if fence and inside is None:
            inside, current = fence[1], []
        elif line.startswith("```") and inside is not None:
            if inside == lang:
                found.append("\n".join(current) + "\n")
            inside = None
        elif inside is not None:
            current.append(line)
    return found


def block(lang: str, marker: str) -> str:
    (chosen,) = [b for b in blocks(lang) if marker in b]
    return chosen


@dataclass
class Message:
    method: str
    url: str
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)


def verify(message: Message, body: bytes, key: Any, algorithm: Any) -> Any:
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={PARTNER: key}, private_keys={}),
    )
    (result,) = verifier.verify(
        message,
        max_age=datetime.timedelta(seconds=300),
        require_components=BODY_COMPONENTS,
        body=body,
    )
    return result


def curl_request(words: list[str]) -> tuple[Message, bytes]:
    """The request a curl command line with -X, one URL, -H and --data-binary sends."""
    method, url, headers, body = "GET", None, CaseInsensitiveDict(), b""
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-X":
            method, i = words[i + 1], i + 2
        elif word == "-H":
            name, _, value = words[i + 1].partition(": ")
            headers[name] = value
            i += 2
        elif word == "--data-binary":
            body, i = words[i + 1].encode("utf-8"), i + 2
        elif word.startswith("http"):
            url, i = word, i + 1
        else:
            i += 1
    assert url is not None, words
    return Message(method, url, headers), body


def run_shell(script: str, workdir: Path, secret: str) -> list[str]:
    """``script`` in bash (errexit, pipefail) in ``workdir``; curl's words."""
    bash, openssl = shutil.which("bash"), shutil.which("openssl")
    assert bash, "the page's shell signing runs in bash"
    assert openssl, "the page's shell signing needs openssl"
    stubs = (
        "secret() { printf '%s' \"$PARTNER_KEY\"; }\n"
        "curl() { printf '%s\\0' \"$@\" > curl.args; }\n"
    )
    env = {"PATH": os.environ["PATH"], "PARTNER_KEY": secret, "LC_ALL": "C"}
    subprocess.run(
        [bash, "-euo", "pipefail", "-c", stubs + script],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return (workdir / "curl.args").read_text(encoding="utf-8").split("\0")[:-1]


def hmac_block() -> str:
    return block("sh", '"@signature-params": %s')


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
def test_the_openssl_steps_make_a_signature_the_library_verifies(tmp_path, padded):
    key = secrets.token_bytes(32)
    text = base64.urlsafe_b64encode(key).decode()

    words = run_shell(hmac_block(), tmp_path, text if padded else text.rstrip("="))

    message, body = curl_request(words)
    assert (message.method, message.url) == ("POST", LOCAL_URL)
    result = verify(message, body, key, algorithms.HMAC_SHA256)
    assert result.parameters["keyid"] == PARTNER
    assert result.parameters["alg"] == "hmac-sha256"
    assert 16 <= len(result.parameters["nonce"]) <= 128
    assert json.loads(body) == {"match": {"deal_id": "D000001"}}


def test_the_openssl_signature_fails_with_another_key(tmp_path):
    words = run_shell(hmac_block(), tmp_path, secrets.token_urlsafe(32))

    message, body = curl_request(words)
    with pytest.raises(InvalidSignature):
        verify(message, body, secrets.token_bytes(32), algorithms.HMAC_SHA256)


def test_the_signature_base_the_page_shows_is_the_one_the_steps_build(tmp_path):
    run_shell(hmac_block(), tmp_path, secrets.token_urlsafe(32))
    built = (tmp_path / "base.txt").read_text(encoding="utf-8")
    (shown,) = [b for b in blocks("text") if b.startswith('"@method": POST')]

    assert not built.endswith("\n")
    names = [line.split(": ", 1)[0] for line in built.splitlines()]
    assert names == [line.split(": ", 1)[0] for line in shown.splitlines()]
    assert names == [*(f'"{c}"' for c in BODY_COMPONENTS), '"@signature-params"']
    for line in (
        '"@method": POST',
        f'"@target-uri": {LOCAL_URL}',
        '"content-type": application/json',
    ):
        assert line in built.splitlines()
        assert line in shown.splitlines()


def test_the_pages_example_digest_is_the_digest_of_its_example_body():
    (headers,) = [b for b in blocks("text") if b.startswith("Content-Type:")]
    (shown_base,) = [b for b in blocks("text") if b.startswith('"@method": POST')]
    body = b'{"match": {"deal_id": "D000001"}}'
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()

    assert f"Content-Digest: sha-256=:{digest}:" in headers
    assert f'"content-digest": sha-256=:{digest}:' in shown_base
    params = shown_base.splitlines()[-1].removeprefix('"@signature-params": ')
    assert f"Signature-Input: sekisho={params}" in headers


def test_the_ed25519_steps_make_a_signature_the_library_verifies(tmp_path):
    ed25519 = block("sh", "openssl genpkey -algorithm ed25519")
    # The page gives the lines that differ from the HMAC steps: its key pair, PARAMS, SIG.
    keys = [line for line in ed25519.splitlines() if line.startswith("openssl")]
    changed = {line.split("=", 1)[0]: line for line in ed25519.splitlines() if "=" in line[:7]}
    assert set(changed) == {"PARAMS", "SIG"}
    script = "\n".join(
        [
            *keys,
            *(changed.get(line.split("=", 1)[0], line) for line in hmac_block().splitlines()),
        ]
    )

    words = run_shell(script, tmp_path, secrets.token_urlsafe(32))

    private = load_pem_private_key((tmp_path / "partner.pem").read_bytes(), password=None)
    message, body = curl_request(words)
    result = verify(message, body, private.public_key(), algorithms.ED25519)
    assert result.parameters["alg"] == "ed25519"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        answer = b'{"records": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_python_client_sends_a_request_the_library_verifies(recorder, monkeypatch):
    (client,) = [b for b in blocks("python") if "HTTPMessageSigner" in b]
    assert LOCAL_URL in client
    key = secrets.token_bytes(32)
    monkeypatch.setenv("SEKISHO_PARTNER_KEY", base64.urlsafe_b64encode(key).decode().rstrip("="))
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    code = compile(client.replace("http://127.0.0.1:3000", recorder), str(PAGE), "exec")

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {"__name__": "partner_client"})  # noqa: S102 - the page's own example

    assert printed.getvalue() == "200 {'records': []}\n"
    ((method, path, headers, body),) = _Recorder.seen
    assert path == "/views/partner-deals"
    result = verify(
        Message(method, recorder + path, CaseInsensitiveDict(headers)),
        body,
        key,
        algorithms.HMAC_SHA256,
    )
    assert result.label == "sekisho"
