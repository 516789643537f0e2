"""lockgate.pgparser loads pglast's C parser without pglast's Python package, and stays compatible with it.

Each case runs in a fresh interpreter: what is being tested is import order within one process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_light_load_parses_without_importing_the_ast_or_enum_modules() -> None:
    out = _run(
        """
        import sys
        from lockgate import pgparser
        print(sorted(name for name in sys.modules if name.startswith("pglast")))
        print(pgparser.parse_sql_json("SELECT 1")[:20])
        try:
            pgparser.parse_sql_json("SELEC 1")
        except pgparser.ParseError as exc:
            print("error:", exc)
        print([token.name for token in pgparser.scan("SELECT 1 -- note")])
        import json
        body = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN 1; END'"
        print(list(json.loads(pgparser.parse_plpgsql_json(body))[0]))
        """
    )
    lines = out.splitlines()
    assert lines[0] == "['pglast.error', 'pglast.parser']"
    assert lines[1] == '{"version":180006,"s'
    assert lines[2] == 'error: syntax error at or near "SELEC", at index 0'
    assert lines[3] == "['SELECT', 'ICONST', 'SQL_COMMENT']"
    assert lines[4] == "['PLpgSQL_function']"


def test_the_real_pglast_still_works_after_a_light_load() -> None:
    out = _run(
        """
        from lockgate import pgparser
        import pglast
        from pglast import ast
        from pglast.enums import ObjectType
        tree = pglast.parse_sql("CREATE TABLE t (a int); DROP TABLE t")
        print(type(tree[0].stmt).__name__, tree[1].stmt.removeType == ObjectType.OBJECT_TABLE)
        print(pglast.parser is pgparser._parser, pglast.parser.parse_sql is pglast.parse_sql)
        print(issubclass(pgparser.ParseError, pglast.Error), pglast.error.Error is pglast.Error)
        print(pglast.prettify("select a from b where c = 1").replace(chr(10), " "))
        print(isinstance(tree[0].stmt, ast.CreateStmt))
        """
    )
    assert out.splitlines() == [
        "CreateStmt True",
        "True True",
        "True True",
        "SELECT a FROM b WHERE c = 1",
        "True",
    ]


def test_pglast_imported_first_is_reused() -> None:
    out = _run(
        """
        import pglast
        from lockgate import pgparser
        print(pgparser._parser is pglast.parser, pgparser.ParseError is pglast.parser.ParseError)
        """
    )
    assert out == "True True"


def test_an_unexpected_pglast_layout_falls_back_to_the_plain_import() -> None:
    out = _run(
        """
        import importlib.util, sys
        original = importlib.util.module_from_spec
        def module_from_spec(spec):
            if spec.name == "pglast.parser":
                raise ImportError("a future pglast that cannot be loaded this way")
            return original(spec)
        importlib.util.module_from_spec = module_from_spec
        from lockgate import pgparser
        import pglast
        print(pgparser._parser is pglast.parser, "pglast.ast" in sys.modules)
        print(pgparser.parse_sql_json("SELECT 1")[:11])
        """
    )
    assert out.splitlines() == ["True True", '{"version":']
