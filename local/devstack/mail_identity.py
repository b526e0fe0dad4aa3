"""The local stack's sender of mail: the template's SES identity, made in moto's SES v2.

In AWS the operator verifies `MailIdentity` (a domain, or one address) in SES before the
stack sends anything; the functions then send from `MailFromAddress`. moto (5.2) refuses
SendEmail from an address unless an identity covers it, as SES does: an identity that is
the address itself, or the domain after its `@` (that exact domain: not a subdomain, and
compared as written). CreateEmailIdentity in moto is verified at once, so the stack makes
the identity before the first function starts, and the sign-in mail is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

IDENTITY_PARAMETER = "MailIdentity"
FROM_PARAMETER = "MailFromAddress"
# The template's defaults; also what a template without the parameters gets locally.
DEFAULT_IDENTITY = "sekisho.example"
DEFAULT_FROM_ADDRESS = "no-reply@sekisho.example"


@dataclass(frozen=True)
class MailSender:
    identity: str
    from_address: str

    def covers_from_address(self) -> bool:
        """Whether SES (and moto) would send from the address with this identity."""
        identity = self.identity.lower()
        address = self.from_address.lower()
        return identity == address or ("@" not in identity and address.endswith("@" + identity))


def mail_sender(parameters: Mapping[str, Any]) -> MailSender:
    """The identity and the from-address of the stack's resolved template parameters."""
    return MailSender(
        identity=str(parameters.get(IDENTITY_PARAMETER) or DEFAULT_IDENTITY),
        from_address=str(parameters.get(FROM_PARAMETER) or DEFAULT_FROM_ADDRESS),
    )


def create_mail_identity(sesv2: Any, sender: MailSender) -> None:
    """Make the identity in moto's SES v2, verified, as the operator does in AWS."""
    if not sender.covers_from_address():
        # Made anyway: the functions' SendEmail then fails as it would in AWS.
        log.warning(
            "%s %s does not cover %s %s: SES refuses mail sent from it",
            IDENTITY_PARAMETER,
            sender.identity,
            FROM_PARAMETER,
            sender.from_address,
        )
    sesv2.create_email_identity(EmailIdentity=sender.identity)
