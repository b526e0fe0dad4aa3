"""A function's cold start from the reviewed snapshot: checked, logged once, and light.

Each function is started in a fresh process, as Lambda's init does it, with the snapshot
`make build` bundles (here written to a temporary layer directory).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from devstack.layer_modules import unshipped_modules
from sekisho import runtime
from sekisho.errors import ConfigurationError
from sekisho.policy.snapshot import WrittenSnapshot, write_snapshot
from sekisho.policy.validation import read_policy
from sekisho.wiring import lookup as lookup_wiring
from tests.bench.cold_init import FUNCTIONS, child_env, refused_modules
from tests.integration.test_lookup_function import Context, provision

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"

INIT = """
import importlib, importlib.util, json, os, sys
if os.environ.get("REFUSED_MODULES"):
    # As in Lambda: only the layer's distributions and the runtime's boto3 are there.
    from devstack.layer_modules import refuse_unshipped
    refuse_unshipped(json.loads(os.environ["REFUSED_MODULES"]))
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
loaded = sorted(m for m in ("pydantic", "yaml", "sekisho.policy.validation") if m in sys.modules)
print("LOADED " + json.dumps(loaded))
if len(sys.argv) > 2:
    name, _, attr = sys.argv[2].partition(":")
    getattr(importlib.import_module(name), attr)()
print("MODULES " + json.dumps(sorted(sys.modules)))
"""
# What each function has no use for, even once its service is built: another function's
# code (the action re-reads a record with the refetcher, but verifies no signature).
NOT_LOADED = {
    "lookup": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.intake",
        "sekisho.webhooks",
        "sekisho.actions",
        "sekisho.rotation",
        "sekisho.sessions",
        "jwt",
    ],
    "intake": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.lookup",
        "sekisho.webhooks",
        "sekisho.actions",
        "sekisho.intake.delivery",
        "sekisho.sessions",
    ],
    "deliver": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.http",
        "sekisho.webhooks",
        "aws_lambda_powertools.event_handler",
    ],
    # The SQS client is shared with intake's queue module; intake's own code is not loaded.
    "webhook": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.intake.service",
        "sekisho.intake.delivery",
        "sekisho.lookup",
        "sekisho.actions",
        "sekisho.rotation",
    ],
    # Nor an operator's command, nor the local stack's stand-in for Secrets Manager.
    "rotate": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.http",
        "sekisho.intake",
        "sekisho.webhooks",
        "sekisho.actions",
        "sekisho.rotation.cli",
        "devstack",
        "devstack.rotation_driver",
    ],
    # Signed-in visitors: no anonymous lookup, no intake, no webhook verifier.
    "session": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.lookup",
        "sekisho.intake",
        "sekisho.webhooks.service",
        "sekisho.webhooks.schemes",
        "sekisho.actions",
        "sekisho.rotation",
    ],
    # Partners: the lookup and the intake behind a signature. The keys' grace is the
    # webhook sources' (sekisho.webhooks.keys); their verifiers are not loaded.
    "partner": [
        "sekisho.webhooks.service",
        "sekisho.webhooks.schemes",
        "sekisho.actions",
        "sekisho.rotation",
        "sekisho.sessions",
        "sekisho.intake.delivery",
        "jwt",
    ],
    "action": [
        "http_message_signatures",
        "sekisho.partners.gate",
        "sekisho.sessions",
        "sekisho.http",
        "sekisho.webhooks.schemes",
        "sekisho.webhooks.service",
        "aws_lambda_powertools.event_handler",
    ],
}
# Services a test can build with no AWS call (the others read the guard's key first).
BUILT_OFFLINE = {"deliver", "webhook", "rotate", "action"}
# What every function's first request needs, imported at init (module level), so the
# first request pays for no import: the kintone client's HTTP stack and boto3.
LOADED_AT_INIT = ["requests", "boto3", "sekisho.kintone.client", "sekisho.aws"]
# What a function loads only when a request needs it, not at init (without SnapStart): a
# partner container's intake waits for its first signed submission; its views do not. A
# session container's sign-in and corrections wait for theirs; its lists do not.
LOADED_WHEN_USED = {
    "session": [
        "sekisho.sessions.signin",
        "sekisho.sessions.entries",
        "sekisho.mail.sender",
        "sekisho.entries.corrections",
        "sekisho.forms.correction",
    ],
    "partner": [
        "sekisho.wiring.intake",
        "sekisho.intake.service",
        "sekisho.intake.request",
        "aws_lambda_powertools.utilities.idempotency",
    ],
}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> WrittenSnapshot:
    return write_snapshot(read_policy(ROOT / "policy.yaml"), tmp_path_factory.mktemp("layer"))


@pytest.fixture(scope="module")
def refused() -> list[str]:
    """What the shared layer and the runtime do not ship (every function but partner)."""
    return sorted(unshipped_modules(ROOT / "layers" / "sekisho" / "requirements.txt"))


def function_refused(function: str) -> list[str]:
    """What this function's own layers (partner's two, the others' one) do not ship."""
    return json.loads(refused_modules(function))


