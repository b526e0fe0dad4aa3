"""Short receipts: drawn at random, read back however people type them, slips caught."""

from __future__ import annotations

import random
import re

import pytest

from sekisho.intake.receipts import (
    ALPHABET,
    LEGACY_PATTERN,
    RECEIPT_PATTERN,
    SHORT_PATTERN,
    check_symbol,
    is_canonical,
    is_legacy,
    new_receipt,
    normalize_receipt,
)

RECEIPT = "S7K3-M9Q2-XRW"
# The seeded demo application's receipt, and one with letters in it.
LEGACY = "00000000-0000-4000-8000-000000000001"
LEGACY_HEX = "0d8e9c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"


def compact(receipt: str) -> str:
    return receipt.replace("-", "")


def sample(count: int = 300) -> list[str]:
    return [new_receipt() for _ in range(count)]


def test_a_new_receipt_is_ten_random_symbols_and_a_check_symbol_in_three_groups():
    for receipt in sample():
        assert re.fullmatch(SHORT_PATTERN, receipt)
        groups = receipt.split("-")
        assert [len(g) for g in groups] == [4, 4, 3]
        symbols = compact(receipt)
        assert set(symbols) <= set(ALPHABET)
        assert symbols[-1] == check_symbol(symbols[:-1])
        assert normalize_receipt(receipt) == receipt


def test_the_alphabet_is_crockfords_without_letters_that_read_as_others():
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_receipts_do_not_repeat_and_use_the_whole_alphabet():
    receipts = sample(2000)
    assert len(set(receipts)) == len(receipts)
    # Every symbol at every random position: nothing about the draw is fixed.
    for position in range(10):
        assert {compact(r)[position] for r in receipts} == set(ALPHABET)


def test_the_check_symbol_catches_every_single_substitution():
    for receipt in sample(200):
        symbols = compact(receipt)
        for position, original in enumerate(symbols):
            for other in ALPHABET.replace(original, ""):
                typo = symbols[:position] + other + symbols[position + 1 :]
                assert normalize_receipt(typo) is None, (receipt, typo)


def test_the_check_symbol_catches_every_adjacent_transposition():
    caught = 0
    for receipt in sample(500):
        symbols = compact(receipt)
        for position in range(len(symbols) - 1):
            left, right = symbols[position], symbols[position + 1]
            if left == right:
                continue
            swapped = symbols[:position] + right + left + symbols[position + 2 :]
            assert normalize_receipt(swapped) is None, (receipt, swapped)
            caught += 1
    assert caught > 4000


def test_the_check_symbol_catches_every_typo_of_a_fixed_receipt():
    # One receipt exhaustively (each position, each symbol, each swap), so a failure
    # here names the exact typo whatever the random sample drew.
    symbols = compact(RECEIPT)
    typos = {
        symbols[:i] + other + symbols[i + 1 :]
        for i in range(len(symbols))
        for other in ALPHABET
        if other != symbols[i]
    } | {
        symbols[:i] + symbols[i + 1] + symbols[i] + symbols[i + 2 :]
        for i in range(len(symbols) - 1)
        if symbols[i] != symbols[i + 1]
    }
    assert len(typos) == 11 * 31 + 10
    assert [t for t in sorted(typos) if normalize_receipt(t) is not None] == []


TYPED_BACK = {
    "as issued": "S7K3-M9Q2-XRW",
    "lowercase": "s7k3-m9q2-xrw",
    "mixed case": "s7K3-m9Q2-xRw",
    "no hyphens": "S7K3M9Q2XRW",
    "spaces": "S7K3 M9Q2 XRW",
    "other groups": "S7-K3M9-Q2X-RW",
    "surrounding spaces": "  S7K3-M9Q2-XRW\n",
    "full-width": "Ｓ７Ｋ３－Ｍ９Ｑ２－ＸＲＷ",
    "katakana long vowel mark": "S7K3ーM9Q2ーXRW",
    "en dash": "S7K3\u2013M9Q2\u2013XRW",
}


@pytest.mark.parametrize("typed", TYPED_BACK.values(), ids=TYPED_BACK.keys())
def test_a_receipt_is_read_back_however_it_is_cased_or_spaced(typed):
    assert normalize_receipt(typed) == RECEIPT


