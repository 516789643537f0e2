"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright) against a live server.

Kept to a few end-to-end journeys: sign in, see what is pending, run it, see it applied and in the history;
and a failing migration showing its error. Set ``LOCKGATE_SCREENSHOTS=docs/img`` to refresh the README's
screenshots.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ADMIN_TOKEN, add, make_jwt
from live_server import LiveServers
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path(os.environ.get("LOCKGATE_CHROMIUM", "/usr/bin/chromium"))
SAMPLE = Path(__file__).resolve().parents[2] / "migrations"

pytestmark = [
    pytest.mark.db,
    pytest.mark.slow,
    # Skipped on a laptop without Chromium; on CI (CI=true) a missing browser is a failure, never a skip.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing: run .ci/install-browser.sh (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing on CI: .ci/run must call .ci/install-browser.sh")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def live_url(servers: LiveServers, db_url: str) -> str:
    """The dashboard for the test's project and database."""
    return servers.start(db_url)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    errors: list[str] = []
    missing: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on(
        "response",
        lambda response: (
            missing.append(response.url) if response.status == 404 and "/api/" not in response.url else None
        ),
    )
    yield opened
    context.close()
    # A CSP violation or a script error shows up here; 401/422 answers the app expects are logged as
    # "Failed to load resource", which is the browser's notice, not ours — but no page resource (the
    # favicon included) may be missing.
    assert [e for e in errors if "Failed to load resource" not in e] == []
    assert missing == []


def screenshot(page: Page, name: str) -> None:
    directory = os.environ.get("LOCKGATE_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / name), full_page=True)


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")


def test_sign_in_run_pending_and_see_the_history(page: Page, live_url: str, project: Path) -> None:
    shutil.copytree(SAMPLE, project / "migrations", dirs_exist_ok=True)
    pending = sorted(p.stem for p in (project / "migrations").glob("*.sql"))

    sign_in(page, live_url, make_jwt())
    expect(page.locator("#health")).to_have_text("Pending")
    expect(page.locator("#pending > li")).to_have_count(len(pending))
    expect(page.locator("#history-empty")).to_be_visible()
    expect(page.locator("#chart .empty")).to_have_text(
        "No migration has run yet: the chart fills in as migrations are applied."
    )

    page.click("#run")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text(f"{len(pending)} pending migration(s)")
    page.click("#confirm button[value=cancel]")
    expect(page.locator("#health")).to_have_text("Pending")

    page.click("#run")
    page.click("#confirm-ok")
    expect(page.locator("#result")).to_contain_text(f"applied {len(pending)} migration(s)")
    expect(page.locator("#health")).to_have_text("Healthy")
    expect(page.locator("#pending > li")).to_have_text(
        ["Nothing pending: every migration file has been applied."]
    )
    rows = page.locator("#history tbody tr")
    expect(rows.first).to_contain_text("api-run")
    expect(rows).to_have_count(len(pending) + 1)
    expect(rows.nth(1)).to_contain_text(pending[-1])
    expect(page.locator("#chart rect")).to_have_count(len(pending))
    expect(page.locator("#run")).to_be_disabled()
    screenshot(page, "dashboard.png")

    # Kept for the tab only: a reload stays signed in, a new tab (context) asks again.
    page.reload()
    expect(page.locator("#health")).to_have_text("Healthy")
    other = page.context.browser
    assert other is not None
    fresh = other.new_page()
    fresh.goto(live_url)
    expect(fresh.locator("#login")).to_be_visible()
    fresh.close()

    page.click("#validate")
    expect(page.locator("#result")).to_contain_text(f"{len(pending)} migration file(s) checked: 0 error(s)")
    edited = project / "migrations" / f"{pending[0]}.sql"
    original = edited.read_text()
    edited.write_text(original + "\n-- reviewed after it ran\n")
    page.click("#validate")
    expect(page.locator("#result")).to_contain_text("0 error(s), 1 warning(s)")
    expect(page.locator("#problems li.warning")).to_contain_text("cosmetic-edit")
    edited.write_text(original + "\nCREATE TABLE added_after_it_ran (id int);\n")
    page.click("#validate")
    expect(page.locator("#result")).to_contain_text("1 error(s)")
    expect(page.locator("#health")).to_have_text("Checksum drift")
    expect(page.locator("#problems li.error")).to_contain_text("checksum-mismatch")

    page.click("#sign-out")
    sign_in(page, live_url, "wrong-token-0123456789")
    expect(page.locator("#banner")).to_contain_text("Sign-in refused")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()


def test_failing_migration_shows_its_error(page: Page, live_url: str, project: Path) -> None:
    add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint PRIMARY KEY);\n")
    add(
        project,
        "20250102000000_backfill_notification_preferences_for_existing_accounts.sql",
        "-- the table is misspelt\n\nALTER TABLE notes ADD COLUMN body text;\nALTER TABLE missing\n  ADD COLUMN x int;\n",
    )
    sign_in(page, live_url, ADMIN_TOKEN)
    expect(page.locator("#pending > li")).to_have_count(2)
    page.click("#run")
    page.click("#confirm-ok")
    result = page.locator("#result")
    expect(result).to_contain_text(
        '20250102000000_backfill_notification_preferences_for_existing_accounts.sql:4: relation "missing" does not exist'
    )
    expect(result).to_contain_text("SQLSTATE 42P01")
    expect(page.locator("#health")).to_have_text("Failed")
    expect(page.locator("#history tbody tr").first).to_contain_text("api-run")
    expect(page.locator("#history tbody tr").first).to_contain_text('relation "missing" does not exist')
    expect(page.locator("#chart rect.bar-failed")).to_have_count(1)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#health")).to_have_text("Failed")
    expect(page.locator("#chart rect")).to_have_count(2)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways on a phone by {overflow}px"
    clipped = page.evaluate(
        """[...document.querySelectorAll('#history td, #result, #result pre, .problems li, .scroll')]
             .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className || e.tagName)"""
    )
    assert clipped == [], f"text cut off at phone width in {clipped}"
    screenshot(page, "dashboard-phone-failed.png")


def test_the_favicon_is_served(page: Page, live_url: str) -> None:
    page.goto(live_url)
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon == "/static/favicon.svg"
    for path in (icon, "/favicon.ico"):
        answer = page.request.get(live_url.rstrip("/") + path)
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")


def test_empty_and_error_states(page: Page, servers: LiveServers, db_url: str) -> None:
    sign_in(page, servers.start(db_url), ADMIN_TOKEN)
    expect(page.locator("#health")).to_have_text("Empty")
    expect(page.locator("#pending li.empty")).to_contain_text("No migration files in")
    expect(page.locator("#run")).to_be_disabled()

    unreachable = servers.start("postgresql://app:pw-s3cret@127.0.0.1:1/postgres")
    sign_in(page, unreachable, ADMIN_TOKEN)
    expect(page.locator("#banner")).to_contain_text(
        "cannot connect to postgresql://app:***@127.0.0.1:1/postgres"
    )
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator("#retry")).to_be_visible()
    assert "pw-s3cret" not in page.content()
    page.click("#retry")
    expect(page.locator("#banner")).to_contain_text("cannot connect")


