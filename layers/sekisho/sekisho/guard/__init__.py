"""Rate limits and lockouts, counted in DynamoDB so every container sees the same counts.

``Guard`` is the one public class; stores only offer an atomic bounded increment and a
consistent read.

Nothing is re-exported here: import a name from the module that defines it, so a
function loads only the modules its route uses.
"""
