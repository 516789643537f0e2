"""Re-take the dashboard screenshots in docs/img from a real run of the sample project.

Usage (on demand, needs Chromium and the embedded PostgreSQL)::

    .venv/bin/python .ci/screenshots.py

It copies ``migrations/`` to /srv/acme-app (a path that reads like a real project's in the header), serves
it with ``lockgate serve`` on the embedded PostgreSQL, signs in, runs every migration from the dashboard,
and saves the desktop and phone views.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PROJECT = Path("/srv/acme-app")
PORT = 8799
TOKEN = "screenshot-token-0123456789"


def main() -> int:
    shutil.rmtree(PROJECT, ignore_errors=True)
    shutil.copytree(ROOT / "migrations", PROJECT / "migrations")
    lockgate = [sys.executable, "-m", "lockgate"]
    server = subprocess.Popen(
        [*lockgate, "serve", "--port", str(PORT)],
        cwd=PROJECT,
        env={**os.environ, "LOCKGATE_ADMIN_TOKENS": TOKEN},
    )
    url = f"http://127.0.0.1:{PORT}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("LOCKGATE_CHROMIUM", "/usr/bin/chromium")
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.fill("#token", TOKEN)
            page.click("#login-form button[type=submit]")
            expect(page.locator("#pending > li")).to_have_count(
                len(list((PROJECT / "migrations").glob("*.sql")))
            )
            page.click("#run")
            page.click("#confirm-ok")
            expect(page.locator("#health")).to_have_text("Healthy", timeout=30_000)
            page.screenshot(path=str(ROOT / "docs/img/dashboard.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            expect(page.locator("#health")).to_have_text("Healthy")
            page.screenshot(path=str(ROOT / "docs/img/dashboard-phone.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
        subprocess.run([*lockgate, "local", "stop"], cwd=PROJECT, check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
