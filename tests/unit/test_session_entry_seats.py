"""A signed-in applicant's correction of 人数 takes or gives back the difference in seats,
and a cancel gives them all back, exactly once (the demo's session B has 3 seats)."""

from __future__ import annotations

import pytest

from sekisho.entries.errors import CapacityFull
from sekisho.entries.seats import limits
from tests.unit.test_session_support import APP, HANAKO, REALM, World

FORM = "seminar-apply"


class Applicant:
    """Hanako, signed in, with an application for session B holding its seats."""

    def __init__(self, people: int = 2) -> None:
        self.world = World()
        self.form = self.world.policy.form(FORM)
        self.record = self.world.apply(HANAKO, 人数=str(people), 回="B")
        receipt = self.world.kintone.records[self.record]["受付ID"]
        self.world.ledger.open(FORM, receipt, claim={"choice:B": people}, limits=limits(self.form))
        self.token = self.world.sign_in(HANAKO)
        self.ref = self.world.tools.refs(REALM).make(APP, str(self.record))

    def correct(self, people: int):
        request = self.world.request(self.token, self.ref, self._revision(), None)
        return self.world.entries.correct(request, {"fields": {"seats": people}})

    def cancel(self):
        request = self.world.request(self.token, self.ref, None, None)
        return self.world.entries.cancel(request)

    def taken(self) -> int:
        return self.world.ledger.taken(FORM, ["choice:B"])["choice:B"]

    def _revision(self) -> str:
        return str(self.world.kintone.revisions[self.record])


@pytest.fixture
def applicant() -> Applicant:
    return Applicant()


def test_a_correction_to_more_people_takes_the_difference(applicant):
    applicant.correct(3)
    assert applicant.taken() == 3


def test_a_correction_to_fewer_people_gives_the_difference_back(applicant):
    applicant.correct(1)
    assert applicant.taken() == 1


def test_a_correction_past_the_seats_is_refused_and_kintone_keeps_the_record(applicant):
    applicant.world.ledger.open(FORM, "other", claim={"choice:B": 1}, limits=limits(applicant.form))
    with pytest.raises(CapacityFull):
        applicant.correct(3)
    assert applicant.world.kintone.records[applicant.record]["人数"] == "2"
    assert applicant.taken() == 3


def test_a_failed_kintone_write_gives_back_what_was_taken_for_it(applicant):
    applicant.world.kintone.touch(applicant.record, 受付経路="phone")  # the revision moves on
    request = applicant.world.request(applicant.token, applicant.ref, "1", None)
    with pytest.raises(Exception, match="revision"):
        applicant.world.entries.correct(request, {"fields": {"seats": 3}})
    assert applicant.taken() == 2


def test_a_cancel_gives_every_seat_back_once(applicant):
    applicant.cancel()
    applicant.cancel()
    assert applicant.taken() == 0
