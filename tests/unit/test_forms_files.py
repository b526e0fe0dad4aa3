"""Attachments: a file is what its bytes are, not what the browser says; names are bare."""

import base64
import io
import zipfile

import pytest

from sekisho.forms import FieldProblem, bytes_match, clean_filename
from sekisho.forms.files import MAGIC, MAX_FILENAME_LENGTH, parse_files
from sekisho.policy import CONTENT_TYPE_EXTENSIONS
from sekisho.policy.validation import schema, validate

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00"
TEXT = "山田 花子\n参加します\n".encode()
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


ZIP = zipped("readme.txt")
DOCX = zipped("[Content_Types].xml", "word/document.xml")
XLSX = zipped("[Content_Types].xml", "xl/workbook.xml")
PPTX = zipped("[Content_Types].xml", "ppt/presentation.xml")

MAGIC_CASES = [
    # (declared type, bytes, accepted)
    ("application/pdf", PDF, True),
    ("application/pdf", PNG, False),
    ("application/pdf", b"%PDF", False),
    ("application/pdf", b" %PDF-1.7", False),
    ("application/pdf", TEXT, False),
    ("image/png", PNG, True),
    ("image/png", JPEG, False),
    ("image/png", PNG[:7], False),
    ("image/jpeg", JPEG, True),
    ("image/jpeg", GIF, False),
    ("image/gif", GIF, True),
    ("image/gif", b"GIF90a" + GIF[6:], False),
    ("image/webp", WEBP, True),
    ("image/webp", b"RIFF\x1a\x00\x00\x00WAVEfmt ", False),
    ("application/zip", ZIP, True),
    ("application/zip", DOCX, True),
    ("application/zip", b"PK\x03\x04truncated", False),
    (DOCX_TYPE, DOCX, True),
    (DOCX_TYPE, XLSX, False),
    (DOCX_TYPE, ZIP, False),
    (DOCX_TYPE, PDF, False),
    (XLSX_TYPE, XLSX, True),
    (XLSX_TYPE, DOCX, False),
    (PPTX_TYPE, PPTX, True),
    (PPTX_TYPE, b"PK\x03\x04" + b"\x00" * 30, False),
    ("text/plain", TEXT, True),
    ("text/plain", b"plain ascii", True),
    ("text/plain", b"\xef\xbb\xbfwith a BOM", True),
    ("text/plain", "氏名".encode("shift_jis"), False),
    ("text/plain", b"nul\x00inside", False),
    ("text/plain", b"%PDF-1.4 only ascii", False),
    ("text/plain", PNG, False),
    ("text/csv", "氏名,人数\n山田,2\n".encode(), True),
    ("text/csv", DOCX, False),
    ("application/x-msdownload", b"MZ\x90\x00", False),
    ("text/html", b"<html></html>", False),
]


@pytest.mark.parametrize(("content_type", "data", "accepted"), MAGIC_CASES)
def test_a_file_is_typed_by_its_magic_bytes(content_type, data, accepted):
    assert bytes_match(content_type, data) is accepted


def test_every_content_type_a_policy_may_allow_has_a_byte_check():
    assert set(MAGIC) == set(CONTENT_TYPE_EXTENSIONS)


FILENAMES = [
    # (sent, stored; None: refused with file_name)
    ("cv.pdf", "cv.pdf"),
    ("履歴書 2025.pdf", "履歴書 2025.pdf"),
    ("re\u0301sume\u0301.pdf", "r\u00e9sum\u00e9.pdf"),
    ("  cv.pdf \u3000", "cv.pdf"),
    (".cv.pdf", "cv.pdf"),
    ("...cv.pdf", "cv.pdf"),
    ("a..b.pdf", "a..b.pdf"),
    ("a" * 200 + ".pdf", "a" * (MAX_FILENAME_LENGTH - 4) + ".pdf"),
    ("a." + "b" * 200, "a." + "b" * (MAX_FILENAME_LENGTH - 2)),
    ("../../etc/passwd", None),
    ("..\\..\\boot.ini", None),
    ("C:\\x\\cv.pdf", None),
    ("/etc/passwd", None),
    ("dir/cv.pdf", None),
    ("cv.pdf:payload", None),
    ("..", None),
    (".", None),
    ("", None),
    ("   ", None),
    ("cv\x00.pdf", None),
    ("cv\n.pdf", None),
    ("cv\x7f.pdf", None),
    ("cv\u0085.pdf", None),
    ("cv\u202efdp.exe", None),
    ("cv\u200b.pdf", None),
    ("cv\u2028.pdf", None),
    ("\ud800.pdf", None),
]


@pytest.mark.parametrize(("sent", "stored"), FILENAMES)
def test_file_names_are_bare_names_and_never_paths(sent, stored):
    if stored is None:
        with pytest.raises(FieldProblem) as caught:
            clean_filename(sent)
        assert caught.value.code == "file_name"
    else:
        assert clean_filename(sent) == stored
        assert len(stored) <= MAX_FILENAME_LENGTH


