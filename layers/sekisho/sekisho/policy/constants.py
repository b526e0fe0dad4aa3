"""What the policy's models, its snapshot and the relay's checks share.

Free of pydantic (as :mod:`~sekisho.policy.behaviour` and :mod:`~sekisho.policy.snapshot`
are): a function that starts from the reviewed snapshot reads these without loading the
validation models.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# kintone's built-in fields: every app has them, so none is declared.
BUILTIN_FIELDS = {"$id": "__ID__", "$revision": "__REVISION__"}

# The guard's own key (Settings.guard_hash_key_secret's default): never a route's secret.
GUARD_HASH_KEY_SECRET = "sekisho/guard/hash-key"  # noqa: S105 - a name, not a value

# A match value from the authorizer's verified claims is declared `from: claim:<name>`.
CLAIM_PREFIX = "claim:"

# Decoded bytes of every file of one request together. A JSON body carries files as
# base64 (4 bytes per 3): 4,000,000 bytes become 5,333,336, which leaves room for the
# other fields under the intake's MAX_BODY_BYTES (5,500,000), itself under the 6 MB
# Lambda takes synchronously once API Gateway's event envelope is added.
MAX_REQUEST_FILE_BYTES = 4_000_000
# A file field with `upload: direct` goes around the JSON body (a presigned S3 POST), so
# its limit is the relay's, not Lambda's: what the deliverer can hold in memory twice
# (the object, then the multipart body the kintone upload builds) inside its 512 MB.
MAX_DIRECT_UPLOAD_BYTES = 104_857_600
# The types a direct upload may have: those whose magic is in the first bytes, so the
# intake can check an object with a ranged read instead of fetching all of it (a ZIP's
# or an Office file's directory is at its end, text is text only to its last byte).
DIRECT_UPLOAD_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
)
# kintone's own limit on a text field's length; a form without max_length gets this one.
TEXT_MAX_LENGTH = 64_000
EMAIL_MAX_LENGTH = 254  # RFC 5321's path limit less the angle brackets

# The content types the relay can verify against a file's own bytes, with the file-name
# extensions each may carry. A type the relay cannot check is no limit at all, so a
# policy may allow only these (see sekisho.forms.files for the checks).
CONTENT_TYPE_EXTENSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "application/pdf": frozenset({".pdf"}),
        "image/png": frozenset({".png"}),
        "image/jpeg": frozenset({".jpg", ".jpeg"}),
        "image/gif": frozenset({".gif"}),
        "image/webp": frozenset({".webp"}),
        "application/zip": frozenset({".zip"}),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": frozenset(
            {".docx"}
        ),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": frozenset({".xlsx"}),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": frozenset(
            {".pptx"}
        ),
        "text/plain": frozenset({".txt"}),
        "text/csv": frozenset({".csv"}),
    }
)

# What each webhook action's operation needs of its write token, as kintone's token
# settings name them.
OPERATION_PERMISSIONS: dict[str, frozenset[str]] = {
    "add": frozenset({"add"}),
    "update": frozenset({"edit"}),
    "upsert": frozenset({"add", "edit"}),
}

# The windows a rate (`30/hour`) may be counted in, in seconds.
WINDOWS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}

# Defaults the runtime model and its validation share.
DEFAULT_VIEW_LIMIT = 20
DEFAULT_DAILY_BUDGET = 10_000
DEFAULT_MATCH_MAX_LENGTH = 64

# Field types whose value a record add takes as a list of options.
LIST_TYPES = frozenset({"CHECK_BOX", "MULTI_SELECT"})
