"""Webhook actions: a verified event becomes one declared kintone write, exactly once.

Nothing is re-exported here: import a name from the module that defines it, so a
function loads only the modules its route uses.
"""
