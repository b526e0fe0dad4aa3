"""The HTTP contract (openapi.json), generated from the policy and the relay's models."""

from .document import openapi_document, render

__all__ = ["openapi_document", "render"]
