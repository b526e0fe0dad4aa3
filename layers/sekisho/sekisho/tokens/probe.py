"""The least-privilege probe: a kintone token can do what the policy declares, and no more.

kintone has no API that lists a token's permissions, so the probe asks kintone itself,
one request per permission. Each request is one kintone refuses before it could change
anything, and the *kind* of refusal says whether the permission is there: GAIA_NO01 means
the token lacks it, any later refusal means kintone got past the permission check.

The method (``PROBE_RECORD_ID`` = 2**53, ``PROBE_VALUE`` = ``"sekisho-probe"``):

==========  =================================================  ===============  =========
permission  request                                            allowed          denied
==========  =================================================  ===============  =========
view        GET records.json, query "limit 1", fields [$id]    200              GAIA_NO01
add         POST record.json, {probe field: PROBE_VALUE}       CB_VA01 naming   GAIA_NO01
                                                               the probe field
edit        PUT record.json, id PROBE_RECORD_ID, the same      GAIA_RE01 or     GAIA_NO01
            record                                             CB_VA01
delete      DELETE records.json, ids [PROBE_RECORD_ID],        GAIA_RE01 or     GAIA_NO01
            revisions [1]                                      GAIA_CO02
manage      GET preview/app/form/fields.json                   200              GAIA_NO01
==========  =================================================  ===============  =========

The *probe field* is a NUMBER field the policy declares for the token's app
(``apps.<id>.fields``), else a DATE, else a DATETIME one, which kintone's live form
(``GET app/form/fields.json``, read just before the add) confirms has that type and is no
lookup. ``PROBE_VALUE`` is no number, date or date-time, so no such field can hold it.

Why none of the writes can write:

- add: the one field sent holds a value kintone refuses for that field's type, and kintone
  validates a whole record before storing any of it. The field is confirmed in kintone
  first because kintone *silently ignores* unknown field codes: with a mistyped or renamed
  field the add would go through, so without a confirmed field no add is sent at all.
- edit: no record has id 2**53 (kintone numbers an app's records from 1 upwards), and the
  value is refused as for add. Without a confirmed field the id alone is sent.
- delete: the record would have to exist *and* still be at revision 1.
- view and manage are reads.

Should kintone answer 2xx to a write all the same, the row reads "allowed" (the token did
it) and an error naming the routes, the app and the permission is logged so an operator
can look for the change.

What is documented and what is assumed:

- Documented (cybozu's reference): records.json needs record view;
  a token without a permission gets 403 GAIA_NO01; an invalid or inactive token gets
  GAIA_IA02; a non-numeric NUMBER value is CB_VA01 at ``record[<code>].value``; a missing
  record is GAIA_RE01; the live form fields need record view, record add or app
  management, the pre-live (preview) ones app management.
- Assumed (unverified): that kintone checks the token's permission *before* it validates
  record values (add, edit) and before it looks the record up (edit, delete), and that a
  stale revision is GAIA_CO02 (409). The local emulator behaves so. Every one of these
  assumptions fails *closed*: if kintone validated or looked up first, a token without
  the permission would get CB_VA01 or GAIA_RE01, the row would read "allowed", and the
  probe would report an excess permission. It cannot report a pass that is not one,
  which would take GAIA_NO01 for a token that has the permission. Should real kintone
  show that every token "can" edit or delete, probe on a dedicated probe app instead.

When the live form cannot be read because kintone answers GAIA_NO01, the token has none
of view, add and app management (documented above), so add reads "denied" without an
add being sent. An app that declares no NUMBER, DATE or DATETIME field gets "unknown:no
field to probe with" for add, which never passes: the operator declares one of the app's
fields of such a type under ``apps.<id>.fields`` (declaring a field gives no route access
to it). GAIA_IA02 at any step makes every row "invalid_token", as does a token that cannot be
sent in a header at all (anything but visible ASCII: kintone issues letters and digits),
which is then not sent; a transient or unexpected answer makes its row
"unknown:<exception name>". Neither is ever ok.

Probe with :func:`probe_client`: it never retries (the relay's client retries transient
failures of every method, writes included) and takes GAIA_IA02 as an answer rather than a
reason to re-read a secret.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from sekisho.kintone.breaker import CircuitBreaker
from sekisho.kintone.client import KintoneClient, Timeouts, TokenSource
from sekisho.kintone.errors import (
    KintoneError,
    KintoneInvalidToken,
    KintonePermissionDenied,
    KintoneValidationError,
)
from sekisho.kintone.retry import NO_RETRY

from .declared import PERMISSIONS, DeclaredToken

if TYPE_CHECKING:
    from sekisho.policy import AppPolicy

logger = logging.getLogger(__name__)

PROBE_RECORD_ID = 2**53
PROBE_REVISION = 1
PROBE_VALUE = "sekisho-probe"
PROBE_FIELD_TYPES = ("NUMBER", "DATE", "DATETIME")

ALLOWED = "allowed"
DENIED = "denied"
INVALID_TOKEN = "invalid_token"  # noqa: S105 - an observation, not a secret
UNKNOWN = "unknown:"
NO_PROBE_FIELD = UNKNOWN + "no field to probe with"
NO_MATCHING_FIELD = UNKNOWN + "no declared NUMBER, DATE or DATETIME field matches kintone"

# What X-Cybozu-API-Token can carry as is. Beyond it requests cannot send the header
# (UnicodeEncodeError past latin-1, InvalidHeader for a line break), and kintone's own
# tokens are letters and digits: such a value is no token of kintone's.
_SENDABLE_TOKEN = re.compile(r"[!-~]+")

_RECORD_NOT_FOUND = "GAIA_RE01"
_REVISION_CONFLICT = "GAIA_CO02"


@dataclass(frozen=True)
class ProbeRow:
    permission: str
    expected: bool  # does the policy declare this permission?
    observed: str  # "allowed" | "denied" | "invalid_token" | "unknown:<reason>"

    @property
    def ok(self) -> bool:
        return self.observed == (ALLOWED if self.expected else DENIED)


@dataclass(frozen=True)
class ProbeReport:
    secret: str
    app: int
    rows: tuple[ProbeRow, ...]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    @property
    def excess(self) -> tuple[str, ...]:
        """Permissions kintone granted that the policy does not declare."""
        return tuple(r.permission for r in self.rows if not r.expected and r.observed == ALLOWED)

    @property
    def missing(self) -> tuple[str, ...]:
        """Declared permissions that were not shown to work (denied, invalid or unknown)."""
        return tuple(r.permission for r in self.rows if r.expected and r.observed != ALLOWED)


def probe_client(
    base_url: str,
    token: str,
    *,
    session: requests.Session | None = None,
    timeouts: Timeouts | None = None,
) -> KintoneClient:
    """A client fit for probing ``token``: no retries, no token refresh, its own breaker.

    A token that cannot be sent in a header is never sent: every request fails as kintone
    fails an invalid token (:class:`KintoneInvalidToken`), so the probe reads it as one.
    """
    sendable = _SENDABLE_TOKEN.fullmatch(token) is not None
    return KintoneClient(
        base_url,
        TokenSource.fixed(token) if sendable else TokenSource(current=_unsendable_token),
        session=session,
        timeouts=timeouts,
        retry=NO_RETRY,
        # Never opens within one probe, so every row records kintone's own answer.
        breaker=CircuitBreaker(failure_threshold=len(PERMISSIONS) + 2),
    )


def _unsendable_token() -> str:
    raise KintoneInvalidToken("the token is not visible ASCII: it cannot be sent to kintone")


def probe_token(client: KintoneClient, declared: DeclaredToken, app: AppPolicy) -> ProbeReport:
    """Ask kintone, permission by permission, what the token of ``declared`` may do.

    ``app`` is the policy's declaration of ``declared.app`` (its fields give the probe
    field). The read comes first, so an invalid token is found before any write is tried.
    """
    probe = _Probe(client, declared, app)
    steps: dict[str, Callable[[], str]] = {
        "view": probe.view,
        "add": probe.add,
        "edit": probe.edit,
        "delete": probe.delete,
        "manage": probe.manage,
    }
    observed: dict[str, str] = {}
    try:
        for permission in PERMISSIONS:
            observed[permission] = steps[permission]()
    except KintoneInvalidToken:
        observed = dict.fromkeys(PERMISSIONS, INVALID_TOKEN)
    rows = tuple(
        ProbeRow(permission, permission in declared.permissions, observed[permission])
        for permission in PERMISSIONS
    )
    return ProbeReport(secret=declared.secret, app=declared.app, rows=rows)


def _unknown(exc: KintoneError) -> str:
    return UNKNOWN + type(exc).__name__


def _never(_: KintoneError) -> bool:
    return False


class _Probe:
    def __init__(self, client: KintoneClient, declared: DeclaredToken, app: AppPolicy) -> None:
        self._client = client
        self._declared = declared
        self._app = app
        self._field: tuple[str | None, str] | None = None

    def view(self) -> str:
        return self._outcome(
            "view",
            lambda: self._client.get_records(self._declared.app, "limit 1", fields=["$id"]),
            allowed_when=_never,
        )

    def add(self) -> str:
        field, why_not = self._probe_field()
        if field is None:
            return why_not
        return self._outcome(
            "add",
            lambda: self._client.add_record(self._declared.app, {field: PROBE_VALUE}),
            allowed_when=lambda exc: (
                isinstance(exc, KintoneValidationError) and field in exc.fields()
            ),
        )

    def edit(self) -> str:
        field, _ = self._probe_field()
        record = {field: PROBE_VALUE} if field is not None else {}
        return self._outcome(
            "edit",
            lambda: self._client.update_record(self._declared.app, PROBE_RECORD_ID, record),
            allowed_when=lambda exc: (
                isinstance(exc, KintoneValidationError) or exc.kintone_code == _RECORD_NOT_FOUND
            ),
        )

    def delete(self) -> str:
        return self._outcome(
            "delete",
            lambda: self._client.delete_records(
                self._declared.app, [PROBE_RECORD_ID], revisions=[PROBE_REVISION]
            ),
            allowed_when=lambda exc: exc.kintone_code in (_RECORD_NOT_FOUND, _REVISION_CONFLICT),
        )

    def manage(self) -> str:
        return self._outcome(
            "manage",
            lambda: self._client.get_preview_form_fields(self._declared.app),
            allowed_when=_never,
        )

    def _outcome(
        self,
        permission: str,
        request: Callable[[], object],
        *,
        allowed_when: Callable[[KintoneError], bool],
    ) -> str:
        try:
            request()
        except KintoneInvalidToken:
            raise
        except KintonePermissionDenied:
            return DENIED
        except KintoneError as exc:
            return ALLOWED if allowed_when(exc) else _unknown(exc)
        if permission not in ("view", "manage"):
            logger.error(
                "kintone carried out a least-privilege probe write: look for a change in the app",
                extra={
                    "routes": list(self._declared.routes),
                    "kintone_app": self._declared.app,
                    "permission": permission,
                },
            )
        return ALLOWED

    def _probe_field(self) -> tuple[str | None, str]:
        """The field to send PROBE_VALUE in, or None and what add observes instead."""
        if self._field is None:
            self._field = self._find_probe_field()
        return self._field

    def _find_probe_field(self) -> tuple[str | None, str]:
        declared = self._app.fields
        candidates = [
            code for ftype in PROBE_FIELD_TYPES for code, t in declared.items() if t == ftype
        ]
        if not candidates:
            return None, NO_PROBE_FIELD
        try:
            live = self._client.get_form_fields(self._declared.app)
        except KintoneInvalidToken:
            raise
        except KintonePermissionDenied:
            # Reading the live form needs view, add or app management: no add here.
            return None, DENIED
        except KintoneError as exc:
            return None, _unknown(exc)
        for code in candidates:
            prop = live.get(code)
            # A lookup field fetches its value from another app, which a token may not.
            if (
                isinstance(prop, dict)
                and prop.get("type") == declared[code]
                and "lookup" not in prop
            ):
                return code, ""
        return None, NO_MATCHING_FIELD
