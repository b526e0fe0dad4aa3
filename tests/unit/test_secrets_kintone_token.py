"""A kintone token that cannot be one X-Cybozu-API-Token value is refused when the secret
is read, naming the secret and what is wrong, never the value."""

from __future__ import annotations

import json

import pytest

from sekisho.errors import ConfigurationError
from sekisho.secrets.errors import SecretMalformed
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore

NAME = "sekisho/kintone/deals-view"
# Distinctive, so that any echo of it in an error is found.
TOKEN = "Zq7TokenBodyXk42"


@pytest.fixture
def backend() -> InMemorySecretBackend:
    return InMemorySecretBackend()


@pytest.fixture
def store(backend) -> SecretStore:
    return SecretStore(backend, allowed=[NAME], min_refresh_interval=0)


def stored(backend: InMemorySecretBackend, token: str) -> None:
    backend.put(NAME, json.dumps({"kind": "kintone-token", "token": token}))


@pytest.mark.parametrize(
    ("token", "said"),
    [
        pytest.param(TOKEN + "\n", "whitespace or a line break at its end", id="trailing-newline"),
        pytest.param(TOKEN + "\r\n", "whitespace or a line break at its end", id="trailing-crlf"),
        pytest.param(" " + TOKEN, "whitespace or a line break at its start", id="leading-space"),
        pytest.param(TOKEN + " ", "whitespace or a line break at its end", id="trailing-space"),
        pytest.param(TOKEN[:5] + " " + TOKEN[5:], "whitespace or a line break inside", id="space"),
        pytest.param(TOKEN[:5] + "\t" + TOKEN[5:], "whitespace or a line break inside", id="tab"),
        pytest.param(TOKEN + "," + TOKEN[::-1], "a comma", id="comma"),
        pytest.param(TOKEN[:5] + "\x01" + TOKEN[5:], "a control character inside", id="control"),
        pytest.param(TOKEN + "\x7f", "a control character at its end", id="delete"),
        pytest.param(TOKEN + "トークン", "a non-ASCII character", id="non-ascii"),
        pytest.param(TOKEN + "\u3000", "whitespace or a line break at its end", id="wide-space"),
        pytest.param(TOKEN + "\u00e9", "a non-ASCII character at its end", id="latin-1"),
    ],
)
def test_a_token_that_is_no_header_value_is_refused_naming_the_secret_not_the_value(
    store, backend, token, said
):
    stored(backend, token)
    with pytest.raises(SecretMalformed) as refused:
        store.token_source(NAME).current()
    error = refused.value
    assert isinstance(error, ConfigurationError)
    assert (error.status, error.code) == (500, "configuration_error")
    assert NAME in str(error)
    assert said in str(error)
    for shown in (str(error), repr(error), json.dumps(error.problem()), str(error.log_fields())):
        assert TOKEN[:8] not in shown
        assert TOKEN[-8:] not in shown
    # What the relay logs of it names the secret too, so the operator knows what to fix.
    assert NAME in error.log_fields()["detail"]


def test_every_problem_of_a_token_is_named_once(store, backend):
    stored(backend, f" {TOKEN},x,y\n")
    with pytest.raises(SecretMalformed) as refused:
        store.token_source(NAME).current()
    message = str(refused.value)
    assert message.count("whitespace") == 1
    assert message.count("comma") == 1


@pytest.mark.parametrize(
    "token",
    ["0123456789abcdefABCDEFghijklmnopqrstuvwx", TOKEN, "x", "!#$%&'()*+-./:;<=>?@[]^_`{|}~"],
)
def test_a_valid_token_still_works(store, backend, token):
    stored(backend, token)
    assert store.token_source(NAME).current() == token


def test_a_token_refreshed_into_a_bad_value_is_refused_and_a_fixed_one_works_again(store, backend):
    source = store.token_source(NAME)
    stored(backend, TOKEN)
    assert source.current() == TOKEN
    stored(backend, TOKEN + "\n")
    assert source.refresh() is True
    with pytest.raises(SecretMalformed):
        source.current()
    stored(backend, TOKEN)
    assert source.refresh() is True
    assert source.current() == TOKEN
