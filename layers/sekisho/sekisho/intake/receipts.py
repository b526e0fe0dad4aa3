"""Receipts people can read aloud: ``S7K3-M9Q2-XR4``.

A receipt is 10 random symbols of Crockford's base32 (0-9 and A-Z without I, L, O and U,
so nothing reads as another letter or a word) and one check symbol, shown and stored in
kintone's receipt field as three groups, ``XXXX-XXXX-XXC``.

(A submission sent with an Idempotency-Key derives its receipt instead, the same on
every try: :func:`retried_receipt`.)

Why 10 random symbols (50 bits): a receipt is typed back into routes that count each
client's attempts (per IP, per hour), so guessing is what it must resist, not a
computer's search. With a million receipts issued, one guess hits some receipt with a
chance of 1 in about a billion (10**6 / 2**50); at 20 guesses an hour one address needs
tens of thousands of years for an even chance. Two more symbols would make that a
thousand times longer and the receipt harder to read out on the phone; a route that
shows more than a status should ask for a second value (the email) besides.

The check symbol turns a slip into "not a receipt" before anything is looked up: the
symbols are elements of GF(32) and the check makes ``sum(w_i * s_i)`` zero, with a
distinct non-zero weight per position (powers of a primitive element). A changed symbol
changes the sum by ``w_i * (s - s')``, two neighbours swapped by ``(w_i - w_j) * (s_i -
s_j)``; in a field neither product is zero, so every single substitution and every
adjacent transposition is caught. (Crockford's own check is mod 37, which needs five
extra symbols such as ``*`` and ``~`` that nobody can read aloud.)

A receipt is read back in any case, with or without hyphens or spaces (full-width forms
too), and with Crockford's aliases (O is 0; I and L are 1). Receipts issued before the
short form were UUIDs; they are still accepted wherever a receipt is read and compare in
their canonical (lowercase, hyphenated) form.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 10
LENGTH = RANDOM_SYMBOLS + 1  # with the check symbol
GROUPS = (4, 4, 3)
_SYMBOL = "[0-9A-HJKMNP-TV-Z]"
# Keeps a retried receipt's hash apart from any other hash of the same parts.
_RETRY_DOMAIN = "sekisho.intake.retried-receipt.v1"
# The canonical short form, as answered and as stored in kintone.
SHORT_PATTERN = rf"{_SYMBOL}{{4}}-{_SYMBOL}{{4}}-{_SYMBOL}{{3}}"
LEGACY_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Either canonical form: what a queued message or a stored answer may carry.
RECEIPT_PATTERN = rf"(?:{SHORT_PATTERN}|{LEGACY_PATTERN})"

_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
_ALIASES = {"O": 0, "I": 1, "L": 1}
# What people put between groups: hyphens and dashes of every width, the katakana long
# vowel mark a Japanese IME gives for "-", and spaces.
_SEPARATORS = re.compile("[\\s\\-\u2010-\u2015\u2212\u30fc\uff70]+")
# Longer input is not a receipt however it is spaced; no need to look at it.
_MAX_INPUT = 64
_HEX = frozenset("0123456789abcdef")
# GF(2^5) with x^5 + x^2 + 1, a primitive polynomial: x (2) generates all 31 non-zero
# elements, so x^0 .. x^10 are 11 distinct weights.
_POLYNOMIAL = 0b100101


def _times(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLYNOMIAL
    return product


def _weights() -> tuple[int, ...]:
    # The check symbol (last) weighs 1, so it is simply the sum of the others.
    powers = [1]
    for _ in range(RANDOM_SYMBOLS):
        powers.append(_times(powers[-1], 2))
    return (*powers[1:], powers[0])


_WEIGHTS = _weights()


def _syndrome(values: list[int]) -> int:
    total = 0
    for weight, value in zip(_WEIGHTS, values, strict=True):
        total ^= _times(weight, value)
    return total


def _grouped(symbols: str) -> str:
    parts, start = [], 0
    for size in GROUPS:
        parts.append(symbols[start : start + size])
        start += size
    return "-".join(parts)


def check_symbol(symbols: str) -> str:
    """The check symbol of 10 canonical symbols."""
    values = [_VALUE[symbol] for symbol in symbols]
    if len(values) != RANDOM_SYMBOLS:
        raise ValueError(f"a receipt has {RANDOM_SYMBOLS} random symbols")
    return ALPHABET[_syndrome([*values, 0])]


def new_receipt() -> str:
    """A fresh random receipt in its canonical form (``S7K3-M9Q2-XR4``)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return _grouped(symbols + check_symbol(symbols))


def receipt_from(digest: str) -> str:
    """The receipt a digest (hex, at least 13 characters: 50 bits are used) stands for."""
    bits = int(digest[:13], 16) >> 2
    symbols = "".join(
        ALPHABET[(bits >> (5 * i)) & 0b11111] for i in reversed(range(RANDOM_SYMBOLS))
    )
    return _grouped(symbols + check_symbol(symbols))


def retried_receipt(form: str, idempotency_key: str, body_digest: str) -> str:
    """The receipt of a submission sent with an Idempotency-Key: the same on every try.

    A try that wrote the record (or queued it) and whose worker died or timed out before
    its answer was stored is then found by kintone's unique receipt field when the browser
    tries again, instead of being written a second time under a fresh receipt.

    It is a hash, not an HMAC under a server key: every container must derive the same
    receipt, including across a rotation of any key, or the retry that lands on another
    container writes twice. So the receipt is as hard to guess as the Idempotency-Key
    together with the body: sekisho's page sends a random UUID (122 bits), and
    docs/routes.md asks other clients to do the same.
    """
    framed = "".join(f"{len(part)}:{part}" for part in (_RETRY_DOMAIN, form, idempotency_key))
    return receipt_from(hashlib.sha256(f"{framed}{body_digest}".encode()).hexdigest())


def normalize_receipt(text: object) -> str | None:
    """The canonical form of a receipt as someone typed it, or None when it is not one
    (wrong length, a symbol outside the alphabet, a check symbol that does not fit).

    A legacy UUID receipt comes back as its canonical UUID.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return None
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    if len(compact) == 32 and set(compact.lower()) <= _HEX:
        return str(uuid.UUID(hex=compact))
    if len(compact) != LENGTH:
        return None
    values = []
    for symbol in compact.upper():
        value = _VALUE.get(symbol, _ALIASES.get(symbol))
        if value is None:
            return None
        values.append(value)
    if _syndrome(values) != 0:
        return None
    return _grouped("".join(ALPHABET[value] for value in values))


def is_canonical(text: object) -> bool:
    """True for a receipt exactly as the relay writes it (short or legacy UUID)."""
    return isinstance(text, str) and normalize_receipt(text) == text


def is_legacy(receipt: str) -> bool:
    """True for a canonical legacy (UUID) receipt."""
    return re.fullmatch(LEGACY_PATTERN, receipt) is not None
