"""`sekisho sign`: the curl line it prints verifies with the library's own verifier.

The verifier here is http-message-signatures' HTTPMessageVerifier, not sekisho's: what the
command signs must be a valid RFC 9421 signature for anyone, with the coverage and the
parameters the partner contract asks for. Secrets Manager is moto.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from moto import mock_aws
from requests.structures import CaseInsensitiveDict

from sekisho.cli import main
from sekisho.partners.sign import (
    SigningRefused,
    hmac_key,
    sign_request,
    signed_headers,
)
from sekisho.partners.signature import BARE_COMPONENTS, BODY_COMPONENTS

PARTNER = "demo-erp"
URL = "http://127.0.0.1:3000/views/partner-deals"
BODY = '{"match": {"deal_id": "D000001"}}'
SECRET_TEXT = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY = bytes(range(32))


@dataclass
class Message:
    """A request as the verifier reads one: method, URL and header fields."""

    method: str
    url: str
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)


@dataclass(frozen=True)
class Curl:
    """What a printed curl line would send."""

    options: list[str]
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None

    def message(self) -> Message:
        return Message(self.method, self.url, CaseInsensitiveDict(self.headers))


def parse_curl(line: str) -> Curl:
    words = shlex.split(line)
    assert words[0] == "curl"
    x = words.index("-X")
    options, method, url, rest = words[1:x], words[x + 1], words[x + 2], words[x + 3 :]
    headers: dict[str, str] = {}
    body = None
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "-H":
            name, _, text = value.partition(": ")
            headers[name] = text
        else:
            assert flag == "--data-binary", line
            body = value.encode("utf-8")
    return Curl(options, method, url, headers, body)


def verify(
    message: Message,
    body: bytes | None,
    key: Any = KEY,
    algorithm: Any = algorithms.HMAC_SHA256,
    covered: tuple[str, ...] = BODY_COMPONENTS,
) -> Any:
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={PARTNER: key}, private_keys={}),
    )
    (result,) = verifier.verify(
        message,
        max_age=datetime.timedelta(seconds=300),
        require_components=covered,
        body=body,
    )
    return result


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto holding demo-erp's partner key, under no prefix and under the prefix ``stack``."""
    for name in ("AWS_ENDPOINT_URL", "SEKISHO_SECRET_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("secretsmanager")
        value = json.dumps({"kind": "partner-key", "secret": SECRET_TEXT})
        client.create_secret(Name=f"sekisho/partner/{PARTNER}", SecretString=value)
        yield client


def sekisho_sign(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["sign", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_printed_curl_verifies_with_the_librarys_verifier_and_the_contracts_coverage(
    secretsmanager, capsys
):
    status, out, err = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", BODY)

    assert (status, err) == (0, "")
    assert out.count("\n") == 1
    curl = parse_curl(out)
    assert (curl.method, curl.url, curl.body) == ("POST", URL, BODY.encode())
    assert set(curl.headers) == {"Content-Type", "Content-Digest", "Signature-Input", "Signature"}
    assert curl.headers["Content-Type"] == "application/json"
    digest = base64.b64encode(hashlib.sha256(BODY.encode()).digest()).decode()
    assert curl.headers["Content-Digest"] == f"sha-256=:{digest}:"
    result = verify(curl.message(), curl.body)
    assert result.label == "sekisho"
    assert list(result.covered_components)[:-1] == [f'"{c}"' for c in BODY_COMPONENTS]
    params = result.parameters
    assert (params["keyid"], params["alg"]) == (PARTNER, "hmac-sha256")
    assert abs(params["created"] - datetime.datetime.now(datetime.UTC).timestamp()) < 5
    assert 16 <= len(params["nonce"]) <= 128


def test_a_changed_byte_of_the_body_fails_the_librarys_check(secretsmanager, capsys):
    _, out, _ = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", BODY)
    curl = parse_curl(out)

    with pytest.raises(InvalidSignature):
        verify(curl.message(), curl.body.replace(b"1", b"2"))


def test_the_key_appears_nowhere_in_what_the_command_prints(secretsmanager, capsys):
    status, out, err = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", BODY)

    assert status == 0
    printed = out + err
    for form in (SECRET_TEXT, KEY.hex(), base64.b64encode(KEY).decode(), SECRET_TEXT[:16]):
        assert form not in printed


def test_a_non_ascii_json_body_keeps_its_utf8_bytes_in_the_digest_and_the_curl_line(
    secretsmanager, capsys
):
    body = '{"name": "山田 太郎", "note": "セミナー — 参加"}'

    _, out, _ = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", body)

    curl = parse_curl(out)
    assert curl.body == body.encode("utf-8")
    assert body in out
    verify(curl.message(), body.encode("utf-8"))


def test_a_body_from_a_file_is_signed_byte_for_byte(secretsmanager, capsys, tmp_path):
    body = '{\n  "deal": "D000001",\r\n  "メモ": "\\u00e9 é"\n}\n'.encode()
    (tmp_path / "body.json").write_bytes(body)

    _, out, _ = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", f"@{tmp_path / 'body.json'}")

    curl = parse_curl(out)
    assert curl.body == body
    verify(curl.message(), body)


def test_each_run_signs_with_a_fresh_nonce(secretsmanager, capsys):
    nonces = set()
    for _ in range(3):
        _, out, _ = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", BODY)
        curl = parse_curl(out)
        nonces.add(verify(curl.message(), curl.body).parameters["nonce"])
    assert len(nonces) == 3


def test_a_request_without_a_body_covers_the_method_and_the_target_uri_only(secretsmanager, capsys):
    _, out, _ = sekisho_sign(capsys, PARTNER, "post", URL)

    curl = parse_curl(out)
    assert curl.method == "POST"
    assert curl.body is None
    assert set(curl.headers) == {"Signature-Input", "Signature"}
    result = verify(curl.message(), None, covered=BARE_COMPONENTS)
    assert list(result.covered_components)[:-1] == ['"@method"', '"@target-uri"']


def test_the_key_is_read_under_the_stacks_secret_prefix(secretsmanager, capsys):
    other = base64.urlsafe_b64encode(b"\x07" * 32).decode()
    secretsmanager.create_secret(
        Name=f"my-stack/sekisho/partner/{PARTNER}",
        SecretString=json.dumps({"kind": "partner-key", "secret": other}),
    )

    _, out, _ = sekisho_sign(
        capsys, PARTNER, "POST", URL, "--data", BODY, "--secret-prefix", "my-stack"
    )

    curl = parse_curl(out)
    verify(curl.message(), curl.body, key=b"\x07" * 32)
    with pytest.raises(InvalidSignature):
        verify(curl.message(), curl.body)


def test_a_partner_with_an_ed25519_key_file_signs_with_ed25519(capsys, tmp_path, monkeypatch):
    # No Secrets Manager at all: an unreachable endpoint would fail the command.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "partner.pem").write_bytes(pem)

    status, out, err = sekisho_sign(
        capsys, PARTNER, "POST", URL, "--data", BODY, "--key-file", str(tmp_path / "partner.pem")
    )

    assert (status, err) == (0, "")
    curl = parse_curl(out)
    result = verify(curl.message(), curl.body, private.public_key(), algorithms.ED25519)
    assert result.parameters["alg"] == "ed25519"
    assert pem.decode().splitlines()[1] not in out


def test_curl_options_come_before_the_request(secretsmanager, capsys):
    _, out, _ = sekisho_sign(
        capsys,
        PARTNER,
        "POST",
        URL,
        "--data",
        BODY,
        "--curl-option=-s -i",
        "--curl-option=--cert a.pem",
    )

    assert parse_curl(out).options == ["-s", "-i", "--cert", "a.pem"]


def test_a_missing_secret_is_a_clear_error_with_exit_2_and_no_traceback(secretsmanager, capsys):
    status, out, err = sekisho_sign(capsys, "other-erp", "POST", URL, "--data", BODY)

    assert status == 2
    assert out == ""
    assert "error: secret 'sekisho/partner/other-erp'" in err
    assert "does not exist or may not be read" in err
    assert "Traceback" not in err


def test_an_unreachable_secrets_manager_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    status, out, err = sekisho_sign(capsys, PARTNER, "POST", URL, "--data", BODY)

    assert (status, out) == (2, "")
    assert "error: secret 'sekisho/partner/demo-erp' (AWSCURRENT) cannot be read now" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("secret", "refusal"),
    [
        ({"kind": "hmac", "secret": SECRET_TEXT}, "is not a partner-key: it has kind 'hmac'"),
        ({"secret": SECRET_TEXT}, "is not a partner-key: it says no kind"),
        ({"kind": "partner-key"}, "without a non-empty 'secret'"),
        ({"kind": "partner-key", "secret": "not base64url!"}, "is not base64url text"),
        (
            {"kind": "partner-key", "secret": base64.urlsafe_b64encode(b"k" * 16).decode()},
            "decodes to 16 bytes, fewer than 32",
        ),
    ],
)
def test_a_secret_that_is_no_usable_partner_key_is_refused_without_its_value(
    secretsmanager, capsys, secret, refusal
):
    secretsmanager.create_secret(Name="sekisho/partner/bad-erp", SecretString=json.dumps(secret))

    status, out, err = sekisho_sign(capsys, "bad-erp", "POST", URL, "--data", BODY)

    assert (status, out) == (2, "")
    assert refusal in err
    assert SECRET_TEXT not in err


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        ([PARTNER, "POST", URL, "--data", "{not json"], "--data is not JSON"),
        ([PARTNER, "POST", "ftp://127.0.0.1/x", "--data", BODY], "is not an absolute http(s) URL"),
        ([PARTNER, "POST", "/views/partner-deals", "--data", BODY], "not an absolute"),
        ([PARTNER, "POST", f"{URL}#top", "--data", BODY], "has a fragment"),
        ([PARTNER, "POST", "http://me:pw@127.0.0.1:3000/x", "--data", BODY], "credentials"),
        ([PARTNER, "PO ST", URL, "--data", BODY], "is not an HTTP method"),
        (["demo erp", "POST", URL, "--data", BODY], "partner id 'demo erp'"),
        (['demo"erp', "POST", URL, "--data", BODY], "partner id"),
        (
            [PARTNER, "POST", URL, "--data", "@x", "--content-type", "text/plain"],
            "--data '@x'",
        ),
        ([PARTNER, "POST", URL, "--data", BODY, "--curl-option", "'unclosed"], "--curl-option"),
    ],
)
def test_what_cannot_be_signed_as_the_contract_asks_is_refused_with_exit_2(
    secretsmanager, capsys, argv, refusal
):
    status, out, err = sekisho_sign(capsys, *argv)

    assert (status, out) == (2, "")
    assert err.startswith("error: ")
    assert refusal in err


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (b"\xff\xfe", "must be UTF-8 text"),
        (b"a\x00b", "NUL"),
        (b"@/etc/passwd", "read by curl as a file name"),
    ],
)
def test_a_body_a_shell_line_cannot_carry_exactly_is_refused(
    secretsmanager, capsys, tmp_path, body, refusal
):
    (tmp_path / "body").write_bytes(body)

    status, out, err = sekisho_sign(
        capsys,
        PARTNER,
        "POST",
        URL,
        "--data",
        f"@{tmp_path / 'body'}",
        "--content-type",
        "text/plain",
    )

    assert (status, out) == (2, "")
    assert refusal in err


