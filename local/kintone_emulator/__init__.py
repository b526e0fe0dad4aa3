"""A local kintone: the embedded upstream for `make dev` and for the tests.

It speaks the part of kintone's REST API that sekisho uses and reproduces the behaviour
documented by cybozu: API tokens with per-app permissions, the query language
and its type rules, validation errors, the concurrency limit and the maintenance page.
"""
