"""The audit line of a write names the kintone record it made, from kintone's answer, so
"who changed record N" finds form submissions too; a submission not yet written names none."""

from __future__ import annotations

import logging

from sekisho.kintone.client import AddedRecord
from sekisho.kintone.errors import KintoneMaintenance
from tests.unit.test_intake_delivery import Harness as DeliverHarness
from tests.unit.test_intake_delivery import submission
from tests.unit.test_intake_service import Harness as IntakeHarness


def _lines(caplog, action: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "audit", False) and r.action == action]


def _answering(kintone, record_id: str) -> None:
    add = kintone.add_record

    def add_and_answer(app: int, record: dict) -> AddedRecord:
        add(app, record)
        return AddedRecord(id=record_id, revision="1")

    kintone.add_record = add_and_answer


def test_a_recorded_submission_audits_the_id_kintone_gave_its_record(caplog):
    caplog.set_level(logging.INFO)
    intake = IntakeHarness()
    _answering(intake.kintone, "41")

    assert intake.submit().status == "recorded"

    (line,) = _lines(caplog, "intake")
    assert line.record_ids == ["41"]


def test_a_queued_submission_audits_no_record_until_the_deliverer_writes_it(caplog):
    caplog.set_level(logging.INFO)
    intake = IntakeHarness()
    intake.kintone.failures.append(KintoneMaintenance("maintenance", http_status=503))

    assert intake.submit().status == "queued"

    (line,) = _lines(caplog, "intake")
    assert line.record_ids == []


def test_a_delivered_submission_audits_the_id_of_the_record_written(caplog):
    caplog.set_level(logging.INFO)
    deliver = DeliverHarness()
    _answering(deliver.kintone, "77")
    deliver.enqueue(submission())

    assert deliver.run_batch() == {"batchItemFailures": []}

    (line,) = _lines(caplog, "deliver")
    assert line.record_ids == ["77"]