def cold_start(
    function: str, snapshot_path: Path, *, build: bool = False, refused: list[str] = ()
) -> subprocess.CompletedProcess[str]:
    service = [FUNCTIONS[function]] if build else []
    env = child_env(snapshot_path, "http://127.0.0.1:9")
    # Refused only when asked for (the benchmark sets them per function, with a finder
    # of its own).
    if refused:
        env["REFUSED_MODULES"] = json.dumps(refused)
        env["PYTHONPATH"] += os.pathsep + str(ROOT / "local")
    return subprocess.run(
        [sys.executable, "-c", INIT, str(ROOT / "functions" / function / "app.py"), *service],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def log_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_logs_the_digest_of_its_policy_in_one_init_line(function, snapshot):
    done = cold_start(function, snapshot.path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in log_lines(done.stdout) if line.get("message") == "policy loaded"]
    assert len(lines) == 1
    (line,) = lines
    assert line["policy_digest"] == snapshot.digest
    assert line["policy_kind"] == "snapshot"
    assert line["service"] == "sekisho"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_function_started_from_the_snapshot_loads_neither_pydantic_nor_yaml(function, snapshot):
    done = cold_start(function, snapshot.path)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("LOADED ")]
    assert json.loads(line.removeprefix("LOADED ")) == []


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_function_loads_no_other_functions_code(function, snapshot):
    done = cold_start(function, snapshot.path, build=function in BUILT_OFFLINE)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    modules = set(json.loads(line.removeprefix("MODULES ")))
    assert sorted(m for m in NOT_LOADED[function] if m in modules) == []


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_function_imports_at_init_what_its_first_request_needs(function, snapshot):
    done = cold_start(function, snapshot.path)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    modules = set(json.loads(line.removeprefix("MODULES ")))
    assert sorted(m for m in LOADED_AT_INIT if m not in modules) == []


@pytest.mark.parametrize("function", sorted(LOADED_WHEN_USED))
def test_a_function_leaves_to_its_use_what_its_first_request_does_not_need(function, snapshot):
    done = cold_start(function, snapshot.path)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("MODULES ")]
    modules = set(json.loads(line.removeprefix("MODULES ")))
    assert sorted(m for m in LOADED_WHEN_USED[function] if m in modules) == []


def test_the_layer_ships_no_policy_validation(refused):
    assert {"pydantic", "pydantic_core", "yaml"} <= set(refused)
    assert not {"requests", "aws_lambda_powertools", "jsonpointer", "boto3"} & set(refused)


def test_only_partner_can_import_the_signature_library_and_cryptography():
    signatures = {"http_message_signatures", "http_sf", "cryptography"}
    for function in FUNCTIONS:
        refused = set(function_refused(function))
        if function == "partner":
            assert not signatures & refused
        else:
            assert signatures <= refused, function


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_function_starts_with_only_what_the_layer_and_the_runtime_ship(function, snapshot):
    refused = function_refused(function)
    done = cold_start(function, snapshot.path, build=function in BUILT_OFFLINE, refused=refused)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_layer_without_the_validation_refuses_a_yaml_policy_by_name(function):
    done = cold_start(function, ROOT / "policy.yaml", refused=function_refused(function))
    assert done.returncode != 0
    assert "SnapshotError" in done.stderr
    assert "is not a reviewed snapshot" in done.stderr
    assert "make build" in done.stderr


