#!/usr/bin/env bash
# Build the demo observatory from nothing, the way an analyst would, with the public CLI:
# generate the synthetic city, import it, compute indicators, survey layers and the markers
# (uim-basic at three levels, uim-extended at barrio level), the planner's projects and plan,
# workshops, a second period, publish, then clusters, the programme and the Human Mobility
# Profiles (after publish: they withhold what the web withholds).
# The command lines themselves (each one an 'inclusive-cities …' line an analyst can type)
# are in src/inclusive_cities/cli/demo_build.py: 'demo build' runs them in one process, so the
# interpreter and its imports start once, not 24 times (issue #21), and prints each step's time.
# Usage: scripts/build-demo.sh DIR SIZE DATABASE_URL [--serve]
set -euo pipefail
dir=$(realpath -m "${1:-demo-data}")
size=${2:-medium}
db=${3:-sqlite:///$dir/observatory.db}
ic() { .venv/bin/inclusive-cities --database "$db" "$@"; }

ic demo build "$dir" --size "$size"
if [ "${4:-}" = "--serve" ]; then
  export INCLUSIVE_CITIES_DATA_DIR="$dir/observatory-data"
  echo
  echo "Observatorio de demostración / demo observatory: http://127.0.0.1:${PORT:-8000}  (Ctrl-C para detener / to stop)"
  ic serve --host 127.0.0.1 --port "${PORT:-8000}"
fi
