"""The secret store over its in-memory twin: allowlist, cache, stale-if-error, refresh."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from sekisho.errors import ConfigurationError, UpstreamUnavailable
from sekisho.secrets.backend import PREVIOUS
from sekisho.secrets.errors import (
    SecretMalformed,
    SecretMissing,
    SecretNotAllowed,
    SecretStageMissing,
    SecretUnavailable,
)
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import MAX_TTL, TTL_VARIABLE, SecretStore, default_ttl

NAME = "sekisho/kintone/deals-view"
OTHER = "sekisho/kintone/seminar-add"
VALUE = "unit-secret-value-7f3a"
NEW_VALUE = "unit-secret-value-9c1e"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def token(value: str) -> str:
    return json.dumps({"kind": "kintone-token", "token": value})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> InMemorySecretBackend:
    backend = InMemorySecretBackend()
    backend.put(NAME, token(VALUE))
    backend.put(OTHER, token("not-allowed-value"))
    return backend


@pytest.fixture
def store(backend: InMemorySecretBackend, clock: Clock) -> SecretStore:
    return SecretStore(backend, allowed=[NAME], ttl=300, min_refresh_interval=30, clock=clock)


# -- allowlist ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda s: s.get(OTHER), id="get"),
        pytest.param(lambda s: s.get_stage(OTHER, PREVIOUS), id="get_stage"),
        pytest.param(lambda s: s.refresh(OTHER), id="refresh"),
        pytest.param(lambda s: s.token_source(OTHER), id="token_source"),
        pytest.param(lambda s: s.get(""), id="empty-name"),
        pytest.param(lambda s: s.get(["sekisho/kintone/deals-view"]), id="non-string-name"),
    ],
)
def test_secret_not_named_by_the_policy_is_refused_before_any_backend_call(store, backend, call):
    with pytest.raises(SecretNotAllowed) as caught:
        call(store)
    assert isinstance(caught.value, ConfigurationError)
    assert backend.calls == 0


def test_allowed_names_given_as_one_string_are_refused(backend):
    with pytest.raises(ConfigurationError):
        SecretStore(backend, allowed=NAME)


@pytest.mark.parametrize("ttl", [300.01, 3600, -1])
def test_cache_ttl_outside_zero_to_five_minutes_is_refused(backend, ttl):
    with pytest.raises(ConfigurationError):
        SecretStore(backend, allowed=[NAME], ttl=ttl)


def test_the_cache_lasts_five_minutes_unless_the_environment_shortens_it(
    backend, clock, monkeypatch
):
    monkeypatch.delenv(TTL_VARIABLE, raising=False)
    assert default_ttl() == MAX_TTL
    monkeypatch.setenv(TTL_VARIABLE, "20")
    store = SecretStore(backend, allowed=[NAME], clock=clock)
    store.get(NAME)
    clock.advance(19)
    store.get(NAME)
    assert backend.calls == 1
    clock.advance(2)
    store.get(NAME)
    assert backend.calls == 2


@pytest.mark.parametrize("text", ["300.5", "-1", "soon", "nan"])
def test_a_cache_lifetime_from_the_environment_outside_five_minutes_is_refused(text):
    with pytest.raises(ConfigurationError, match=TTL_VARIABLE):
        default_ttl({TTL_VARIABLE: text})


# -- cache ----------------------------------------------------------------------------


def test_value_is_the_secrets_json_object(store):
    assert store.get(NAME) == {"kind": "kintone-token", "token": VALUE}


def test_value_is_served_from_the_cache_within_the_ttl(store, backend, clock):
    store.get(NAME)
    clock.advance(299)
    store.get(NAME)
    assert backend.calls == 1


def test_value_is_read_again_once_the_ttl_has_passed(store, backend, clock):
    store.get(NAME)
    backend.put(NAME, token(NEW_VALUE))
    clock.advance(300)
    assert store.get(NAME)["token"] == NEW_VALUE
    assert backend.calls == 2


def test_editing_a_returned_value_does_not_edit_the_cache(store):
    store.get(NAME)["token"] = "tampered"
    assert store.get(NAME)["token"] == VALUE


def test_an_explicit_stage_is_read_and_cached_apart_from_awscurrent(store, backend):
    backend.put(NAME, token("previous-value"), stage=PREVIOUS)
    assert store.get_stage(NAME, PREVIOUS)["token"] == "previous-value"
    assert store.get(NAME)["token"] == VALUE
    store.get_stage(NAME, PREVIOUS)
    store.get(NAME)
    assert backend.calls == 2


def test_a_stage_that_no_version_carries_is_a_stage_missing_error(store, backend):
    with pytest.raises(SecretStageMissing):
        store.get_stage(NAME, PREVIOUS)


def test_a_missing_stage_is_remembered_for_the_ttl(store, backend, clock):
    for _ in range(3):
        with pytest.raises(SecretStageMissing):
            store.get_stage(NAME, PREVIOUS)
    assert backend.calls == 1
    backend.put(NAME, token("previous-value"), stage=PREVIOUS)
    clock.advance(300)
    assert store.get_stage(NAME, PREVIOUS)["token"] == "previous-value"


def test_concurrent_first_reads_share_one_backend_call(store, backend):
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get(NAME))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert backend.calls == 1


# -- failures -------------------------------------------------------------------------


def test_backend_outage_serves_the_expired_value_and_logs_the_name_only(
    store, backend, clock, caplog
):
    store.get(NAME)
    clock.advance(301)
    backend.fail = True
    with caplog.at_level(logging.WARNING, logger="sekisho.secrets"):
        assert store.get(NAME)["token"] == VALUE
    [record] = caplog.records
    assert record.secret_name == NAME
    assert record.error_code == "InternalServiceError"
    assert VALUE not in json.dumps(record.__dict__, default=str)


def test_a_stale_value_is_held_a_while_before_the_backend_is_asked_again(store, backend, clock):
    store.get(NAME)
    clock.advance(301)
    backend.fail = True
    store.get(NAME)
    store.get(NAME)
    assert backend.calls == 2
    clock.advance(30)
    store.get(NAME)
    assert backend.calls == 3


def test_backend_recovery_after_an_outage_serves_the_new_value(store, backend, clock):
    store.get(NAME)
    clock.advance(301)
    backend.fail = True
    store.get(NAME)
    backend.fail = False
    backend.put(NAME, token(NEW_VALUE))
    clock.advance(30)
    assert store.get(NAME)["token"] == NEW_VALUE


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("InternalServiceError", SecretUnavailable),
        ("ThrottlingException", SecretUnavailable),
        ("ResourceNotFoundException", SecretMissing),
        ("AccessDeniedException", SecretMissing),
        ("DecryptionFailure", SecretMissing),
    ],
)
def test_backend_failure_with_nothing_cached_maps_to_a_typed_error(store, backend, code, error):
    backend.fail = True
    backend.fail_code = code
    with pytest.raises(error):
        store.get(NAME)


def test_outage_with_nothing_cached_is_a_503_upstream_unavailable(store, backend):
    backend.fail = True
    with pytest.raises(SecretUnavailable) as caught:
        store.get(NAME)
    assert isinstance(caught.value, UpstreamUnavailable)
    assert caught.value.problem()["status"] == 503
    assert caught.value.problem()["code"] == "upstream_unavailable"


def test_missing_secret_is_a_configuration_error_not_a_503(store, backend):
    backend.delete(NAME)
    with pytest.raises(SecretMissing) as caught:
        store.get(NAME)
    assert not isinstance(caught.value, SecretStageMissing)
    assert caught.value.problem()["status"] == 500
    assert caught.value.problem()["code"] == "configuration_error"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(VALUE, id="not-json"),
        pytest.param(f'{{"token": "{VALUE}"', id="truncated-json"),
        pytest.param(json.dumps([VALUE]), id="json-array"),
        pytest.param(json.dumps(VALUE), id="json-string"),
    ],
)
def test_malformed_value_is_refused_without_showing_it(store, backend, raw):
    backend.put(NAME, raw)
    with pytest.raises(SecretMalformed) as caught:
        store.get(NAME)
    error = caught.value
    shown = [str(error), repr(error), json.dumps(error.problem()), str(error.__cause__)]
    assert all(VALUE not in text for text in shown)
    assert error.__cause__ is None or not hasattr(error.__cause__, "doc")


# -- refresh --------------------------------------------------------------------------


def test_refresh_rereads_within_the_ttl_and_reports_a_change(store, backend):
    store.get(NAME)
    backend.put(NAME, token(NEW_VALUE))
    assert store.refresh(NAME) is True
    assert store.get(NAME)["token"] == NEW_VALUE
    assert backend.calls == 2


def test_refresh_reports_no_change_when_the_value_is_the_same(store, backend):
    store.get(NAME)
    assert store.refresh(NAME) is False
    assert backend.calls == 2


def test_second_refresh_within_the_interval_does_not_call_the_backend(store, backend, clock):
    store.get(NAME)
    store.refresh(NAME)
    backend.put(NAME, token(NEW_VALUE))
    clock.advance(29)
    assert store.refresh(NAME) is False
    assert backend.calls == 2
    clock.advance(1)
    assert store.refresh(NAME) is True
    assert backend.calls == 3


def test_refresh_during_an_outage_keeps_the_cached_value(store, backend):
    store.get(NAME)
    backend.fail = True
    assert store.refresh(NAME) is False
    assert store.get(NAME)["token"] == VALUE


def test_refresh_with_nothing_cached_loads_the_value(store, backend):
    assert store.refresh(NAME) is True
    store.get(NAME)
    assert backend.calls == 1


# -- values never shown ---------------------------------------------------------------


def test_repr_and_str_of_the_store_and_its_entries_do_not_show_values(store, backend, clock):
    store.get(NAME)
    backend.put(NAME, token("previous-value"), stage=PREVIOUS)
    store.get_stage(NAME, PREVIOUS)
    shown = [repr(store), str(store), repr(backend), *map(repr, store._entries.values())]
    assert all(VALUE not in text and "previous-value" not in text for text in shown)
    assert NAME in repr(store)


def test_no_log_record_of_any_path_carries_a_value(store, backend, clock, caplog):
    caplog.set_level(logging.DEBUG)
    store.get(NAME)
    store.refresh(NAME)
    clock.advance(301)
    backend.fail = True
    store.get(NAME)
    store.refresh(NAME)
    backend.put(NAME, "not json " + VALUE)
    backend.fail = False
    clock.advance(301)
    with pytest.raises(SecretMalformed):
        store.get(NAME)
    assert caplog.records
    for record in caplog.records:
        assert VALUE not in json.dumps(record.__dict__, default=str)
        assert VALUE not in record.getMessage()
