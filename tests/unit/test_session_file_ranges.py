"""The Range header of a file download, and the name a file is saved under."""

from __future__ import annotations

import pytest

from sekisho.sessions.files import RangeNotSatisfiable, byte_range, disposition

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-0", (0, 0)),
        ("bytes=0-499", (0, 499)),
        ("bytes=500-", (500, 999)),
        ("bytes=-1", (999, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        # Not one range RFC 9110 says must be honoured: the whole file is sent.
        ("bytes=0-1,5-9", None),
        ("bytes=9-0", None),
        ("bytes=-", None),
        ("items=0-9", None),
        ("bytes=a-b", None),
        ("bytes = 0-9", None),
    ],
)
def test_a_range_header_names_one_inclusive_range_or_the_whole_file(header, expected):
    assert byte_range(header, SIZE) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_wholly_past_the_end_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable) as refused:
        byte_range(header, SIZE)
    assert refused.value.headers == {"Content-Range": f"bytes */{SIZE}"}
    assert (refused.value.status, refused.value.code) == (416, "range_not_satisfiable")


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("cv.pdf", "cv.pdf"),
        ("履歴書.pdf", "___.pdf"),
        ('a"b;c\\d.pdf', "a_b_c_d.pdf"),
        ("line\r\nbreak.pdf", "line__break.pdf"),
        ("", "file"),
    ],
)
def test_a_file_is_saved_as_an_attachment_under_a_safe_name(name, fallback):
    header = disposition(name)

    assert header.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
    assert "\r" not in header
    assert "\n" not in header
