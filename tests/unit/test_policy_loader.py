"""Loading policy.yaml: strict YAML, a clear error naming the file, one read per container."""

from pathlib import Path

import pytest

import sekisho
from sekisho.errors import ConfigurationError
from sekisho.policy import PolicyError
from sekisho.policy.source import BUNDLED_YAML
from sekisho.policy.validation import clear_policy_cache, load_policy, parse_policy, read_policy
from sekisho.policy.validation import loader as policy_loader

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.yaml"

MINIMAL = """\
kintone:
  base_url: https://example.cybozu.com
apps:
  1:
    name: deals
    fields: {担当ID: SINGLE_LINE_TEXT, 取引ID: SINGLE_LINE_TEXT, 取引名: SINGLE_LINE_TEXT}
views:
  deal-status:
    app: 1
    token_secret: sekisho/kintone/deals-view
    match:
      owner_id: {code: 担当ID, pattern: '^[A-Z0-9]{1,12}$'}
      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}
    fields: [取引名]
"""


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_policy_cache()
    yield
    clear_policy_cache()


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_policy_loads():
    policy = read_policy(REPO_POLICY)
    view = policy.view("deal-status")
    assert view.app == 1
    assert view.token_secret == "sekisho/kintone/deals-view"
    assert view.predicate_codes == ("担当ID", "取引ID")
    assert view.where == 'ステータス not in ("取消")'
    assert view.fields == ("取引名", "金額", "ステータス")
    assert view.limit == 20
    assert (str(view.guard.per_ip), str(view.guard.failures_per_key)) == ("30/hour", "5/hour")
    assert policy.secret_names("views") == {"sekisho/kintone/deals-view"}
    assert set(policy.forms) == {"seminar-apply"}
    assert set(policy.webhooks) == {
        f"demo-{s}" for s in ("standard", "stripe", "github", "box", "slack", "kintone")
    }
    assert {hook.scheme for hook in policy.webhooks.values()} == {
        "standard",
        "stripe",
        "github",
        "box",
        "slack",
        "kintone",
    }
    refetch = policy.webhook("demo-kintone").refetch
    assert refetch is not None
    assert (refetch.app, refetch.token_secret) == (1, "sekisho/kintone/deals-refetch")
    # The lookup's token is not the refetch token: one secret, one purpose.
    assert "sekisho/kintone/deals-view" not in policy.secret_names("webhooks")


def test_the_shipped_seminar_form_is_the_demo_form():
    form = read_policy(REPO_POLICY).form("seminar-apply")
    assert (form.app, form.token_secret) == (2, "sekisho/kintone/seminar-add")
    assert (form.receipt_field, form.honeypot, form.captcha) == ("受付ID", "website", None)
    assert str(form.guard.per_ip) == "20/hour"
    assert {name: (f.code, f.type, f.required) for name, f in form.fields.items()} == {
        "name": ("氏名", "text", True),
        "email": ("メール", "email", True),
        "seats": ("人数", "number", False),
        "cv": ("履歴書", "file", False),
        "session": ("回", "choice", False),
        "materials": ("資料", "file", False),
    }
    capacity = form.capacity
    assert capacity is not None
    assert (capacity.by, capacity.count) == ("session", "seats")
    assert capacity.choices == {"A": 30, "B": 3}
    cv = form.fields["cv"]
    assert (cv.max_bytes, cv.content_types, cv.file_limit) == (2097152, ("application/pdf",), 1)
    assert cv.upload == "inline"
    materials = form.fields["materials"]
    assert (materials.upload, materials.max_bytes) == ("direct", 26_214_400)
    assert form.presets == {"受付経路": "web", "支払状況": "未払い", "申込状況": "申込"}
    assert read_policy(REPO_POLICY).secret_names("forms") == {"sekisho/kintone/seminar-add"}


