"""The HTTP edge every route shares: one resolver setup, problems, CORS, request reading."""

from .problems import problem_response
from .request import client_ip, json_body, verified_claims
from .resolver import HttpSettings, create_resolver

__all__ = [
    "HttpSettings",
    "client_ip",
    "create_resolver",
    "json_body",
    "problem_response",
    "verified_claims",
]
