"""kintone access: a REST client with typed errors and a query compiler.

Nothing is re-exported here: import a name from the module that defines it, so a
function loads only the modules its route uses.
"""
