"""lockgate: safe PostgreSQL schema migrations from laptop to production."""

__version__ = "0.1.0"
