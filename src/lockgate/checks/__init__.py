"""Checks of migration files against git: naming (new files order correctly) and immutability (committed
files are never edited, renamed or deleted).

A pipeline stage: it returns ``lockgate.problems.Problem`` objects and prints nothing, so the pre-commit
hooks (``lockgate.hooks``), ``lockgate check-*`` and the PR check (``lockgate.github``) render the same
problems with the same text. Imports stay light (no typing, click or pglast until a diff needs parsing):
the hooks run on every commit.
"""