@pytest.mark.parametrize(
    ("owner_id", "accepted"),
    [
        ("A1", True),
        ("A10", True),
        ("a1", True),
        ("A1 ", True),
        ('Q"1', True),
        ("B\\", True),
        ("田中", True),
        ("", False),
        ("A" * 13, False),
        ("A\n1", False),
        ("A\x7f", False),
        ("A\x85", False),
    ],
)
def test_the_shipped_owner_pattern_admits_the_demo_neighbours_but_no_control_characters(
    owner_id, accepted
):
    rule = read_policy(REPO_POLICY).view("deal-status").match["owner_id"]
    assert rule.accepts(owner_id) is accepted


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (MINIMAL + "views:\n  other: {}\n", 15),
        (MINIMAL + "  deal-status:\n    app: 1\n", 15),
        (MINIMAL.replace("    fields: [取引名]\n", "    fields: [取引名]\n    app: 1\n"), 15),
        (
            MINIMAL.replace(
                "      deal_id: {code: 取引ID, pattern: '^D[0-9]{6}$'}\n",
                "      owner_id: {code: 取引ID}\n",
            ),
            13,
        ),
        (MINIMAL.replace("{担当ID: SINGLE_LINE_TEXT,", "{担当ID: NUMBER, 担当ID: NUMBER,"), 6),
        (MINIMAL + "apps:\n  1: {name: x, fields: {a: NUMBER}}\n", 15),
        (MINIMAL.replace("apps:\n  1:\n", "apps:\n  1:\n    name: other\n"), 6),
    ],
    ids=["section", "view", "view-key", "match-key", "field", "apps", "app-key"],
)
def test_duplicate_keys_are_refused_at_every_level(tmp_path, text, line):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    (issue,) = caught.value.issues
    assert "duplicate key" in issue.message
    file, line_number, _column = issue.location.rsplit(":", 2)
    assert (file, int(line_number)) == (str(path), line)


def test_merge_keys_may_still_be_overridden(tmp_path):
    text = MINIMAL.replace(
        "    fields: [取引名]\n",
        "    fields: [取引名]\n    guard:\n      <<: {per_ip: 10/hour, failures_per_key: 3/hour}\n"
        "      per_ip: 5/minute\n",
    )
    guard = read_policy(write(tmp_path, text)).view("deal-status").guard
    assert (str(guard.per_ip), str(guard.failures_per_key)) == ("5/minute", "3/hour")


@pytest.mark.parametrize(
    "text",
    ["", "# nothing\n", "- views\n", "just text\n", "42\n", "null\n"],
    ids=["empty", "comment-only", "list", "scalar", "number", "null"],
)
def test_yaml_that_is_not_a_mapping_is_refused(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError, match="must be a YAML mapping") as caught:
        read_policy(path)
    assert caught.value.issues[0].location == str(path)


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, MINIMAL + "views: [unclosed\n")
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    assert caught.value.issues[0].location.startswith(f"{path}:")


def test_yaml_tags_that_build_python_objects_are_refused(tmp_path):
    path = write(tmp_path, "kintone: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(PolicyError):
        read_policy(path)


def test_a_missing_file_is_a_configuration_error_naming_the_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigurationError, match=r"nope\.yaml") as caught:
        read_policy(path)
    assert "does not exist" in str(caught.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_bytes(MINIMAL.encode("shift_jis"))
    with pytest.raises(PolicyError, match="cannot be read"):
        read_policy(path)


def test_the_error_names_the_file_and_the_locations(tmp_path):
    path = write(tmp_path, MINIMAL.replace("fields: [取引名]", "fields: [取引名, 社外秘]"))
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    message = str(caught.value)
    assert str(path) in message
    assert "views.deal-status.fields.1" in message


def test_parse_policy_reads_text_directly():
    assert parse_policy(MINIMAL).view("deal-status").fields == ("取引名",)


def test_load_policy_reads_the_path_it_is_given(tmp_path):
    assert load_policy(write(tmp_path, MINIMAL)).view("deal-status").app == 1


def test_load_policy_falls_back_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEKISHO_POLICY", str(write(tmp_path, MINIMAL)))
    assert load_policy().view("deal-status").fields == ("取引名",)


def test_load_policy_falls_back_to_the_bundled_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("SEKISHO_POLICY", raising=False)
    monkeypatch.setattr(policy_loader, "BUNDLED_YAML", write(tmp_path, MINIMAL))
    assert load_policy().view("deal-status").app == 1


def test_the_bundled_copy_lives_next_to_the_package():
    assert Path(sekisho.__file__).parent / "policy.yaml" == BUNDLED_YAML


def test_load_policy_reads_a_file_once_per_container(tmp_path):
    path = write(tmp_path, MINIMAL)
    first = load_policy(path)
    path.write_text("not: [valid", encoding="utf-8")
    assert load_policy(str(path)) is first
    clear_policy_cache()
    with pytest.raises(PolicyError):
        load_policy(path)


def test_a_failed_load_is_not_cached(tmp_path):
    path = write(tmp_path, "views: {}\n")
    with pytest.raises(PolicyError):
        load_policy(path)
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_policy(path).view("deal-status").app == 1