def test_signed_headers_take_the_clock_and_the_nonce_they_are_given():
    headers = signed_headers(
        PARTNER, "POST", URL, BODY.encode(), "application/json", KEY, "hmac-sha256",
        now=1_700_000_000, nonce="n" * 16,
    )  # fmt: skip

    assert headers["Signature-Input"] == (
        'sekisho=("@method" "@target-uri" "content-digest" "content-type");'
        f'created=1700000000;keyid="{PARTNER}";alg="hmac-sha256";nonce="{"n" * 16}"'
    )
    # The library refuses it now only for its age: the signature itself is sound.
    with pytest.raises(InvalidSignature, match="age"):
        verify(Message("POST", URL, CaseInsensitiveDict(headers)), BODY.encode())


def test_signed_headers_verify_when_sent_as_requests_sends_them():
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    headers = signed_headers(
        PARTNER, "POST", URL, BODY.encode(), "application/json", KEY, "hmac-sha256", now=now
    )

    result = verify(Message("POST", URL, CaseInsensitiveDict(headers)), BODY.encode())
    assert result.parameters["created"] == now


@pytest.mark.parametrize(
    ("call", "refusal"),
    [
        ({"key": KEY, "algorithm": "hmac-sha512"}, "is not one of hmac-sha256, ed25519"),
        ({"key": KEY, "algorithm": "ed25519"}, "needs a Ed25519PrivateKey key"),
        ({"key": b"short", "algorithm": "hmac-sha256"}, "at least 32 bytes"),
        ({"key": KEY, "algorithm": "hmac-sha256", "nonce": "short"}, "a nonce is 16 to 128"),
        ({"key": KEY, "algorithm": "hmac-sha256", "nonce": "n" * 15 + " "}, "a nonce is 16 to 128"),
    ],
)
def test_a_key_algorithm_or_nonce_the_verifier_would_refuse_is_refused_before_signing(
    call, refusal
):
    with pytest.raises(SigningRefused, match=refusal):
        sign_request(PARTNER, "POST", URL, BODY.encode(), "application/json", **call)


