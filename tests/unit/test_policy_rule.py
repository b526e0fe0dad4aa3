"""The policy's runtime classes: frozen, slotted, built by keyword, equal by their fields."""

from __future__ import annotations

import pytest

from sekisho.policy import AppPolicy, FormGuardPolicy, GuardPolicy, MatchRule, Policy, Rate
from sekisho.policy.rule import field_values


def test_a_rule_takes_its_defaults_for_what_is_not_given():
    rule = MatchRule(code="担当ID")
    assert (rule.pattern, rule.max_length, rule.source) == (None, 64, "body")


def test_an_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no field 'lenght'"):
        MatchRule(code="担当ID", lenght=3)


def test_a_missing_field_is_refused():
    with pytest.raises(TypeError, match="needs 'code'"):
        MatchRule()


def test_a_fresh_default_is_made_for_each_object():
    first, second = Policy(kintone=None), Policy(kintone=None)
    assert first.views is not second.views
    assert GuardPolicy().per_ip == Rate(30, 3600)
    assert FormGuardPolicy().per_ip == Rate(20, 3600)


def test_a_rule_cannot_be_changed_or_given_new_attributes():
    rule = AppPolicy(name="deals", fields={"金額": "NUMBER"})
    with pytest.raises(AttributeError):
        rule.name = "other"
    with pytest.raises(AttributeError):
        rule.extra = 1
    with pytest.raises(AttributeError):
        del rule.name


def test_replace_makes_a_changed_copy_and_leaves_the_rule_alone():
    rule = MatchRule(code="担当ID", max_length=12)
    copy = rule.replace(max_length=8)
    assert (rule.max_length, copy.max_length, copy.code) == (12, 8, "担当ID")


def test_rules_are_equal_by_type_and_fields_and_never_hashed():
    assert MatchRule(code="a") == MatchRule(code="a")
    assert MatchRule(code="a") != MatchRule(code="b")
    assert Rate(1, 60) != (1, 60)
    with pytest.raises(TypeError):
        hash(MatchRule(code="a"))


def test_the_fields_come_in_declaration_order_without_derived_slots():
    assert list(field_values(AppPolicy(name="n", fields={}))) == ["name", "fields"]
    assert "_field_types" not in Policy.FIELDS
