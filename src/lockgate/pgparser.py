"""PostgreSQL's parser (libpg_query, through pglast's C extension) without importing pglast's Python package.

Why: lockgate only calls four functions of ``pglast.parser`` — ``parse_sql_json``, ``parse_plpgsql_json``,
``scan`` and its ``ParseError`` — yet ``import pglast`` first imports every enum module and the AST classes,
about 60 ms: half of what the pre-commit hook costs on one file. The C extension itself needs none of them
to produce JSON or tokens; it only looks them up when building AST objects (``pglast.parse_sql``).

So the extension is loaded directly from pglast's install, with ``pglast.ast`` and ``pglast.enums`` standing
in as modules that import the real ones on first attribute access. The extension's state is per process, so
code that later imports the real ``pglast`` (``lockgate supabase revert`` builds ASTs) gets the very same
module, and its AST building works because the stand-ins fetch the real modules then. ``pglast.error`` is
loaded under its own name first, so ``pglast.Error`` is one class whichever import came first.

Anything unexpected (another pglast layout, the package already imported) falls back to the plain import.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class _Proxy(ModuleType):
    """A stand-in for a pglast submodule that imports the real one when an attribute is first asked for."""

    def __getattr__(self, name: str) -> Any:
        import importlib

        real = importlib.import_module(self.__name__)
        if real is self:  # pragma: no cover - the real module failed to replace us
            raise AttributeError(name)
        # Copy the real module's names in, so later lookups no longer come through here.
        vars(self).update((key, value) for key, value in vars(real).items() if not key.startswith("__"))
        return getattr(real, name)


def _light() -> ModuleType:
    """Load ``pglast/parser*.so`` under the name ``pglast.parser`` without running ``pglast/__init__``."""
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("pglast")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pglast is not installed")
    (directory,) = list(spec.submodule_search_locations)[:1]
    finder = importlib.machinery.FileFinder(
        directory,
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
    )
    parser_spec = finder.find_spec("pglast.parser")
    error_spec = finder.find_spec("pglast.error")
    if parser_spec is None or error_spec is None or error_spec.loader is None or parser_spec.loader is None:
        raise ImportError("unexpected pglast layout")
    package = ModuleType("pglast")
    package.__path__ = [directory]
    package.__spec__ = spec
    package.__package__ = "pglast"
    error = importlib.util.module_from_spec(error_spec)
    error_spec.loader.exec_module(error)
    package.error = error  # type: ignore[attr-defined]
    package.Error = error.Error  # type: ignore[attr-defined]
    package.ast = _Proxy("pglast.ast")  # type: ignore[attr-defined]
    package.enums = _Proxy("pglast.enums")  # type: ignore[attr-defined]
    sys.modules["pglast"] = package
    try:
        parser = importlib.util.module_from_spec(parser_spec)
        parser_spec.loader.exec_module(parser)
    finally:
        # The real package takes its place on the next ``import pglast``; the parser and error modules
        # stay registered so that import reuses them (an extension's state cannot be loaded twice).
        del sys.modules["pglast"]
    sys.modules["pglast.error"] = error
    sys.modules["pglast.parser"] = parser
    sys.meta_path.insert(0, _Reattach(error, parser))
    return parser


class _Reattach:
    """When the real ``pglast`` package is imported later, hang the preloaded submodules on it.

    An import that finds a submodule already in ``sys.modules`` does not set it as an attribute of its
    package, so without this ``import pglast; pglast.parser`` would fail after a light load.
    """

    def __init__(self, error: ModuleType, parser: ModuleType) -> None:
        self.error, self.parser = error, parser

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "pglast":
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _AttachingLoader(spec.loader, self.error, self.parser)  # type: ignore[assignment]
        return spec


class _AttachingLoader:
    """Runs ``pglast/__init__`` as usual, then sets ``pglast.error`` and ``pglast.parser``."""

    def __init__(self, loader: Any, error: ModuleType, parser: ModuleType) -> None:
        self.loader, self.error, self.parser = loader, error, parser

    def __getattr__(self, name: str) -> Any:  # get_code, is_package, resource readers...
        return getattr(self.loader, name)

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.error = self.error  # type: ignore[attr-defined]
        module.parser = self.parser  # type: ignore[attr-defined]
        self.loader.exec_module(module)


def _load() -> ModuleType:
    existing = sys.modules.get("pglast.parser")
    if existing is not None:
        return existing
    if "pglast" not in sys.modules:
        try:
            return _light()
        except Exception:  # any surprise: the ordinary import is always correct
            for name in ("pglast", "pglast.error", "pglast.parser"):
                sys.modules.pop(name, None)
    from pglast import parser

    return parser


_parser = _load()

parse_sql_json = _parser.parse_sql_json
parse_plpgsql_json = _parser.parse_plpgsql_json
scan = _parser.scan
ParseError: type[Exception] = _parser.ParseError


def postgresql_major() -> int:
    """The PostgreSQL major version whose grammar this libpg_query speaks."""
    version = _parser.get_postgresql_version()
    return int(version[0] if isinstance(version, tuple) else str(version).split(".")[0])


def grammar_version() -> str:
    """libpg_query's PostgreSQL version (major and minor): which parser judged a file, for lint's cache."""
    version = _parser.get_postgresql_version()
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)
