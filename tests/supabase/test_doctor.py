"""``lockgate doctor``: one test per diagnosis, and the password never appears in the output.

Wrong passwords and the transaction-mode pooler are tested through a real PgBouncer (Debian's package)
in transaction mode with password authentication, in front of the test server.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cli_runner import CliResult

pytestmark = pytest.mark.db

Lockgate = Callable[..., CliResult]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lines_of(result: CliResult) -> dict[str, str]:
    """check name -> its line (status and detail) from doctor's output."""
    found = {}
    for line in result.out.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] in {"ok", "warn", "fail", "skip"}:
            found[parts[1]] = line
    return found


def test_healthy_database(lockgate: Lockgate, db_url: str) -> None:
    result = lockgate("doctor", "--database-url", db_url)
    assert result.code == 0, result.text
    checks = lines_of(result)
    for name in ("url", "auth", "server", "permissions", "pooler"):
        assert checks[name].startswith("ok"), result.out
    assert "no transaction-mode pooler" in checks["pooler"]


def test_refused_port(lockgate: Lockgate) -> None:
    result = lockgate(
        "doctor", "--database-url", f"postgresql://app:s3cr3t-pw@127.0.0.1:{_free_port()}/postgres"
    )
    assert result.code == 1
    checks = lines_of(result)
    assert checks["tcp"].startswith("fail") and "refused the connection" in checks["tcp"]
    assert "6543 transaction pooler" in result.out
    assert "auth" not in checks and "s3cr3t-pw" not in result.text
    assert "postgresql://app:***@127.0.0.1" in result.out


def test_unknown_host(lockgate: Lockgate) -> None:
    result = lockgate(
        "doctor", "--database-url", "postgresql://app:s3cr3t-pw@no-such-host.invalid:5432/postgres"
    )
    assert result.code == 1
    checks = lines_of(result)
    assert checks["dns"].startswith("fail") and "does not resolve" in checks["dns"]
    assert "tcp" not in checks and "s3cr3t-pw" not in result.text


def test_password_with_an_unencoded_at_sign(lockgate: Lockgate) -> None:
    result = lockgate("doctor", "--database-url", "postgresql://app:p4ss@word9@db.example.com:5432/postgres")
    assert result.code == 1
    assert lines_of(result)["url"].startswith("fail") and "@ → %40" in result.out
    assert "p4ss" not in result.text and "word9" not in result.text


def test_wrong_password_through_pgbouncer(lockgate: Lockgate, pgbouncer: object, tcp_url: str) -> None:
    database = str(conninfo_to_dict(tcp_url)["dbname"])
    url = pgbouncer.url(database, password="Wr0ng-Secret")  # type: ignore[attr-defined]
    result = lockgate("doctor", "--database-url", url)
    assert result.code == 1, result.text
    checks = lines_of(result)
    assert checks["tcp"].startswith("ok") and checks["auth"].startswith("fail"), result.out
    assert "password authentication failed" in checks["auth"]
    assert "wrong password: reset it" in result.out
    assert "Wr0ng-Secret" not in result.text and pgbouncer.password not in result.text  # type: ignore[attr-defined]


def test_transaction_pooler_is_recognised(lockgate: Lockgate, pgbouncer: object, tcp_url: str) -> None:
    database = str(conninfo_to_dict(tcp_url)["dbname"])
    result = lockgate("doctor", "--database-url", pgbouncer.url(database))  # type: ignore[attr-defined]
    assert result.code == 0, result.text
    pooler = lines_of(result)["pooler"]
    assert pooler.startswith("warn") and "transaction-mode pooler" in pooler and "backend pids" in pooler
    assert "use the direct database URL" in result.out
    assert pgbouncer.password not in result.text  # type: ignore[attr-defined]


def test_run_through_a_transaction_pooler(
    lockgate: Lockgate, pgbouncer: object, tcp_url: str, sb_project: Path, db_url: str
) -> None:
    """Transactional files are pooler-safe and run; a file outside a transaction is refused, naming the fix."""
    database = str(conninfo_to_dict(tcp_url)["dbname"])
    url = pgbouncer.url(database)  # type: ignore[attr-defined]
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_table.sql").write_text(
        "CREATE TABLE public.t (id int);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n", "utf-8"
    )
    first = lockgate("run", "--database-url", url)
    assert first.code == 0, first.text
    (migrations / "20250102000000_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY t_id_idx ON public.t (id);\n", "utf-8"
    )
    refused = lockgate("run", "--database-url", url)
    assert refused.code == 2, refused.text
    assert "20250102000000_index.sql runs outside a transaction" in refused.err
    assert "transaction-mode pooler" in refused.err and "use the direct database URL" in refused.err
    assert pgbouncer.password not in refused.text  # type: ignore[attr-defined]
    direct = lockgate("run", "--database-url", db_url)
    assert direct.code == 0, direct.text


def test_role_without_create_permission(lockgate: Lockgate, db_url: str, pg_server_url: str) -> None:
    role = f"lg_doctor_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(db_url).items() if v is not None}
        params["user"] = role
        with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
            can_create = conn.execute("SELECT has_schema_privilege('public', 'CREATE')").fetchone()
        if can_create and can_create[0]:
            pytest.skip("this server lets every role create in schema public (PostgreSQL < 15 defaults)")
        result = lockgate("doctor", "--database-url", make_conninfo(**params))
        assert result.code == 1, result.text
        permissions = lines_of(result)["permissions"]
        assert permissions.startswith("fail") and "may not create public.schema_migrations" in permissions
        assert f"GRANT CREATE ON SCHEMA public TO {role}" in result.out
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_another_scheme_is_named_without_its_password(lockgate: Lockgate) -> None:
    result = lockgate("doctor", "--database-url", "mysql://root:hunter22@localhost/db")
    assert result.code == 1 and "the URL starts with mysql://" in result.out
    assert "hunter22" not in result.text and "Traceback" not in result.text


def test_server_without_tls_when_the_url_requires_it(lockgate: Lockgate, tcp_url: str) -> None:
    url = tcp_url.replace("sslmode=disable", "sslmode=require")
    result = lockgate("doctor", "--database-url", url)
    assert result.code == 1, result.text
    checks = lines_of(result)
    assert checks["tls"].startswith("fail") and "does not offer TLS" in checks["tls"]
    assert checks["auth"].startswith("fail")
    relaxed = lines_of(lockgate("doctor", "--database-url", tcp_url))
    assert relaxed["tls"].startswith("warn") and "unencrypted" in relaxed["tls"]


def test_supavisor_user_name(lockgate: Lockgate) -> None:
    url = "postgresql://postgres:s3cr3t-pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"
    result = lockgate("doctor", "--database-url", url)
    assert result.code == 1
    assert "Supavisor needs the user name postgres.<project-ref>" in lines_of(result)["url"]
    assert "s3cr3t-pw" not in result.text


def test_ipv6_only_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Free-plan direct hosts resolve to IPv6 only; the fix names the session pooler."""
    from lockgate.supabase import doctor

    def only_ipv6(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2a05:d014::1", port, 0, 0))]

    monkeypatch.setattr(doctor.socket, "getaddrinfo", only_ipv6)
    endpoint = doctor.parse_endpoint("postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres")
    check = doctor._check_dns(endpoint)
    assert check.status == doctor.WARN and "IPv6 only" in check.detail and "session pooler" in check.fix
