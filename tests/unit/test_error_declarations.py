"""A kind of error declares its problem in its class line (``SekishoError.__init_subclass__``)."""

from __future__ import annotations

from sekisho.errors import NotFound, SekishoError, UpstreamUnavailable
from sekisho.rotation.errors import RotationError, RotationNotEnabled
from sekisho.webhooks.errors import DeliveryInProgress


def test_a_class_line_sets_the_code_status_and_title_of_its_problem():
    class Gone(SekishoError, code="gone", status=410, title="It is gone"):
        """A test kind."""

    assert (Gone.code, Gone.status, Gone.title) == ("gone", 410, "It is gone")
    assert Gone("no more").problem() == {
        "type": "urn:sekisho:problem:gone",
        "title": "It is gone",
        "status": 410,
        "code": "gone",
        "detail": "no more",
    }


def test_what_a_class_line_leaves_out_is_inherited_from_its_base():
    assert (RotationNotEnabled.code, RotationNotEnabled.status) == ("rotation_not_enabled", 500)
    assert RotationNotEnabled.status == RotationError.status
    assert DeliveryInProgress.code == "delivery_in_progress"
    assert (DeliveryInProgress.status, DeliveryInProgress.title) == (
        UpstreamUnavailable.status,
        UpstreamUnavailable.title,
    )


def test_declaring_a_subclass_leaves_its_base_as_it_was():
    class Missing(NotFound, code="missing", title="Missing"):
        """A test kind."""

    assert (NotFound.code, NotFound.title, NotFound.status) == ("not_found", "Not found", 404)
    assert Missing.status == 404
