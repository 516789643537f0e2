"""Passwords are never printed: not in URLs shown, not in driver messages, JSON, or the tracking tables.

Each test runs over the members of the class in ``masking_cases`` (a raw tab or space, unencoded ``@``,
``/``, ``&``, colons, percent-encoding, ``?password=``, ``key=value`` quoting, no user, several hosts...),
not only the issue's example.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from core_helpers import CliRunner, add
from psycopg.conninfo import conninfo_to_dict

from lockgate.conninfo import HIDDEN, display_url, scrub, secret_forms
from lockgate.db import DatabaseTarget, connect, mask_secrets
from lockgate.errors import ConnectionFailed
from masking_cases import BROKEN, EXAMPLE, WORKING, Member, Server, create_role, leaked, stored_rows

SERVER = Server("db.example.com", "5432", "app")
MIGRATION = ("20250101000000_create_t.sql", "CREATE TABLE t (id int);\n")
COMMANDS = (
    ("status",),
    ("status", "--json"),
    ("list", "--json"),
    ("validate", "--json"),
    ("run", "--json"),
    ("run",),
    ("list",),
)


@pytest.fixture(autouse=True)
def _no_pgpassword(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)


def test_the_issue_example_shows_nothing_of_the_password() -> None:
    shown = display_url(EXAMPLE)
    assert shown == "postgresql://u:***@***:1/db"  # libpq reads the host "AtS3cret@127.0.0.1": hidden whole
    with pytest.raises(ConnectionFailed) as failed:
        connect(DatabaseTarget(EXAMPLE, "test"), connect_timeout=2)
    assert "Two" not in str(failed.value) and "AtS3cret" not in str(failed.value)
    assert {"Two@AtS3cret", "AtS3cret", "Two"} <= set(secret_forms(EXAMPLE))


@pytest.mark.parametrize("member", WORKING, ids=str)
def test_display_is_libpqs_parse_without_the_password(member: Member) -> None:
    url = member.url(SERVER, "app")
    shown = display_url(url)
    assert not leaked(member.password, shown), shown
    assert HIDDEN in shown
    parsed, redisplayed = conninfo_to_dict(url), conninfo_to_dict(shown)
    assert redisplayed.pop("password") == HIDDEN and parsed.pop("password") == member.password
    assert redisplayed == parsed  # every other field as libpq reads it


@pytest.mark.parametrize("member", BROKEN, ids=str)
def test_a_string_libpq_misreads_or_rejects_shows_no_part_of_the_password(member: Member) -> None:
    shown = display_url(member.url(SERVER, "app"))
    assert not leaked(member.password, shown), shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:Sp ace S3cretSpace@h/db", "postgresql://(a URL libpq cannot parse)"),
        ("mysql://root:Foreign-S3cret@localhost/db", "mysql://(a URL libpq cannot parse)"),
        ("host=h password='Kv Open S3cret", "(a connection string libpq cannot parse)"),
        ("password=Kv://S3cretScheme host=h port=x y", "(a connection string libpq cannot parse)"),
    ],
)
def test_unparsable_strings_show_only_their_scheme(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_fields_holding_the_password_are_hidden() -> None:
    """A password equal to, or inside, the host or database name hides that field rather than show it."""
    assert (
        display_url("postgresql://app:example@db.example.com/postgres") == "postgresql://app:***@***/postgres"
    )
    assert display_url("postgresql://app:appdb@h:5433/appdb") == "postgresql://app:***@h:5433/***"
    assert display_url("postgresql://u:p/q@h/db") == "postgresql://u:***/***"  # libpq: host u, port p


@pytest.mark.parametrize("member", BROKEN, ids=str)
def test_driver_messages_are_scrubbed_of_every_form(member: Member) -> None:
    """The real libpq message for each misread string (the host it read, the token it choked on)."""
    url = member.url(SERVER, "app")
    with pytest.raises(ConnectionFailed) as failed:
        connect(DatabaseTarget(url, "test"), connect_timeout=2)
    message = str(failed.value)
    assert len(message.splitlines()) == 1
    assert not leaked(member.password, message), message


def test_short_forms_are_scrubbed_only_as_whole_tokens() -> None:
    """Two characters occur in ordinary words: "pw" goes where it stands alone, not out of "password"."""
    url = "postgresql://u:pw@h/db"
    assert scrub('password "pw" rejected; pwd', url) == 'password "***" rejected; pwd'
    assert scrub("connect to postgresql://u:pw@h/db", url) == "connect to postgresql://u:***@h/db"


def test_encoded_and_decoded_forms_are_both_scrubbed() -> None:
    url = "postgresql://u:p%40ss%20W0rdLong@h/db"
    text = "sent p%40ss%20W0rdLong, read p@ss W0rdLong, logged p%40ss+W0rdLong"
    assert scrub(text, url) == "sent ***, read ***, logged ***"


def test_pgpassword_is_scrubbed_when_the_url_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq sends ``PGPASSWORD`` when the string has no password: it must not be printed either."""
    monkeypatch.setenv("PGPASSWORD", "Env:S3cretFromEnv")
    assert mask_secrets("auth with Env:S3cretFromEnv failed", "postgresql://u@h/db") == "auth with *** failed"
    assert mask_secrets("S3cretFromEnv", "") == "***"
    assert "S3cretFromEnv" not in display_url("postgresql://u@h/db?application_name=S3cretFromEnv")


