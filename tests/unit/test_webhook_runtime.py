"""What a webhook container builds at its first request, and what it may not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from sekisho import runtime
from sekisho.errors import ConfigurationError
from sekisho.secrets.errors import SecretNotAllowed
from sekisho.settings import Settings
from sekisho.wiring import webhook as webhook_wiring

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_ENV = {
    "GUARD_TABLE": "GuardTable",
    "WEBHOOK_QUEUE_URL": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/WebhookQueue",
}


@pytest.fixture
def container(monkeypatch):
    """A cold container: no cached settings, policy or service."""
    for name in (*WEBHOOK_ENV, "SEKISHO_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEKISHO_POLICY", str(ROOT / "policy.yaml"))

    def clear() -> None:
        for cached in (runtime.settings, runtime.policy, webhook_wiring.webhook_service):
            cached.cache_clear()

    clear()
    yield monkeypatch
    clear()


@pytest.mark.parametrize("missing", sorted(WEBHOOK_ENV))
def test_the_webhook_service_needs_its_table_and_queue(container, missing):
    for name, value in WEBHOOK_ENV.items():
        if name != missing:
            container.setenv(name, value)
    with pytest.raises(ConfigurationError, match=missing):
        webhook_wiring.webhook_service()


def test_the_webhook_service_reads_only_the_sources_secrets_and_refetch_tokens(container):
    for name, value in WEBHOOK_ENV.items():
        container.setenv(name, value)
    store = webhook_wiring.webhook_service()._keys._secrets
    for other in (
        "sekisho/kintone/deals-view",
        "sekisho/kintone/seminar-add",
        "sekisho/guard/hash-key",
    ):
        with pytest.raises(SecretNotAllowed):
            store.get(other)


@pytest.mark.parametrize("url", ["ftp://queue", "not a url", "file:///tmp/queue"])
def test_a_webhook_queue_url_that_is_not_http_is_refused(url):
    with pytest.raises(ConfigurationError, match="webhook_queue_url"):
        Settings.from_env({"WEBHOOK_QUEUE_URL": url})
