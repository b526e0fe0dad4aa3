"""``sekisho explain``: what a policy exposes, in words, route by route, and what a change
to it widens or narrows (``--diff``): a reviewer's view, in Markdown for a pull request."""