def test_a_target_repr_has_no_password() -> None:
    target = DatabaseTarget("postgresql://u:ReprS3cret@h/db", "test")
    assert "ReprS3cret" not in repr(target) and "ReprS3cret" not in target.masked


@pytest.mark.parametrize("member", WORKING, ids=str)
def test_commands_print_and_store_no_password(
    member: Member, project: Path, lockgate: CliRunner, db_url: str
) -> None:
    add(project, *MIGRATION)
    with create_role(db_url, member.password) as role:
        url = member.url(Server.of(db_url), role)
        for command in COMMANDS:
            result = lockgate(*command, "--database-url", url)
            assert result.code == 0, (command, result.text)
            assert "Traceback" not in result.text
            assert not leaked(member.password, result.out, result.err), (command, result.text)
            if command == ("status", "--json"):
                assert HIDDEN in json.loads(result.out)["database"]
        rows = stored_rows(db_url, "public.schema_migrations", "public.schema_migrations_log")
        assert "20250101000000" in rows and not leaked(member.password, rows)


@pytest.mark.parametrize("member", BROKEN, ids=str)
def test_broken_strings_fail_in_one_line_without_the_password(
    member: Member, project: Path, lockgate: CliRunner
) -> None:
    add(project, *MIGRATION)
    url = member.url(SERVER, "app")
    for command in COMMANDS:
        result = lockgate(*command, "--database-url", url)
        assert result.code == 2, (command, result.text)
        assert result.out == "" and len(result.err.strip().splitlines()) == 1, (command, result.text)
        assert "Traceback" not in result.text
        assert not leaked(member.password, result.out, result.err), (command, result.err)


def test_the_console_script_with_the_issue_example(project: Path) -> None:
    add(project, *MIGRATION)
    env = {**os.environ, "DATABASE_URL": EXAMPLE}
    env.pop("LOCKGATE_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "lockgate", "status", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(
        "error: cannot connect to postgresql://u:***@***:1/db (from DATABASE_URL): "
    )
    assert len(proc.stderr.splitlines()) == 1 and not leaked("Two@AtS3cret", proc.stderr)


def test_a_message_without_its_target_is_scrubbed_of_every_url_this_process_used() -> None:
    """The CLI's last-resort handler for a stray database error does not know the target."""
    from lockgate.db import mask_known_secrets

    url = "postgresql://u:Known@S3cretUsed@127.0.0.1:1/db"
    with pytest.raises(ConnectionFailed):
        connect(DatabaseTarget(url, "test"), connect_timeout=2)
    assert mask_known_secrets("server said S3cretUsed@127.0.0.1 and Known@S3cretUsed") == (
        "server said ***@127.0.0.1 and ***"
    )


def test_the_embedded_server_is_named_not_shown_as_its_socket_url(tmp_path: Path) -> None:
    from lockgate.db import DatabaseTarget
    from lockgate.service import _embedded_name

    local = tmp_path / ".lockgate"
    (local / "pgdata").mkdir(parents=True)
    assert _embedded_name(local) == "embedded PostgreSQL in .lockgate/"  # no data directory version yet
    (local / "pgdata" / "PG_VERSION").write_text("18\n", encoding="ascii")
    assert _embedded_name(local) == "embedded PostgreSQL 18 in .lockgate/"
    url = f"postgresql://postgres:@/lockgate?host={local}/run&port=5432"
    target = DatabaseTarget(url, "embedded PostgreSQL", embedded=True, shown_as=_embedded_name(local))
    assert target.masked == "embedded PostgreSQL 18 in .lockgate/"
    assert DatabaseTarget(url, "--database-url").masked.startswith("postgresql://postgres@/lockgate")
