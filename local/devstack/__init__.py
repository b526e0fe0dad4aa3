"""The local dev stack (`make dev`): the SAM bundle on one machine, no AWS account, no Docker.

`devstack.stack.start()` runs moto's server, the kintone emulator and a router that serves
template.yaml's routes through per-function worker processes; `python -m devstack` does
it from a terminal.

Nothing is imported here: every worker process imports `devstack.worker`, and must not
pay for moto. The few imports inside functions in this package sit at a process's
boundary (the command line's entry, moto's own process, a worker's start) and say so;
`tests/unit/test_local_imports.py` lists them.
"""
