"""The rules of signed-in visitors as the relay runs them: realms (who may sign in and
what a session claims) and the edit-after-send of a form (who may correct or cancel
which entry, and until when)."""

from __future__ import annotations

from .rate import Rate, per_hour
from .rule import Rule, fresh
from .when import WhenPolicy

# The claim every session carries: the address the person signed in with, as kintone
# holds it in the realm's email field.
EMAIL_CLAIM = "email"
DEFAULT_SESSION_SECONDS = 900
DEFAULT_CODE_SECONDS = 600


class RealmGuard(Rule):
    """A realm's guard: requests per IP (code requests and sign-ins together), codes
    mailed per address, and wrong codes per address before it is locked."""

    per_ip: Rate = fresh(lambda: per_hour(30))
    per_address: Rate = fresh(lambda: per_hour(5))
    failures_per_key: Rate = fresh(lambda: per_hour(5))


class RealmPolicy(Rule):
    """Who may sign in: the people of one kintone app, found live by an email field."""

    app: int
    token_secret: str  # a token with record VIEW only
    email_field: str
    # A kintone condition a person's record must meet to sign in (removing or disabling
    # the record stops the next sign-in).
    active: str | None = None
    # Session claim name -> the field of the person's record it is read from.
    claims: dict[str, str] = fresh(dict)
    key_secret: str  # the key sessions, cursors and refs are signed with
    session_seconds: int = DEFAULT_SESSION_SECONDS
    code_seconds: int = DEFAULT_CODE_SECONDS
    guard: RealmGuard = fresh(RealmGuard)
    enabled: bool = True
    # When and from where a code may be requested and traded for a session.
    when: WhenPolicy | None = None

    @property
    def claim_names(self) -> frozenset[str]:
        """Every claim a session of this realm carries."""
        return frozenset({EMAIL_CLAIM, *self.claims})

    @property
    def person_fields(self) -> tuple[str, ...]:
        """The fields a sign-in reads of the person's record (nothing else)."""
        return tuple(dict.fromkeys((self.email_field, *self.claims.values())))


class EntryOwner(Rule):
    """An entry belongs to the session whose ``claim`` equals the record's ``field``."""

    field: str
    claim: str


class EntryLock(Rule):
    """The entry can no longer be corrected or cancelled once ``field`` is ``value``."""

    field: str
    value: str


class EditablePolicy(Rule):
    """Which entries of a form a signed-in visitor may correct: their own, these fields."""

    session: str  # the realm
    token_secret: str  # a token with record EDIT only
    owner: EntryOwner
    fields: tuple[str, ...]  # the form's browser field names
    until: EntryLock | None = None


class CancelPolicy(Rule):
    """Cancelling an entry sets ``field`` to ``value``; nothing is ever deleted."""

    field: str
    value: str


SESSION_RULES: tuple[type[Rule], ...] = (
    RealmGuard,
    RealmPolicy,
    EntryOwner,
    EntryLock,
    EditablePolicy,
    CancelPolicy,
)
