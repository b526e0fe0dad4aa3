"""CAPTCHA siteverify (Turnstile, reCAPTCHA) with a fake provider session."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from sekisho.intake.captcha import SITEVERIFY_URLS, SiteverifyCaptcha, StaticCaptcha
from sekisho.intake.errors import CaptchaFailed, CaptchaUnavailable
from sekisho.secrets.errors import SecretMalformed, SecretNotAllowed
from sekisho.secrets.memory import InMemorySecretBackend
from sekisho.secrets.store import SecretStore

SECRET_NAME = "sekisho/captcha/seminar-apply"
SITE_SECRET = "0x4AAAAAAAsite-secret"
IP = "203.0.113.20"


@dataclass(frozen=True)
class Captcha:
    provider: str
    secret: str = SECRET_NAME


class FakeResponse:
    def __init__(self, payload, status: int = 200) -> None:
        self._payload = payload
        self.status_code = status

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code}")

    def json(self):
        if isinstance(self._payload, Exception):
            raise self._payload
        return self._payload


class FakeSession:
    def __init__(self, answer) -> None:
        self.answer = answer
        self.posts: list[tuple[str, dict]] = []

    def post(self, url: str, data: dict, timeout):
        self.posts.append((url, data))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def verifier(answer, secret_value=None):
    backend = InMemorySecretBackend()
    backend.put(SECRET_NAME, secret_value or f'{{"kind": "captcha", "secret": "{SITE_SECRET}"}}')
    store = SecretStore(backend, allowed={SECRET_NAME})
    session = FakeSession(answer)
    return SiteverifyCaptcha(store.get, session=session), session


@pytest.mark.parametrize("provider", ["turnstile", "recaptcha"])
def test_a_solved_captcha_passes_and_the_provider_gets_secret_token_and_ip(provider):
    captcha, session = verifier(FakeResponse({"success": True}))
    captcha.verify(Captcha(provider), "token-1", IP)
    assert session.posts == [
        (SITEVERIFY_URLS[provider], {"secret": SITE_SECRET, "response": "token-1", "remoteip": IP})
    ]


REFUSED = {
    "not-solved": FakeResponse({"success": False, "error-codes": ["invalid-input-response"]}),
    "already-used": FakeResponse({"success": False, "error-codes": ["timeout-or-duplicate"]}),
    "truthy-not-true": FakeResponse({"success": "true"}),
    "not-an-object": FakeResponse(["success"]),
}


@pytest.mark.parametrize("answer", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_captcha_is_403(answer):
    captcha, _ = verifier(answer)
    with pytest.raises(CaptchaFailed) as caught:
        captcha.verify(Captcha("turnstile"), "token-1", IP)
    assert (caught.value.status, caught.value.code) == (403, "captcha_failed")


def test_a_low_recaptcha_score_is_refused():
    captcha, _ = verifier(FakeResponse({"success": True, "score": 0.1}))
    with pytest.raises(CaptchaFailed):
        captcha.verify(Captcha("recaptcha"), "token-1", IP)


def test_a_good_recaptcha_score_passes():
    captcha, _ = verifier(FakeResponse({"success": True, "score": 0.9}))
    captcha.verify(Captcha("recaptcha"), "token-1", IP)


@pytest.mark.parametrize(
    "token",
    [None, "", "x" * 2049, "トークン", "tab\there"],
    ids=["missing", "empty", "too-long", "non-ascii", "control"],
)
def test_an_unusable_token_is_refused_without_asking_the_provider(token):
    captcha, session = verifier(FakeResponse({"success": True}))
    with pytest.raises(CaptchaFailed):
        captcha.verify(Captcha("turnstile"), token, IP)
    assert session.posts == []


UNREACHABLE = {
    "timeout": requests.Timeout("slow"),
    "connection": requests.ConnectionError("down"),
    "http-500": FakeResponse({}, status=500),
    "not-json": FakeResponse(ValueError("not json")),
}


@pytest.mark.parametrize("answer", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_an_unreachable_provider_is_503_and_fails_closed(answer):
    captcha, _ = verifier(answer)
    with pytest.raises(CaptchaUnavailable) as caught:
        captcha.verify(Captcha("turnstile"), "token-1", IP)
    assert caught.value.status == 503


def test_a_secret_without_a_site_secret_is_a_configuration_error():
    captcha, session = verifier(FakeResponse({"success": True}), secret_value='{"kind": "captcha"}')
    with pytest.raises(SecretMalformed):
        captcha.verify(Captcha("turnstile"), "token-1", IP)
    assert session.posts == []


def test_only_the_forms_own_captcha_secret_can_be_read():
    captcha, _ = verifier(FakeResponse({"success": True}))
    with pytest.raises(SecretNotAllowed):
        captcha.verify(Captcha("turnstile", secret="sekisho/kintone/deals-view"), "token-1", IP)


def test_the_site_secret_never_appears_in_an_error():
    captcha, _ = verifier(requests.ConnectionError("down"))
    with pytest.raises(CaptchaUnavailable) as caught:
        captcha.verify(Captcha("turnstile"), "token-1", IP)
    assert SITE_SECRET not in str(caught.value)


def test_the_static_twin_accepts_each_good_token_once():
    twin = StaticCaptcha({"good"})
    twin.verify(Captcha("turnstile"), "good", IP)
    with pytest.raises(CaptchaFailed):
        twin.verify(Captcha("turnstile"), "good", IP)
