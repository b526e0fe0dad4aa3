"""The demo pages in web/, served from the API's origin so the page needs no CORS."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from .proxy import HttpAnswer

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# The pages are built for a strict policy: scripts and styles from files, fetches to the
# same origin, no framing, no Referer (a lookup page's URL is nobody else's business).
# Trusted Types with no policy make the browser refuse HTML from strings (innerHTML and
# the like) outright, so a record can only ever be shown as text. The pages repeat this
# policy in a <meta> element, all but frame-ancestors, which only a header can carry.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    # No other window keeps a handle on a page opened from it, and no other site embeds
    # the pages' scripts or styles.
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]


def static_answer(web_dir: Path, path: str) -> HttpAnswer | None:
    """The file under web_dir that a GET of `path` names, or None."""
    relative = unquote(path).lstrip("/")
    if any(part.startswith(".") for part in relative.split("/")) or "\x00" in relative:
        return None
    root = web_dir.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    if not candidate.is_file():
        return None
    content_type = CONTENT_TYPES.get(candidate.suffix.lower(), "application/octet-stream")
    return HttpAnswer(
        200, [("Content-Type", content_type), *SECURITY_HEADERS], candidate.read_bytes()
    )
