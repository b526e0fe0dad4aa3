"""A partner's client certificate over mutual TLS, as API Gateway hands it on.

API Gateway verifies the chain against the domain's truststore and puts the facts of the
certificate into the event (``requestContext.identity.clientCert``: ``subjectDN``,
``serialNumber``, ...). Which partner a valid certificate belongs to is the policy's
``client_cert`` binding, checked here: a certificate of another partner is refused, and
so is any certificate bound to another partner, even on a call of a partner that
declares none.
"""

from __future__ import annotations

from collections.abc import Mapping

from sekisho.policy.partners import ClientCertificate, PartnerPolicy, normal_serial

from .errors import ClientCertificateRefused


def _normal_subject(subject: str) -> str:
    # RFC 4514 as API Gateway writes it; spaces after the commas are a writer's habit.
    return ",".join(part.strip() for part in subject.split(",")).casefold()


def _presents(binding: ClientCertificate, facts: Mapping[str, object]) -> bool:
    subject, serial = facts.get("subjectDN"), facts.get("serialNumber")
    if not isinstance(subject, str) or _normal_subject(subject) != _normal_subject(binding.subject):
        return False
    if binding.serial is None:
        return True
    return isinstance(serial, str) and normal_serial(serial) == normal_serial(binding.serial)


def check_certificate(
    partner_id: str,
    partner: PartnerPolicy,
    facts: Mapping[str, object] | None,
    partners: Mapping[str, PartnerPolicy],
) -> None:
    """401 client_certificate_refused unless the call's certificate is the partner's own
    (when it declares one) and bound to no other partner."""
    if partner.client_cert is not None and (
        facts is None or not _presents(partner.client_cert, facts)
    ):
        raise ClientCertificateRefused()
    if facts is None:
        return
    for other_id, other in partners.items():
        if (
            other_id != partner_id
            and other.client_cert is not None
            and _presents(other.client_cert, facts)
        ):
            raise ClientCertificateRefused()
