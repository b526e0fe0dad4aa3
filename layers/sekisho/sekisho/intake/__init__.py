"""Intake: browser form submissions into kintone with an add-only token, exactly once.

``IntakeService`` answers ``POST /forms/{form}``; ``DeliverService`` consumes IntakeQueue.

Nothing is re-exported here: import a name from the module that defines it, so a
function loads only the modules its route uses.
"""
