"""The address a form's confirmation mail goes to: an email field that must also be a
header SES can take.

The email check already refuses control characters, spaces (U+2028 is one) and a second
address. The field ``reply.to`` names is also refused, at intake with the field's own
``email`` problem, when SES could never send to it: format characters (a bidi override
shows another address than the one mailed), or a non-ASCII part before the @, which SES
(no SMTPUTF8) refuses. Accepting it would leave a mail that fails on every retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sekisho.mail.headers import address_problem

from .fields import Check
from .problems import FieldProblem

if TYPE_CHECKING:
    from sekisho.policy import FormPolicy


def reply_checked(form: FormPolicy, name: str, check: Check) -> Check:
    """``check``, and for the reply's recipient field the mail-address check after it."""
    if form.reply is None or form.reply.to != name:
        return check

    def checked(value: Any) -> Any:
        address = check(value)
        problem = address_problem(address)
        if problem is not None:
            raise FieldProblem("email", problem)
        return address

    return checked
