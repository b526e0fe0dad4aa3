"""sekisho (関所): a least-privilege relay between external browsers and kintone.

This package is the shared Lambda layer. Handlers in ``functions/`` import from it; it
never imports from them.
"""

__version__ = "0.1.0"
