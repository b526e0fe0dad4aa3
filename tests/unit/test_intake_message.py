"""The queued message: what IntakeQueue carries, read back as untrusted input."""

from __future__ import annotations

import json

import pytest

from sekisho.intake.errors import MalformedMessage
from sekisho.intake.message import (
    QueuedAttachment,
    QueuedSubmission,
    attachment_key,
    delivered_marker_key,
)

RECEIPT = "S7K3-M9Q2-XRW"
# Queued before receipts were short: still delivered.
LEGACY_RECEIPT = "0d8e9c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
SHA = "a" * 64
ATTACHMENT = {
    "field": "履歴書",
    "filename": "cv.pdf",
    "content_type": "application/pdf",
    "size": 1234,
    "sha256": SHA,
    "s3_key": f"attachments/{RECEIPT}/0",
}
MESSAGE = {
    "v": 1,
    "receipt": RECEIPT,
    "form": "seminar-apply",
    "record": {"氏名": "山田 花子", "人数": "2", "チェック": ["a", "b"]},
    "attachments": [ATTACHMENT],
    "accepted_at": "2025-11-21T05:00:00Z",
}


def test_a_message_reads_back_what_was_queued():
    message = QueuedSubmission(
        RECEIPT,
        "seminar-apply",
        {"氏名": "山田 花子"},
        (
            QueuedAttachment(
                "履歴書", "cv.pdf", "application/pdf", 3, SHA, attachment_key(RECEIPT, 0)
            ),
        ),
        "2025-11-21T05:00:00Z",
    )
    assert QueuedSubmission.from_json(message.to_json()) == message


def test_the_wire_format_is_the_contracts():
    parsed = QueuedSubmission.from_json(json.dumps(MESSAGE, ensure_ascii=False))
    assert json.loads(parsed.to_json()) == MESSAGE


def test_a_message_queued_with_a_legacy_uuid_receipt_still_reads():
    legacy = json.loads(
        changed(
            receipt=LEGACY_RECEIPT,
            attachments=[ATTACHMENT | {"s3_key": f"attachments/{LEGACY_RECEIPT}/0"}],
        )
    )
    parsed = QueuedSubmission.from_json(json.dumps(legacy, ensure_ascii=False))
    assert parsed.receipt == LEGACY_RECEIPT
    assert parsed.attachments[0].s3_key == f"attachments/{LEGACY_RECEIPT}/0"


def test_keys_are_scoped_to_the_receipt():
    assert attachment_key(RECEIPT, 0) == f"attachments/{RECEIPT}/0"
    assert delivered_marker_key(RECEIPT) == f"attachments/{RECEIPT}/delivered"


def changed(**changes):
    return json.dumps(MESSAGE | changes, ensure_ascii=False)


def attachment(**changes):
    return changed(attachments=[ATTACHMENT | changes])


MALFORMED = {
    "not-json": "{",
    "not-an-object": "[]",
    "extra-key": changed(extra=1),
    "missing-key": json.dumps({k: v for k, v in MESSAGE.items() if k != "accepted_at"}),
    "version-2": changed(v=2),
    "version-true": changed(v=True),
    "receipt-not-a-receipt": changed(receipt="not-a-receipt"),
    "receipt-lowercase": changed(receipt=RECEIPT.lower()),
    "receipt-without-hyphens": changed(receipt=RECEIPT.replace("-", "")),
    "receipt-alias-spelling": changed(receipt="OD8E-9CLA-2BD"),
    "receipt-wrong-check": changed(receipt="S7K3-M9Q2-XR0"),
    "receipt-legacy-uppercase": changed(receipt=LEGACY_RECEIPT.upper()),
    "empty-form": changed(form=""),
    "record-not-object": changed(record=["x"]),
    "record-number": changed(record={"人数": 2}),
    "record-null": changed(record={"人数": None}),
    "record-nested": changed(record={"x": {"value": "y"}}),
    "attachments-not-list": changed(attachments={}),
    "attachment-extra-key": attachment(data="AAAA"),
    "attachment-negative-size": attachment(size=-1),
    "attachment-bool-size": attachment(size=True),
    "attachment-short-sha": attachment(sha256="abc"),
    "attachment-upper-sha": attachment(sha256="A" * 64),
    "attachment-other-receipt": attachment(s3_key="attachments/0D8E-9C1A-2BD/0"),
    "attachment-outside-prefix": attachment(s3_key="secrets/0"),
    "attachment-traversal": attachment(s3_key=f"attachments/{RECEIPT}/../x/0"),
    "attachment-wrong-index": attachment(s3_key=f"attachments/{RECEIPT}/1"),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_message_is_refused(body):
    with pytest.raises(MalformedMessage) as caught:
        QueuedSubmission.from_json(body)
    assert caught.value.status == 500


def test_the_refusal_never_repeats_a_value():
    with pytest.raises(MalformedMessage) as caught:
        QueuedSubmission.from_json(changed(record={"氏名": 42}) + "")
    assert "42" not in str(caught.value)
    with pytest.raises(MalformedMessage) as caught:
        QueuedSubmission.from_json('{"secret": "山田 花子"')
    assert "山田" not in str(caught.value)
    assert caught.value.__cause__ is None
