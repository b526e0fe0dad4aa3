"""Rotation of the secrets sekisho holds: Secrets Manager's four steps, per kind.

:class:`Rotator` runs one step of one event (the Lambda and the local stack's
``python -m devstack rotate`` share it); :func:`stage` is how an operator hands over a
kintone token or a sender's key.

Nothing is re-exported here: import a name from the module that defines it, so a
function loads only the modules its route uses.
"""
