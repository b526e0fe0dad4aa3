"""What IntakeFunction hands the service: a form submission as the route received it.

Its own module, so the handler module can name it without loading the service (the
kintone client, the guard's DynamoDB store, boto3): those load with the first request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IntakeRequest:
    form: str
    body: Mapping[str, Any]
    client_ip: str
    idempotency_key: str | None = None
    captcha_token: str | None = None
    # Chooses the language of the form's confirmation mail (reply:), if it has one.
    accept_language: str | None = None
    # The invocation's clock (the Lambda context's get_remaining_time_in_millis).
    remaining_ms: Callable[[], int] | None = None
    # The partner whose signed call this is (PartnerFunction): its signature, networks and
    # quota stand in for the per-IP guard and the CAPTCHA, which are a browser's checks.
    partner: str | None = None
