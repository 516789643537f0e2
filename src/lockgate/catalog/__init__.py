"""The catalog stage: a read-only model of the schema a migration will meet (tables, columns and their
types, indexes, partitioned tables, functions and their volatility, and — from a real database — sizes).

Three sources build one model: the migration history replayed statically through the parser
(``catalog.history``: offline, cheap enough for the pre-commit hook), and a live database, the target or a
shadow with the history applied (``catalog.live``, read-only). Lint asks the model instead of guessing, so
a type change knows the column's old type and a table created by an earlier pending file is known to be new.
"""
