"""API-token checks, in the order and with the codes kintone uses."""

from __future__ import annotations

from .errors import KintoneApiError, validation_error
from .schema import AppDef, TokenDef
from .store import Store

TOKEN_HEADER = "X-Cybozu-API-Token"  # noqa: S105 - a header name, not a secret
MAX_TOKENS = 9


def invalid_token() -> KintoneApiError:
    return KintoneApiError(400, "GAIA_IA02", "The API token is invalid.")


def not_permitted() -> KintoneApiError:
    return KintoneApiError(
        403, "GAIA_NO01", "Using this API token, you cannot run the specified API."
    )


def app_not_found(app_id: int) -> KintoneApiError:
    return KintoneApiError(
        404, "GAIA_AP01", f"The app (ID: {app_id}) not found. The app may have been deleted."
    )


def valid_tokens(store: Store, header: str | None) -> list[TokenDef]:
    """Every token in the header, each known and active; otherwise kintone's error."""
    if header is None:
        raise KintoneApiError(401, "CB_WA01", "Password authentication failed.")
    names = [name.strip() for name in header.split(",")]
    if len(names) > MAX_TOKENS:
        raise validation_error({TOKEN_HEADER: [f"Up to {MAX_TOKENS} API tokens can be specified."]})
    tokens = []
    for name in names:
        # One bad token spoils the whole header, even if another would have sufficed.
        token = store.token(name) if name else None
        if token is None or not token.active:
            raise invalid_token()
        tokens.append(token)
    apps = [token.app for token in tokens]
    if len(set(apps)) != len(apps):
        raise KintoneApiError(
            400, "GAIA_DA03", "You cannot specify multiple API tokens of the same app."
        )
    return tokens


def authorize(
    store: Store, tokens: list[TokenDef], app_id: int, permission: str | frozenset[str]
) -> AppDef:
    """The app, if one of `tokens` belongs to it and carries `permission` (a set: any of it).

    The tokens come from `valid_tokens`, checked before the request's parameters are; the
    caller checks the rest of its parameters (ids, record values) only after this, so a
    token without the permission gets GAIA_NO01 whatever else is wrong with the request.
    """
    app = store.app(app_id)
    if app is None:
        raise app_not_found(app_id)
    needed = frozenset({permission}) if isinstance(permission, str) else permission
    for token in tokens:
        if token.app == app_id and needed & token.permissions:
            return app
    raise not_permitted()
