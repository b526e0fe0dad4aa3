"""``sekisho sign PARTNER METHOD URL``: one signed curl command for a partner route.

The key is the partner's: its HMAC key from Secrets Manager (``sekisho/partner/<id>``
under the stack's prefix; AWS_ENDPOINT_URL points boto3 at the local stack's moto), or
its Ed25519 private key from ``--key-file``. What is printed is the curl line alone, so
``eval "$(sekisho sign ...)"`` sends it; errors go to stderr for the same reason, and the
key never appears in either.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError

from sekisho import aws
from sekisho.commands import Commands, add_command, add_prefix_option
from sekisho.errors import SekishoError
from sekisho.secrets.aws import SecretsManagerBackend
from sekisho.secrets.store import SecretStore

from .sign import (
    SigningKey,
    SigningRefused,
    curl_command,
    ed25519_private_key,
    partner_key,
    secret_name,
    sign_request,
)
from .signature import ED25519, HMAC_SHA256

EXIT_OK, EXIT_USAGE = 0, 2
JSON_TYPE = "application/json"


def _secrets_client() -> Any:
    # A client of its own, as the other operator commands take: tests start moto first.
    return aws.fresh_client("secretsmanager")


def _body(data: str | None, content_type: str) -> bytes | None:
    """--data's bytes: the text as UTF-8, or ``@file``'s bytes as they are."""
    if data is None:
        return None
    if data.startswith("@"):
        path = Path(data[1:])
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise SigningRefused(f"--data {data!r}: {exc.strerror or exc}") from None
    else:
        body = data.encode("utf-8")
    if content_type.split(";", 1)[0].strip().lower() == JSON_TYPE:
        # Caught here, not as a 400 after the signature was spent.
        try:
            json.loads(body)
        except ValueError as exc:
            raise SigningRefused(f"--data is not JSON ({exc})") from None
    return body


def _key(args: argparse.Namespace) -> tuple[SigningKey, str]:
    if args.key_file is not None:
        path = Path(args.key_file)
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise SigningRefused(f"--key-file {str(path)!r}: {exc.strerror or exc}") from None
        return ed25519_private_key(pem, where=f"--key-file {str(path)!r}"), ED25519
    name = args.secret or secret_name(args.partner)
    store = SecretStore(
        SecretsManagerBackend(_secrets_client(), prefix=args.secret_prefix),
        allowed=frozenset({name}),
        ttl=0,
    )
    return partner_key(store.get(name), name), HMAC_SHA256


def _curl_options(values: list[str]) -> list[str]:
    words: list[str] = []
    for value in values:
        try:
            words += shlex.split(value)
        except ValueError as exc:
            raise SigningRefused(f"--curl-option {value!r}: {exc}") from None
    return words


def _sign(args: argparse.Namespace, out: TextIO) -> int:
    """print a curl command that sends one request signed with a partner's key

    Signs METHOD URL (and --data) as partner routes require (RFC 9421 HTTP Message
    Signatures: "@method" "@target-uri", and with a body "content-digest" "content-type";
    created now, keyid PARTNER, a fresh nonce, alg) with the partner's HMAC key from
    Secrets Manager (sekisho/partner/PARTNER, AWSCURRENT) or its Ed25519 private key
    (--key-file), and prints one curl command. The signature is accepted for 300 seconds
    and once: sign again for every request. Exits 0, or 2 when the key cannot be read or
    the request cannot be signed.
    """
    try:
        curl_options = _curl_options(args.curl_option)
        body = _body(args.data, args.content_type)
        key, algorithm = _key(args)
        signed = sign_request(
            args.partner, args.method, args.url, body, args.content_type, key, algorithm
        )
        line = curl_command(signed, curl_options)
    except SekishoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BotoCoreError as exc:
        print(f"error: Secrets Manager cannot be reached ({type(exc).__name__})", file=sys.stderr)
        return EXIT_USAGE
    print(line, file=out)
    return EXIT_OK


def add_sign(commands: Commands) -> None:
    sign = add_command(commands, "sign", _sign, policy=None)
    sign.add_argument("partner", metavar="PARTNER", help="the partner's id (the keyid)")
    sign.add_argument("method", metavar="METHOD", help="the HTTP method, e.g. POST")
    sign.add_argument(
        "url",
        metavar="URL",
        help="the URL as the partner calls it, e.g. http://127.0.0.1:3000/views/partner-deals",
    )
    sign.add_argument(
        "--data",
        metavar="JSON|@FILE",
        help="the body: the text given (sent as UTF-8), or @FILE's bytes (default: no body)",
    )
    sign.add_argument(
        "--content-type",
        default=JSON_TYPE,
        help=f"the body's media type, signed with it (default: {JSON_TYPE})",
    )
    sign.add_argument(
        "--key-file",
        metavar="PEM",
        help=(
            f"sign with {ED25519} and this unencrypted PKCS#8 private key instead of the "
            f"{HMAC_SHA256} key in Secrets Manager"
        ),
    )
    sign.add_argument(
        "--secret",
        metavar="NAME",
        help="the key's declared secret name (default: sekisho/partner/PARTNER)",
    )
    sign.add_argument(
        "--curl-option",
        action="append",
        default=[],
        metavar="OPTIONS",
        help=(
            "more curl options, shell words, put before the URL (repeatable), "
            "e.g. --curl-option='-s -i' or --curl-option='--cert partner.pem'"
        ),
    )
    add_prefix_option(sign)
