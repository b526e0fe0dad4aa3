# A package, so that the stack and the browser (package-scoped fixtures) stop when the last
# browser test is done rather than at the end of the whole session.
