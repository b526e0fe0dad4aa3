"""A realm's keys: one secret, a key of its own per purpose, the previous one only in the
grace after a rotation, and nothing short or placeholder ever used as a key."""

from __future__ import annotations

import itertools
import json

import pytest

from sekisho.errors import ConfigurationError
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore
from sekisho.sessions.keys import MIN_KEY_CHARS, RealmKeys
from tests.unit.test_session_support import KEY, KEY_SECRET, OTHER_KEY, Clock, key_secret

PURPOSES = ("session", "cursor", "ref", "code", "file")
GRACE = 900


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> InMemorySecretBackend:
    backend = InMemorySecretBackend()
    backend.put(KEY_SECRET, key_secret(KEY))
    return backend


def keys_over(backend: InMemorySecretBackend, clock: Clock) -> RealmKeys:
    store = SecretStore(backend, allowed={KEY_SECRET}, clock=clock)
    return RealmKeys(store, KEY_SECRET, GRACE, clock=clock)


def test_each_purpose_gets_a_key_of_its_own(backend, clock):
    keys = keys_over(backend, clock)
    derived = {purpose: keys.signing(purpose) for purpose in PURPOSES}

    assert len(set(derived.values())) == len(PURPOSES)
    for key in derived.values():
        assert len(key) == 32
        assert key != KEY.encode()
        assert KEY.encode() not in key


def test_the_derived_keys_follow_the_secret(backend, clock):
    before = keys_over(backend, clock).signing("session")
    backend.put(KEY_SECRET, key_secret(OTHER_KEY))
    after = keys_over(backend, clock).signing("session")
    assert before != after
    # The same secret always derives the same key (another container agrees).
    backend.put(KEY_SECRET, key_secret(KEY))
    assert keys_over(backend, clock).signing("session") == before


def test_the_current_key_signs_and_verifies(backend, clock):
    keys = keys_over(backend, clock)
    for purpose in PURPOSES:
        assert keys.verifying(purpose) == [keys.signing(purpose)]


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param({"kind": "hmac", "key": "k" * (MIN_KEY_CHARS - 1)}, id="31-characters"),
        pytest.param({"kind": "hmac", "key": ""}, id="empty"),
        pytest.param({"kind": "hmac"}, id="no-key"),
        pytest.param({"kind": "hmac", "key": 1234567890123456789012345678901234}, id="a-number"),
        pytest.param({"kind": "hmac", "key": ["k" * 40]}, id="a-list"),
    ],
)
def test_a_current_key_shorter_than_32_characters_is_a_configuration_error(backend, clock, secret):
    backend.put(KEY_SECRET, json.dumps(secret))
    keys = keys_over(backend, clock)

    with pytest.raises(ConfigurationError) as refused:
        keys.signing("session")
    with pytest.raises(ConfigurationError):
        keys.verifying("session")
    # The problem names the secret, never the value.
    assert KEY_SECRET in str(refused.value)
    assert refused.value.status == 500


def test_a_key_of_exactly_32_characters_is_enough(backend, clock):
    backend.put(KEY_SECRET, key_secret("k" * MIN_KEY_CHARS))
    assert len(keys_over(backend, clock).signing("session")) == 32


@pytest.mark.parametrize(
    "previous",
    [
        pytest.param(json.dumps({"kind": "hmac", "key": ""}), id="the-template-placeholder"),
        pytest.param(json.dumps({"kind": "hmac", "key": "short"}), id="a-short-key"),
        pytest.param(json.dumps({"kind": "hmac"}), id="no-key"),
        pytest.param(json.dumps({"kind": "hmac", "key": 7}), id="a-number"),
        pytest.param("not json", id="malformed"),
        pytest.param(None, id="no-previous-version"),
    ],
)
def test_a_placeholder_previous_key_is_no_key(backend, clock, previous):
    if previous is not None:
        backend.put(KEY_SECRET, previous, stage="AWSPREVIOUS")
    backend.put(KEY_SECRET, key_secret(OTHER_KEY, rotated_at=clock.now - 5))
    keys = keys_over(backend, clock)

    assert keys.verifying("session") == [keys.signing("session")]


def _rotated(backend: InMemorySecretBackend, rotated_at) -> None:
    backend.put(KEY_SECRET, key_secret(KEY), stage="AWSPREVIOUS")
    backend.put(KEY_SECRET, key_secret(OTHER_KEY, rotated_at=rotated_at))


@pytest.mark.parametrize(
    ("since", "accepted"),
    [
        pytest.param(0, True, id="just-rotated"),
        pytest.param(GRACE - 1, True, id="a-second-before-the-grace-ends"),
        pytest.param(GRACE, True, id="the-last-second"),
        pytest.param(GRACE + 1, False, id="a-second-after"),
        pytest.param(10 * GRACE, False, id="long-after"),
        pytest.param(-200, True, id="rotated-a-little-ahead-of-this-clock"),
        pytest.param(-301, False, id="rotated-further-ahead-than-any-skew"),
    ],
)
def test_the_previous_key_is_accepted_only_within_the_grace(backend, clock, since, accepted):
    _rotated(backend, rotated_at=clock.now - since)
    keys = keys_over(backend, clock)
    previous = keys_over(_only(KEY), clock).signing("session")

    verifying = keys.verifying("session")

    assert verifying[0] == keys.signing("session")
    assert (previous in verifying) is accepted
    assert len(verifying) == (2 if accepted else 1)


def test_new_values_are_never_signed_with_the_previous_key(backend, clock):
    _rotated(backend, rotated_at=clock.now)
    keys = keys_over(backend, clock)
    assert keys.signing("session") == keys_over(_only(OTHER_KEY), clock).signing("session")


def test_refresh_says_whether_the_current_key_changed(backend, clock):
    keys = keys_over(backend, clock)
    keys.signing("session")
    assert keys.refresh() is False
    clock.advance(31)
    backend.put(KEY_SECRET, key_secret(OTHER_KEY))
    assert keys.refresh() is True


def test_a_failing_refresh_is_no_change(backend, clock):
    keys = keys_over(backend, clock)
    keys.signing("session")
    backend.fail = True
    clock.advance(31)
    assert keys.refresh() is False


def test_purposes_and_secrets_never_collide(clock):
    seen = set()
    for key, purpose in itertools.product((KEY, OTHER_KEY), PURPOSES):
        seen.add(keys_over(_only(key), clock).signing(purpose))
    assert len(seen) == 2 * len(PURPOSES)


def _only(key: str) -> InMemorySecretBackend:
    backend = InMemorySecretBackend()
    backend.put(KEY_SECRET, key_secret(key))
    return backend