SIGNS_WITHOUT_CRYPTOGRAPHY = """
import json, sys
from devstack.layer_modules import refuse_unshipped
refuse_unshipped(json.loads(sys.argv[1]))
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.sessions.keys import RealmKeys
from sekisho.sessions.tokens import TokenCodec
backend = InMemorySecretBackend()
backend.put("realm-key", json.dumps({"kind": "hmac", "key": "k3y-" + "0123456789abcdef" * 2}))
keys = RealmKeys(SecretStore(backend, allowed={"realm-key"}), "realm-key", 900)
codec = TokenCodec("applicants", keys, "session")
token = codec.sign({"claims": {"email": "hanako@example.jp"}}, 900)[0]
claims = codec.verify(token)
print(json.dumps([claims["claims"], "cryptography" in sys.modules]))
"""


def test_a_session_token_is_signed_and_verified_where_cryptography_cannot_be_imported():
    # PyJWT imports cryptography whenever it finds it; HS256 needs only the hmac module.
    done = subprocess.run(
        [sys.executable, "-c", SIGNS_WITHOUT_CRYPTOGRAPHY, json.dumps(function_refused("session"))],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "sekisho"),
                                                           str(ROOT / "local")])},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    claims, imported = json.loads(done.stdout)
    assert claims == {"email": "hanako@example.jp"}
    assert imported is False


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_tampered_snapshot_fails_the_function_at_cold_start(function, tmp_path):
    written = write_snapshot(read_policy(ROOT / "policy.yaml"), tmp_path)
    data = written.path.read_bytes()
    # One more field in the lookup's projection than was reviewed: the internal memo.
    tampered = data.replace('"fields":["取引名"'.encode(), '"fields":["社内メモ","取引名"'.encode())
    assert tampered != data
    written.path.write_bytes(tampered)
    done = cold_start(function, written.path)
    assert done.returncode != 0
    assert "SnapshotError" in done.stderr
    assert "does not match its digest" in done.stderr


def test_the_policy_is_read_and_logged_once_per_container(snapshot, monkeypatch, caplog):
    monkeypatch.setenv("SEKISHO_POLICY", str(snapshot.path))
    runtime.settings.cache_clear()
    runtime.policy.cache_clear()
    try:
        with caplog.at_level(logging.INFO, logger="sekisho.runtime"):
            first, again = runtime.policy(), runtime.policy()
    finally:
        runtime.settings.cache_clear()
        runtime.policy.cache_clear()
    assert first is again
    (record,) = [r for r in caplog.records if r.getMessage() == "policy loaded"]
    assert record.policy_digest == snapshot.digest


def test_a_pinned_digest_other_than_the_layers_fails_the_container(snapshot, monkeypatch):
    monkeypatch.setenv("SEKISHO_POLICY", str(snapshot.path))
    monkeypatch.setenv("SEKISHO_POLICY_DIGEST", "0" * 64)
    runtime.settings.cache_clear()
    runtime.policy.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="deployed for"):
            runtime.policy()
    finally:
        runtime.settings.cache_clear()
        runtime.policy.cache_clear()


@pytest.mark.emulator
def test_a_lookup_started_from_the_snapshot_answers_as_one_started_from_the_yaml(
    snapshot, kintone, moto_url, monkeypatch
):
    table = f"GuardTable-{uuid.uuid4().hex[:8]}"
    provision(moto_url, table)
    answers = []
    for policy in (ROOT / "policy.yaml", snapshot.path):
        env = {
            "AWS_ENDPOINT_URL": moto_url,
            "GUARD_TABLE": table,
            "SEKISHO_POLICY": str(policy),
            "KINTONE_BASE_URL": kintone.url,
            "ALLOWED_ORIGINS": "http://127.0.0.1:3000",
            "NOT_FOUND_FLOOR_MS": "0",
            "POWERTOOLS_SERVICE_NAME": "sekisho",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for cached in (runtime.settings, runtime.policy, lookup_wiring.lookup_service):
            cached.cache_clear()
        spec = importlib.util.spec_from_file_location(
            f"lookup_app_{uuid.uuid4().hex}", ROOT / "functions" / "lookup" / "app.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for event_file in ("lookup_valid.json", "lookup_wrong_deal.json", "lookup_injection.json"):
            event = json.loads((EVENTS / event_file).read_text(encoding="utf-8"))
            response = module.lambda_handler(event, Context())
            answers.append((policy.suffix, event_file, response["statusCode"], response["body"]))
    for cached in (runtime.settings, runtime.policy, lookup_wiring.lookup_service):
        cached.cache_clear()
    from_yaml = [a[1:] for a in answers if a[0] == ".yaml"]
    from_snapshot = [a[1:] for a in answers if a[0] == ".json"]
    assert from_snapshot == from_yaml
    assert from_snapshot[0][1] == 200
