"""The lint stage: pure functions from a migration's text to ``Finding`` objects.

Nothing here imports psycopg, rich or the runner: ``lockgate lint`` is the pre-commit path and must start
in well under 150 ms. Rules live in ``lockgate.lint.rules`` (one module per family) and are discovered
automatically; see ``README.md`` in this package for how to write one.
"""
