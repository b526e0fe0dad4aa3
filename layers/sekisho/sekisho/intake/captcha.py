"""CAPTCHA checks for forms that declare one: Cloudflare Turnstile or Google reCAPTCHA.

Both providers answer the same siteverify call (form-encoded ``secret``, ``response``,
``remoteip``; JSON with ``success``). The site secret lives in Secrets Manager as
``{"kind": "captcha", "secret": "..."}`` under the name the form's policy gives. A
token is good once: the intake checks it only when it runs a submission, never when it
replays a stored answer to a retry with the same Idempotency-Key.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import requests

from sekisho import __version__
from sekisho.secrets.errors import SecretMalformed

from .errors import CaptchaFailed, CaptchaUnavailable

logger = logging.getLogger(__name__)

SITEVERIFY_URLS: Mapping[str, str] = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
}
# Turnstile documents tokens of at most 2048 characters; reCAPTCHA's are shorter.
MAX_TOKEN_LENGTH = 2048
# reCAPTCHA v3 answers a score instead of a challenge; below this it is treated as a bot.
MIN_RECAPTCHA_SCORE = 0.5


class CaptchaSettings(Protocol):
    """A form's ``captcha`` entry (``sekisho.policy`` ``CaptchaPolicy`` fits)."""

    @property
    def provider(self) -> str: ...

    @property
    def secret(self) -> str: ...


class CaptchaVerifier(Protocol):
    def verify(self, captcha: CaptchaSettings, token: str | None, client_ip: str) -> None:
        """Return if the token is good; raise :class:`CaptchaFailed` (403) if not, or
        :class:`CaptchaUnavailable` (503) if the provider cannot be asked."""
        ...


@functools.cache
def siteverify_session() -> requests.Session:
    """One session per container for the providers (kintone's has its own)."""
    session = requests.Session()
    session.headers["User-Agent"] = f"sekisho/{__version__}"
    # Never pick up proxies or .netrc credentials from the environment.
    session.trust_env = False
    return session


def _usable(token: str | None) -> str:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise CaptchaFailed("send the CAPTCHA token in the X-Captcha-Token header")
    if not token.isascii() or not token.isprintable():
        raise CaptchaFailed("the CAPTCHA token is not valid")
    return token


class SiteverifyCaptcha:
    def __init__(
        self,
        secret: Callable[[str], Mapping[str, Any]],
        *,
        session: requests.Session | None = None,
        urls: Mapping[str, str] = SITEVERIFY_URLS,
        timeout: tuple[float, float] = (2.0, 4.0),
    ) -> None:
        self._secret = secret  # a SecretStore's ``get``
        self._session = session
        self._urls = urls
        self._timeout = timeout

    def verify(self, captcha: CaptchaSettings, token: str | None, client_ip: str) -> None:
        token = _usable(token)
        site_secret = self._secret(captcha.secret).get("secret")
        if not isinstance(site_secret, str) or not site_secret:
            raise SecretMalformed(f"secret {captcha.secret!r} has no non-empty string 'secret'")
        form = {"secret": site_secret, "response": token}
        if client_ip:
            form["remoteip"] = client_ip
        try:
            response = (self._session or siteverify_session()).post(
                self._urls[captcha.provider], data=form, timeout=self._timeout
            )
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning(
                "captcha siteverify failed",
                extra={"provider": captcha.provider, "error": type(exc).__name__},
            )
            raise CaptchaUnavailable("the CAPTCHA could not be checked now") from exc
        if not isinstance(answer, dict) or answer.get("success") is not True:
            codes = answer.get("error-codes") if isinstance(answer, dict) else None
            logger.info(
                "captcha refused",
                extra={"provider": captcha.provider, "error_codes": _codes(codes)},
            )
            raise CaptchaFailed("the CAPTCHA was not solved")
        score = answer.get("score")
        low = isinstance(score, int | float) and score < MIN_RECAPTCHA_SCORE
        if captcha.provider == "recaptcha" and low:
            logger.info("captcha score too low", extra={"provider": captcha.provider})
            raise CaptchaFailed("the CAPTCHA was not solved")


def _codes(codes: Any) -> list[str]:
    return [str(c)[:64] for c in codes][:8] if isinstance(codes, list) else []


class StaticCaptcha:
    """The twin for tests and the local stack: only the given tokens pass, each once."""

    def __init__(self, good_tokens: Iterable[str] = ()) -> None:
        self._good = set(good_tokens)
        self.calls: list[tuple[str, str | None]] = []
        self.unavailable = False

    def verify(self, captcha: CaptchaSettings, token: str | None, client_ip: str) -> None:
        self.calls.append((captcha.provider, token))
        if self.unavailable:
            raise CaptchaUnavailable("the CAPTCHA could not be checked now")
        token = _usable(token)
        if token not in self._good:
            raise CaptchaFailed("the CAPTCHA was not solved")
        self._good.discard(token)
