"""The one HTTP session per container that every kintone call shares."""

from __future__ import annotations

import functools

import requests
from requests.adapters import HTTPAdapter

from sekisho import __version__


@functools.cache
def shared_session() -> requests.Session:
    """Connection pooling across invocations of a warm container.

    Retries are the client's job (they depend on kintone's error codes), so the adapter
    is told not to retry on its own.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update(
        {
            # kintone's messages follow Accept-Language; the unique-field check relies on it.
            "Accept-Language": "en",
            "User-Agent": f"sekisho/{__version__}",
        }
    )
    # Never pick up proxies or .netrc credentials from the environment.
    session.trust_env = False
    return session
