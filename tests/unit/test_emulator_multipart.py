"""File uploads are read back byte for byte, whatever the bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata

from kintone_emulator.multipart import form_part


@given(data=st.binary(max_size=2048), name=st.text(min_size=1, max_size=20))
def test_uploaded_bytes_and_name_survive_parsing(data: bytes, name: str) -> None:
    body, content_type = encode_multipart_formdata(
        {"other": "x", "file": (name, data, "application/octet-stream")}
    )

    part = form_part(content_type, body, "file")

    assert part is not None
    assert part.data == data
    assert part.content_type == "application/octet-stream"


def test_a_name_in_japanese_is_kept() -> None:
    body, content_type = encode_multipart_formdata(
        {"file": ("履歴書.pdf", b"%PDF", "application/pdf")}
    )

    part = form_part(content_type, body, "file")

    assert part is not None
    assert (part.filename, part.content_type) == ("履歴書.pdf", "application/pdf")


def test_a_body_that_is_not_multipart_has_no_file() -> None:
    assert form_part("application/json", b"{}", "file") is None
    assert form_part(None, b"", "file") is None
    assert form_part("multipart/form-data; boundary=x", b"garbage", "file") is None