def test_a_url_requests_would_rewrite_is_signed_as_it_is_sent():
    signed = sign_request(
        PARTNER, "POST", "http://127.0.0.1:3000/views/パートナー", None, None, KEY, "hmac-sha256"
    )

    assert signed.url == "http://127.0.0.1:3000/views/%E3%83%91%E3%83%BC%E3%83%88%E3%83%8A%E3%83%BC"
    verify(
        Message("POST", signed.url, CaseInsensitiveDict(signed.headers)),
        None,
        covered=BARE_COMPONENTS,
    )


@pytest.mark.parametrize("padded", [True, False])
def test_a_partner_key_is_read_with_or_without_base64_padding(padded):
    text = base64.urlsafe_b64encode(KEY).decode()
    assert hmac_key(text if padded else text.rstrip("=")) == KEY


# ------------------------------------------------------------- through a real shell


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str], bytes]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_printed_line_run_by_a_shell_sends_a_request_that_verifies(
    secretsmanager, capsys, recorder
):
    base, seen = recorder
    body = '{"match": {"deal_id": "D000001"}, "note": "it\'s $HOME `x` \\"q\\" 日本"}'
    url = f"{base}/views/partner-deals?x=1"

    _, out, _ = sekisho_sign(
        capsys, PARTNER, "POST", url, "--data", body, "--curl-option=-s --noproxy '*'"
    )
    assert shutil.which("curl"), "curl is what `sekisho sign` prints for"
    bash = shutil.which("bash")
    assert bash
    subprocess.run([bash, "-c", out], check=True, timeout=30, capture_output=True)

    ((method, path, headers, sent),) = seen
    assert (method, path, sent) == ("POST", "/views/partner-deals?x=1", body.encode())
    verify(Message(method, base + path, CaseInsensitiveDict(headers)), sent)


def test_a_fresh_random_key_signs_and_verifies():
    key = secrets.token_bytes(32)
    signed = sign_request(PARTNER, "POST", URL, b"{}", "application/json", key, "hmac-sha256")

    verify(Message("POST", signed.url, CaseInsensitiveDict(signed.headers)), b"{}", key=key)
    with pytest.raises(InvalidSignature):
        verify(Message("POST", signed.url, CaseInsensitiveDict(signed.headers)), b"{}")


def test_the_ed25519_key_file_must_hold_an_ed25519_private_key(capsys, tmp_path):
    (tmp_path / "not-a-key.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )

    status, out, err = sekisho_sign(
        capsys, PARTNER, "POST", URL, "--data", BODY, "--key-file", str(tmp_path / "not-a-key.pem")
    )

    assert (status, out) == (2, "")
    assert "holds no unencrypted PEM private key" in err
    assert Path(tmp_path / "not-a-key.pem").read_text().splitlines()[1] not in err