def test_pending_list_shows_what_the_lint_gate_will_say(page: Page, live_url: str, project: Path) -> None:
    (project / "migrations" / "20250101000000_orders.sql").write_text("CREATE TABLE orders (id bigint);\n")
    (project / "migrations" / "20250102000000_customer.sql").write_text(
        "CREATE TABLE customers (id bigint);\nDO $$\nBEGIN\n  COMMIT;\nEND $$;\n"
    )
    sign_in(page, live_url, ADMIN_TOKEN)
    expect(page.locator("#pending > li")).to_have_count(2)
    finding = page.locator('#pending > li[data-id="20250102000000_customer"] ul.findings li.error')
    expect(finding).to_contain_text("[transaction-control-in-do]")
    expect(page.locator('#pending > li[data-id="20250101000000_orders"] ul.findings')).to_have_count(0)


def test_pending_list_shows_the_locks_each_file_takes(page: Page, live_url: str, project: Path) -> None:
    (project / "migrations" / "20250101000000_orders.sql").write_text(
        "CREATE TABLE orders (id bigint);\nCREATE INDEX orders_id ON orders (id);\n"
    )
    (project / "migrations" / "20250102000000_truncate.sql").write_text(
        "TRUNCATE orders;\nLOCK TABLE public.customers IN SHARE MODE;\n"
    )
    sign_in(page, live_url, ADMIN_TOKEN)
    expect(page.locator("#pending > li")).to_have_count(2)
    locks = page.locator('#pending > li[data-id="20250102000000_truncate"] div.locks')
    expect(locks).to_have_text("locks: SHARE on customers")  # orders is created by the pending file before it
    expect(page.locator('#pending > li[data-id="20250101000000_orders"] div.locks')).to_have_count(0)