ALIASES = {
    "O for zero": ("OD8E-9C1A-2BD", "0D8E-9C1A-2BD"),
    "o for zero": ("od8e-9c1a-2bd", "0D8E-9C1A-2BD"),
    "I for one": ("0D8E-9CIA-2BD", "0D8E-9C1A-2BD"),
    "L for one": ("0D8E-9CLA-2BD", "0D8E-9C1A-2BD"),
    "l for one": ("0d8e-9cla-2bd", "0D8E-9C1A-2BD"),
}


@pytest.mark.parametrize(("typed", "canonical"), ALIASES.values(), ids=ALIASES.keys())
def test_crockfords_aliases_read_as_the_symbols_they_look_like(typed, canonical):
    assert normalize_receipt(typed) == canonical


NOT_RECEIPTS = {
    "wrong check symbol": "S7K3-M9Q2-XR0",
    "one symbol short": "S7K3-M9Q2-XR",
    "one symbol more": "S7K3-M9Q2-XRW0",
    "U is not a symbol": "S7K3-M9Q2-XUW",
    "punctuation": "S7K3-M9Q2-XR*",
    "empty": "",
    "only hyphens": "----",
    "not text": 12345678901,
    "none": None,
    "very long": "S7K3-" * 20 + "M9Q2-XRW",
    "a UUID with a non-hex digit": "00000000-0000-4000-8000-00000000000g",
    "a UUID one digit short": "00000000-0000-4000-8000-00000000001",
    "a query": 'S7K3-M9Q2-XRW" or 受付ID != "',
}


@pytest.mark.parametrize("typed", NOT_RECEIPTS.values(), ids=NOT_RECEIPTS.keys())
def test_what_is_not_a_receipt_reads_as_none(typed):
    assert normalize_receipt(typed) is None


LEGACY_TYPED = {
    "as issued": LEGACY,
    "uppercase": LEGACY.upper(),
    "no hyphens": LEGACY.replace("-", ""),
    "surrounding spaces": f" {LEGACY} ",
}


@pytest.mark.parametrize("typed", [LEGACY_HEX.upper(), LEGACY_HEX.replace("-", "")])
def test_a_legacy_uuid_receipt_with_letters_reads_in_lowercase(typed):
    assert normalize_receipt(typed) == LEGACY_HEX


@pytest.mark.parametrize("typed", LEGACY_TYPED.values(), ids=LEGACY_TYPED.keys())
def test_a_legacy_uuid_receipt_is_still_read_in_its_canonical_form(typed):
    assert normalize_receipt(typed) == LEGACY
    assert is_legacy(normalize_receipt(typed) or "")


def test_canonical_means_exactly_as_the_relay_writes_it():
    assert all(is_canonical(r) for r in (RECEIPT, LEGACY, LEGACY_HEX))
    assert not is_canonical(RECEIPT.lower())
    assert not is_canonical(compact(RECEIPT))
    assert not is_canonical(LEGACY_HEX.upper())
    assert not is_legacy(RECEIPT)


def test_the_published_pattern_admits_both_canonical_forms_and_nothing_else():
    assert re.fullmatch(RECEIPT_PATTERN, RECEIPT)
    assert re.fullmatch(RECEIPT_PATTERN, LEGACY)
    assert re.fullmatch(LEGACY_PATTERN, LEGACY)
    for other in (RECEIPT.lower(), compact(RECEIPT), LEGACY_HEX.upper(), "S7K3-M9Q2-XUW"):
        assert not re.fullmatch(RECEIPT_PATTERN, other)


def test_check_symbol_wants_exactly_ten_canonical_symbols():
    with pytest.raises(ValueError, match="10 random symbols"):
        check_symbol("S7K3M9Q2X")
    with pytest.raises(KeyError):
        check_symbol("S7K3M9Q2XU")


def test_a_random_typo_of_any_kind_is_rarely_accepted():
    # Beyond single slips: two random substitutions pass the check about 1 in 32.
    rng = random.Random(21)
    passed = 0
    trials = 4000
    for _ in range(trials):
        symbols = list(compact(new_receipt()))
        for position in rng.sample(range(11), 2):
            symbols[position] = rng.choice(ALPHABET.replace(symbols[position], ""))
        passed += normalize_receipt("".join(symbols)) is not None
    assert passed < trials / 16
