"""Inline suppressions: next-statement, trailing, file-level, unknown and unused ignores."""

from __future__ import annotations

from lint_helpers import lint_sql


def rules_at(sql: str, lint: dict[str, object] | None = None) -> list[tuple[str, int, int]]:
    return [(f.rule_id, f.line, f.column) for f in lint_sql(sql, lint)]


def test_comment_before_statement_suppresses_it() -> None:
    sql = "-- lockgate-ignore: index-without-concurrently\nCREATE INDEX i ON t (a);\nCREATE INDEX j ON t (b);"
    assert rules_at(sql) == [("index-without-concurrently", 3, 1)]


def test_comment_applies_to_next_statement_even_after_blank_lines_and_comments() -> None:
    sql = (
        "SELECT 1;\n-- lockgate-ignore: index-without-concurrently\n\n-- why: tiny table\n"
        "CREATE INDEX i ON t (a);"
    )
    assert rules_at(sql) == []


def test_trailing_comment_suppresses_statement_on_its_line() -> None:
    sql = "CREATE INDEX i ON t (a); -- lockgate-ignore: index-without-concurrently\nCREATE INDEX j ON t (b);"
    assert rules_at(sql) == [("index-without-concurrently", 2, 1)]


def test_ignore_covers_a_finding_on_a_later_line_of_a_multiline_statement() -> None:
    sql = (
        "-- lockgate-ignore: volatile-default\nALTER TABLE t\n  ADD COLUMN id uuid DEFAULT gen_random_uuid();"
    )
    assert rules_at(sql) == []


def test_several_rules_in_one_comment() -> None:
    sql = (
        "-- lockgate-ignore: add-column-with-references, volatile-default\n"
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid() REFERENCES u (id);"
    )
    assert rules_at(sql) == []


def test_file_level_ignore_covers_every_statement_but_only_its_rules() -> None:
    sql = "-- lockgate-ignore-file: index-without-concurrently\nCREATE INDEX i ON t (a);\nDROP INDEX j;"
    assert rules_at(sql) == [("drop-index-without-concurrently", 3, 1)]


def test_unknown_rule_in_ignore_is_reported() -> None:
    sql = "-- lockgate-ignore: index-without-concurently\nCREATE INDEX i ON t (a);"
    assert rules_at(sql) == [("unknown-ignore", 1, 1), ("index-without-concurrently", 2, 1)]


def test_unused_ignore_is_reported_as_warning() -> None:
    sql = "  -- lockgate-ignore: index-without-concurrently\nCREATE INDEX CONCURRENTLY i ON t (a);"
    (finding,) = lint_sql(sql)
    assert (finding.rule_id, finding.line, finding.column) == ("unused-ignore", 1, 3)
    assert finding.severity.value == "warning"
    assert "index-without-concurrently" in finding.message


def test_unused_file_level_ignore_and_ignore_at_end_of_file() -> None:
    sql = "-- lockgate-ignore-file: vacuum-full\nSELECT 1;\n-- lockgate-ignore: cluster\n"
    assert rules_at(sql) == [("unused-ignore", 1, 1), ("unused-ignore", 3, 1)]


def test_ignore_of_a_disabled_rule_is_not_reported_unused() -> None:
    sql = "-- lockgate-ignore: set-not-null\nSELECT 1;"
    assert rules_at(sql, {"ignore": ["set-not-null"]}) == []


def test_marker_inside_a_string_is_not_a_comment() -> None:
    sql = "SELECT '-- lockgate-ignore: index-without-concurrently';\nCREATE INDEX i ON t (a);"
    assert rules_at(sql) == [("index-without-concurrently", 2, 1)]


def test_unused_ignore_can_itself_be_ignored_file_wide() -> None:
    sql = "-- lockgate-ignore-file: unused-ignore\n-- lockgate-ignore: cluster\nSELECT 1;"
    assert rules_at(sql) == []


def test_ignores_in_a_file_that_does_not_parse_are_not_reported_unused() -> None:
    sql = "-- lockgate-ignore: cluster\nSELEC 1;"
    assert rules_at(sql) == [("syntax-error", 2, 1)]


def test_a_reason_may_follow_the_rule_ids() -> None:
    sql = (
        "-- lockgate-ignore: index-without-concurrently volatile-default -- table has 10 rows\n"
        "CREATE INDEX i ON t (a);\n"
        "-- lockgate-ignore: cluster # nightly job owns this table\n"
        "CLUSTER t;"
    )
    assert rules_at(sql) == [("unused-ignore", 1, 1)]
    (finding,) = lint_sql(sql)
    assert "volatile-default" in finding.message
