"""Webhook receipt: verify each sender by its own scheme, dedupe, queue, acknowledge.

Nothing is re-exported here: import a name from the module that defines it, so a
function loads only the modules its route uses.
"""
