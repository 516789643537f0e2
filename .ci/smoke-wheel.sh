#!/usr/bin/env bash
# Build the wheel and the sdist, install the wheel (not the checkout) into a clean venv, and smoke-test it as a
# user would: lint, the embedded default `run`, and `serve` answering /api/openapi.json. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
cleanup() {
  kill "${server:-}" 2>/dev/null || true
  # The embedded server keeps running between commands (like `supabase start`): stop it, then be sure.
  (cd "$work/project" 2>/dev/null && "$work/venv/bin/lockgate" local stop >/dev/null 2>&1) || true
  pid_file="$work/project/.lockgate/pgdata/postmaster.pid"
  if [ -f "$pid_file" ]; then kill -INT "$(head -n 1 "$pid_file")" 2>/dev/null || true; sleep 1; fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/build" && "$work/build/bin/pip" install -q build 2>/dev/null
"$work/build/bin/python" -m build --sdist --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
wheel="$(ls "$work"/dist/lockgate-*.whl)"
ls "$work"/dist/lockgate-*.tar.gz >/dev/null
if "$work/build/bin/pip" install -q twine 2>/dev/null; then
  "$work/build/bin/twine" check --strict "$work"/dist/*
else
  echo "twine is not installable here (offline index): skipping twine check" >&2
fi

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "${wheel}[local,server]"
mkdir -p "$work/project" && cp -r migrations "$work/project/"
cd "$work/project"
"$work/venv/bin/lockgate" --version
"$work/venv/bin/lockgate" lint migrations >/dev/null || [ $? -eq 1 ]
"$work/venv/bin/lockgate" run
"$work/venv/bin/lockgate" status --exit-code
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/venv/bin/lockgate" serve --port "$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/api/openapi.json" -o "$work/openapi.json" 2>/dev/null; then break; fi
  sleep 0.5
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["openapi"].startswith("3"), d' "$work/openapi.json"
echo "wheel smoke test passed: $(basename "$wheel")"
