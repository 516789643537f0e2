"""The hooks run on every commit: guard their start-up against heavy imports creeping in."""

from __future__ import annotations

import json
import subprocess
import sys

from hookrepo import Repo

HEAVY = [
    "click",
    "typing",
    "pglast",
    "psycopg",
    "rich",
    "lockgate.runner",
    "lockgate.history",
    "lockgate.source",
]
PROBE = """
import json, sys
import lockgate.hooks.immutable, lockgate.hooks.naming
codes = [
    lockgate.hooks.naming.main(["migrations/20250102000000_add_orders.sql"]),
    lockgate.hooks.immutable.main(["migrations/20250102000000_add_orders.sql"]),
]
print(json.dumps({"codes": codes, "loaded": [name for name in sys.argv[1:] if name in sys.modules]}))
"""


def test_hook_modules_import_nothing_heavy_for_an_added_migration(repo: Repo) -> None:
    repo.write("migrations/20250101000000_init.sql")
    repo.commit()
    repo.write("migrations/20250102000000_add_orders.sql")
    repo.stage("migrations/20250102000000_add_orders.sql")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY], cwd=repo.root, capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"codes": [0, 0], "loaded": []}
