"""What an intake or deliver container builds at its first request, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from sekisho import runtime
from sekisho.errors import ConfigurationError
from sekisho.settings import Settings
from sekisho.wiring import deliver as deliver_wiring
from sekisho.wiring import intake as intake_wiring

ROOT = Path(__file__).resolve().parents[2]
INTAKE_ENV = {
    "GUARD_TABLE": "GuardTable",
    "INTAKE_QUEUE_URL": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/IntakeQueue",
    "ATTACHMENT_BUCKET": "attachmentbucket",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
}
CAPTCHA_POLICY = """
kintone: {base_url: https://example.cybozu.com}
apps:
  2:
    name: seminar
    fields: {受付ID: SINGLE_LINE_TEXT, 氏名: SINGLE_LINE_TEXT}
  1:
    name: deals
    fields: {取引ID: SINGLE_LINE_TEXT}
forms:
  apply:
    app: 2
    token_secret: sekisho/kintone/apply-add
    receipt_field: 受付ID
    captcha: {provider: recaptcha, secret: sekisho/captcha/apply}
    fields: {name: {code: 氏名, type: text}}
views:
  deal:
    app: 1
    token_secret: sekisho/kintone/deal-view
    match: {deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}}
    single_predicate: allowed
    fields: [取引ID]
"""


@pytest.fixture
def container(monkeypatch, tmp_path):
    """A cold container: no cached settings, policy or services."""
    for name in (*INTAKE_ENV, "SEKISHO_POLICY", "DELIVER_MIN_BACKOFF_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEKISHO_POLICY", str(ROOT / "policy.yaml"))

    def clear() -> None:
        for cached in (runtime.settings, runtime.policy, intake_wiring.intake_service):
            cached.cache_clear()
        deliver_wiring.deliver_service.cache_clear()

    clear()
    yield monkeypatch
    clear()


def test_the_intake_settings_come_from_the_environment():
    settings = Settings.from_env(INTAKE_ENV | {"DELIVER_MIN_BACKOFF_SECONDS": "2.5"})
    assert settings.intake_queue_url == INTAKE_ENV["INTAKE_QUEUE_URL"]
    assert settings.attachment_bucket == "attachmentbucket"
    assert settings.idempotency_table == "IdempotencyTable"
    assert settings.deliver_min_backoff_seconds == 2.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INTAKE_QUEUE_URL", "sqs://queue"),
        ("DELIVER_MIN_BACKOFF_SECONDS", "0"),
        ("DELIVER_MIN_BACKOFF_SECONDS", "901"),
        ("MAX_BODY_BYTES", str(7 * 1024 * 1024)),
    ],
)
def test_a_bad_intake_setting_fails_the_container_at_init(name, value):
    with pytest.raises(ConfigurationError, match="invalid settings"):
        Settings.from_env(INTAKE_ENV | {name: value})


@pytest.mark.parametrize("missing", sorted(INTAKE_ENV))
def test_the_intake_service_needs_each_of_its_resources(container, missing):
    for name, value in INTAKE_ENV.items():
        if name != missing:
            container.setenv(name, value)
    with pytest.raises(ConfigurationError, match=missing):
        intake_wiring.intake_service()


def test_the_deliver_service_needs_the_attachment_bucket(container):
    with pytest.raises(ConfigurationError, match="ATTACHMENT_BUCKET"):
        deliver_wiring.deliver_service()


def test_the_intake_allowlist_is_the_forms_tokens_captcha_secrets_and_the_guard_key(
    container, tmp_path
):
    policy = tmp_path / "policy.yaml"
    policy.write_text(CAPTCHA_POLICY, encoding="utf-8")
    container.setenv("SEKISHO_POLICY", str(policy))
    names = intake_wiring.intake_secret_names(runtime.settings())
    assert names == {
        "sekisho/kintone/apply-add",
        "sekisho/captcha/apply",
        "sekisho/guard/hash-key",
    }


def test_the_shipped_intake_allowlist_holds_no_view_token(container):
    names = intake_wiring.intake_secret_names(runtime.settings())
    assert names == {"sekisho/kintone/seminar-add", "sekisho/guard/hash-key"}


def test_the_form_route_lets_browsers_send_the_idempotency_and_captcha_headers(container):
    assert set(intake_wiring.intake_http_settings().allow_headers) == {
        "Idempotency-Key",
        "X-Captcha-Token",
    }
