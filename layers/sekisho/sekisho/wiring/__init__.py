"""Each function's parts, built once per container: one module per function.

A function's module imports at module level everything its route uses and nothing of
another function's, so ``python -X importtime`` of a handler lists only its own code
(``tests/integration/test_function_cold_start.py`` holds each to that). The parts two
functions share are in :mod:`.routes` (HTTP routes), :mod:`.guarded` (the per-IP guard)
and :mod:`.ledger` (records in the GuardTable, kintone clients by token).
"""