CV = validate(
    schema.FormField,
    {
        "code": "履歴書",
        "type": "file",
        "max_bytes": 64,
        "content_types": ["application/pdf", "image/png"],
        "max_files": 2,
    },
)


def upload(data: bytes = PDF[:60], filename="cv.pdf", content_type="application/pdf", **extra):
    return {
        "filename": filename,
        "content_type": content_type,
        "data": base64.b64encode(data).decode(),
        **extra,
    }


def test_a_valid_file_is_decoded_and_tagged_with_its_kintone_field():
    (attachment,) = parse_files(CV, [upload()])
    assert (attachment.field, attachment.filename) == ("履歴書", "cv.pdf")
    assert (attachment.content_type, attachment.data) == ("application/pdf", PDF[:60])


def test_content_type_parameters_and_case_do_not_matter():
    (attachment,) = parse_files(CV, [upload(content_type="Application/PDF; charset=binary")])
    assert attachment.content_type == "application/pdf"


def test_an_attachment_never_shows_its_bytes_in_a_repr():
    (attachment,) = parse_files(CV, [upload(data=b"%PDF-secret-applicant-data")])
    assert "secret-applicant-data" not in repr(attachment)
    assert "size=26" in repr(attachment)


B64 = base64.b64encode(PDF[:60]).decode()

BAD_FILES = [
    # (files, code)
    pytest.param("cv.pdf", "type", id="not-a-list"),
    pytest.param({"filename": "cv.pdf"}, "type", id="an-object-not-a-list"),
    pytest.param([upload(), upload(), upload()], "file_count", id="more-than-max-files"),
    pytest.param(["cv.pdf"], "type", id="a-string-not-a-file-object"),
    pytest.param([upload(size=10)], "type", id="an-unknown-member"),
    pytest.param([{"filename": "cv.pdf", "data": B64}], "type", id="no-content-type"),
    pytest.param([upload(filename=None)], "type", id="filename-not-a-string"),
    pytest.param([upload(content_type=["application/pdf"])], "type", id="type-not-a-string"),
    pytest.param([{**upload(), "data": 123}], "type", id="data-not-a-string"),
    pytest.param([upload(data=PNG)], "file_type", id="a-pdf-claim-with-png-bytes"),
    pytest.param([upload(data=PDF[:60], content_type="text/plain")], "file_type", id="not-allowed"),
    pytest.param([upload(data=PNG, content_type="image/png")], "file_name", id="png-named-pdf"),
    pytest.param([upload(filename="cv.html")], "file_name", id="pdf-named-html"),
    pytest.param([upload(filename="cv")], "file_name", id="no-extension"),
    pytest.param([upload(filename="../cv.pdf")], "file_name", id="path-like-name"),
    pytest.param([upload(data=b"")], "file_size", id="empty"),
    pytest.param([upload(data=PDF[:40] + b"x" * 25)], "file_size", id="one-byte-over"),
    pytest.param([upload(data=PDF + PDF)], "file_size", id="far-over"),
    pytest.param([{**upload(), "data": "!!!!"}], "encoding", id="not-base64"),
    pytest.param([{**upload(), "data": B64[:-2]}], "encoding", id="missing-padding"),
    pytest.param([{**upload(), "data": B64[:20] + "\n" + B64[20:]}], "encoding", id="newline"),
    pytest.param([{**upload(), "data": "JVBERi0_"}], "encoding", id="url-safe-alphabet"),
    pytest.param(
        [{**upload(), "data": "data:application/pdf;base64," + B64[:12]}], "encoding", id="data-url"
    ),
    pytest.param([{**upload(), "data": "ＪＶＢＥ"}], "encoding", id="non-ascii"),
]


@pytest.mark.parametrize(("files", "code"), BAD_FILES)
def test_a_bad_file_is_refused_with_its_code(files, code):
    with pytest.raises(FieldProblem) as caught:
        parse_files(CV, files)
    assert caught.value.code == code


def test_a_bad_second_file_is_named_in_the_detail():
    with pytest.raises(FieldProblem) as caught:
        parse_files(CV, [upload(), upload(data=PNG)])
    assert caught.value.detail.startswith("file 2 ")


def test_an_oversized_file_is_refused_before_it_is_decoded(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(base64, "b64decode", never)
    with pytest.raises(FieldProblem) as caught:
        parse_files(CV, [{**upload(), "data": "A" * 1_000_000}])
    assert caught.value.code == "file_size"


def test_two_files_up_to_max_files_are_accepted_in_order():
    png = upload(data=PNG, filename="photo.PNG", content_type="image/png")
    first, second = parse_files(CV, [upload(), png])
    assert (first.filename, second.filename) == ("cv.pdf", "photo.PNG")
    assert second.content_type == "image/png"
