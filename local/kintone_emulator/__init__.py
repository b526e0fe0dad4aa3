"""A local kintone: the embedded upstream for `make dev` and for the tests.

It speaks the part of kintone's REST API that sekisho uses and reproduces the behaviour
described in shared/KINTONE.md: API tokens with per-app permissions, the query language
and its type rules, validation errors, the concurrency limit and the maintenance page.
"""
