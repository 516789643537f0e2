"""``lockgate github mask`` registers every form of the password a log could show; lockgate's own lines,
the job summary and the step outputs never contain any of them.

The runner's masking is simulated as documented: each registered value (after the workflow-command
unescaping) is replaced wherever it occurs in a later log line. The texts fed to it are what another step
could print: the URL itself, the password raw and encoded, and libpq's own (unscrubbed) error messages.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import psycopg
import pytest

from lockgate.github.workflow import Workflow
from masking_cases import BROKEN, EXAMPLE, WORKING, Member, Server, leaked

UNREACHABLE = Server("127.0.0.1", "1", "app")


def registered(out: str) -> list[str]:
    """The values the runner masks: each ``::add-mask::`` line, unescaped as the runner does."""
    lines = out.splitlines()
    assert all(line.startswith("::add-mask::") for line in lines)
    return [
        line.removeprefix("::add-mask::").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        for line in lines
    ]


def runner_log(text: str, masks: list[str]) -> str:
    for mask in sorted(masks, key=len, reverse=True):
        text = text.replace(mask, "***")
    return text


def libpq_message(url: str) -> str:
    """What psycopg says about ``url``, unscrubbed (another step's script might print it)."""
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error as exc:
        return str(exc)
    raise AssertionError(f"{url!r} connected")


@pytest.mark.parametrize("member", [*WORKING, *BROKEN], ids=str)
def test_masks_hide_every_form_another_step_could_print(member: Member) -> None:
    url = member.url(UNREACHABLE, "app")
    out = io.StringIO()
    Workflow([url], out=out).add_masks()
    masks = registered(out.getvalue())
    password = member.password
    printed = [
        url,
        password,
        quote(password, safe=""),
        quote_plus(password),
        json.dumps(password),
        libpq_message(url),
    ]
    for text in printed:
        assert not leaked(password, runner_log(text, masks)), (text, masks)


def test_the_issues_example_is_registered_whole_and_in_pieces() -> None:
    out = io.StringIO()
    Workflow([EXAMPLE], out=out).add_masks()
    assert {EXAMPLE, "Two@AtS3cret", "Two%40AtS3cret", "AtS3cret", "Two"} <= set(registered(out.getvalue()))


def test_a_multi_line_password_is_registered_line_by_line() -> None:
    """The runner matches within one log line, so each line of a value is registered on its own too."""
    out = io.StringIO()
    Workflow(["host=h password='First-Line\nSecond-Line'"], out=out).add_masks()
    masks = registered(out.getvalue())
    assert {"First-Line\nSecond-Line", "First-Line", "Second-Line"} <= set(masks)
    assert all("\n" not in line for line in out.getvalue().splitlines()[:-1])


def test_pgpassword_is_registered_when_the_url_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "Env S3cretFromEnv")
    out = io.StringIO()
    Workflow(["postgresql://u@h/db"], out=out).add_masks()
    assert {"Env S3cretFromEnv", "S3cretFromEnv"} <= set(registered(out.getvalue()))


def test_forms_under_three_characters_are_not_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner would blank those letters in every word of the log; lockgate's own lines still hide
    them where they stand alone."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    out = io.StringIO()
    url = "postgresql://u:pw@h/db"
    workflow = Workflow([url], out=out)
    workflow.add_masks()
    assert registered(out.getvalue()) == [url]
    workflow.echo('password "pw" rejected for postgresql://u:pw@h/db')
    assert out.getvalue().splitlines()[-1] == 'password "***" rejected for postgresql://u:***@h/db'


@pytest.mark.parametrize("member", BROKEN, ids=str)
def test_annotations_summary_and_outputs_hold_no_fragment(member: Member, tmp_path: Path) -> None:
    url = member.url(UNREACHABLE, "app")
    out, summary, outputs = io.StringIO(), tmp_path / "summary.md", tmp_path / "outputs"
    workflow = Workflow([url], out=out, output_file=outputs, summary_file=summary)
    message = f"cannot connect to {url}: {libpq_message(url)}"
    workflow.annotate("error", message, file="a.sql", line=1)
    workflow.summary(message)
    workflow.set_output("error", message)
    texts = [out.getvalue(), summary.read_text(), outputs.read_text()]
    assert not leaked(member.password, *texts), texts
    assert out.getvalue().startswith("::error file=a.sql,line=1::cannot connect to ")