def test_the_fleet_card_shows_each_target_and_reads_on_a_phone(
    page: Page, servers: LiveServers, db_url: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(project, "20250101000000_orders.sql", "CREATE TABLE orders (id bigint);\n")
    monkeypatch.setenv("DASH_FLEET_STAGING", db_url)
    (project / "lockgate.toml").write_text(
        '[targets.staging]\nurl_env = "DASH_FLEET_STAGING"\n\n'
        '[targets.tenant-with-a-rather-long-name-0001]\nurl_env = "DASH_FLEET_MISSING_VARIABLE_FOR_THIS_TENANT"\nwave = 1\n',
        encoding="utf-8",
    )
    sign_in(page, servers.start(db_url), ADMIN_TOKEN)
    expect(page.locator("#fleet-card")).to_be_visible()
    expect(page.locator("#fleet tbody tr")).to_have_count(2)
    expect(page.locator("#fleet tbody tr").first).to_contain_text("staging")
    expect(page.locator("#fleet tbody tr").nth(1)).to_contain_text(
        "DASH_FLEET_MISSING_VARIABLE_FOR_THIS_TENANT"
    )
    expect(page.locator("#fleet-groups")).to_contain_text("1 target(s) pending from 20250101000000")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#fleet-card")).to_be_visible()
    clipped = page.evaluate(
        """[...document.querySelectorAll('#fleet td, #fleet-card .scroll, #fleet-groups li')]
             .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 40))"""
    )
    assert clipped == [], f"text cut off at phone width in {clipped}"


def test_without_targets_there_is_no_fleet_card(page: Page, live_url: str) -> None:
    sign_in(page, live_url, ADMIN_TOKEN)
    expect(page.locator("#health")).not_to_be_empty()
    expect(page.locator("#fleet-card")).to_be_hidden()


def test_the_drift_card_checks_on_request_and_lists_what_was_changed_by_hand(
    page: Page, servers: LiveServers, db_url: str, project: Path, pg_server_url: str
) -> None:
    """The card never builds a shadow by itself (GET /api/drift reads the last check); the button does, and
    a column added by hand shows as a row, readable on a phone."""
    import psycopg
    from api_helpers import JWT_SECRET

    from lockgate.api.settings import ApiSettings, parse_admin_tokens

    add(project, "20250101000000_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY);\n")
    settings = ApiSettings(
        admin_token_digests=parse_admin_tokens(ADMIN_TOKEN),
        jwt_secret=JWT_SECRET,
        shadow_database_url=pg_server_url,
    )
    url = servers.start(db_url, settings)
    sign_in(page, url, ADMIN_TOKEN)
    expect(page.locator("#drift-text")).to_contain_text("Not checked yet")
    page.click("#run")
    page.click("#confirm button[value=ok]")
    expect(page.locator("#health")).to_have_text("Healthy")
    page.click("#check-drift")
    expect(page.locator("#drift-text")).to_contain_text("No drift", timeout=60_000)
    expect(page.locator("#drift")).to_be_hidden()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN note_added_in_the_sql_editor_by_someone text")
    page.click("#check-drift")
    expect(page.locator("#drift-text")).to_contain_text("1 difference(s)", timeout=60_000)
    expect(page.locator("#drift tbody tr")).to_have_count(1)
    expect(page.locator("#drift tbody tr").first).to_contain_text(
        "column public.orders.note_added_in_the_sql_editor_by_someone"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#drift tbody tr")).to_have_count(1)  # the last check, read back without a new one
    clipped = page.evaluate(
        """[...document.querySelectorAll('#drift td, #drift-card .scroll, #drift-text')]
             .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 40))"""
    )
    assert clipped == [], f"text cut off at phone width in {clipped}"
