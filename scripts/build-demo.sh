#!/usr/bin/env bash
# Build the demo observatory from nothing, the way an analyst would, with the public CLI:
# generate the synthetic city, import it, compute indicators, survey layers and the markers
# (uim-basic at three levels, uim-extended at barrio level).
# Usage: scripts/build-demo.sh DIR SIZE DATABASE_URL [--serve]
set -euo pipefail
dir=$(realpath -m "${1:-demo-data}")
size=${2:-medium}
db=${3:-sqlite:///$dir/observatory.db}
ic() { .venv/bin/inclusive-cities --database "$db" "$@"; }

mkdir -p "$dir"
export INCLUSIVE_CITIES_DATA_DIR="$dir/observatory-data"
if [ ! -f "$dir/city/$size.done" ]; then
  rm -rf "$dir/city" "$dir/observatory.db"* "$INCLUSIVE_CITIES_DATA_DIR"
  ic demo generate --out "$dir/city" --size "$size"
  touch "$dir/city/$size.done"
fi
ic init
ic demo load "$dir/city"
# migration-governance assessments (city 2022 and 2024, country 2024) through the template;
# the 2024 score becomes uim-extended's migration_governance_score
ic governance demo --city DEMO
ic indicators compute --city DEMO --period 2024
for level in localidad manzana; do
  ic marker build --city DEMO --period 2024 --spec uim-basic --level "$level"
done
# regenerated with the city, and when it predates the extended marker's questions (v2)
if [ ! -f "$dir/survey/$size.v2.done" ] || [ "$dir/city/$size.done" -nt "$dir/survey/$size.v2.done" ]; then
  rm -rf "$dir/survey"
  ic survey demo "$dir/city/boundaries.gpkg" --out "$dir/survey"
  touch "$dir/survey/$size.v2.done"
fi
ic survey import "$dir/survey/form.xlsx" "$dir/survey/data.xlsx" --city DEMO --period 2024 \
  --design "$dir/survey/design.yaml" --boundaries "$dir/city/boundaries.gpkg"
# the catalogue's survey entries (record: survey) become barrio observations
ic survey layers --city DEMO --period 2024 --survey encuesta_migrantes_demo --level barrio
# the extended marker: basic UIM + governance area + refugee and migrant survey layers.
# Built but not published: 'publish' takes the latest run, which must stay the basic one.
ic marker build --city DEMO --period 2024 --spec uim-extended --level barrio
# the neighbourhood (barrio) basic run is built last: it is the one published on the web
ic marker build --city DEMO --period 2024 --spec uim-basic --level barrio --uncertainty 256
# candidate projects for the planner (plan prioritise, the planner page): a planner's GeoPackage,
# stored with the beneficiaries of each project's catchment at barrio level
ic plan demo-projects "$dir/city/boundaries.gpkg" --out "$dir/city/proyectos.gpkg"
ic plan import-projects --city DEMO --projects "$dir/city/proyectos.gpkg" --level barrio --period 2024
ic workshop demo --city DEMO --out "$dir/workshops"  # two workshops: tree, matrix (issue #17)
# the survey rounds fit the city's census: regenerated with the city
if [ ! -f "$dir/hfs/$size.census.done" ] || [ "$dir/city/$size.done" -nt "$dir/hfs/$size.census.done" ]; then
  rm -rf "$dir/hfs"
  ic mobility generate --out "$dir/hfs" --city DEMO --period 2024
  touch "$dir/hfs/$size.census.done"
fi
mkdir -p "$dir/reports"
for lang in es en; do
  ic report profile --city DEMO --period 2024 --lang "$lang" --hfs "$dir/hfs/mapping.yaml" \
    --out "$dir/reports/perfil-movilidad-humana-DEMO-2024-$lang.pdf"
done
# a second period (2025) in which some barrios received projects with a known effect (truth in
# second-period/verdad.json), and its barrio marker, so 'plan impact' has something to measure.
# Built before 'publish', so the disclosure protection that publish solves and stores covers the
# store as it is served (a change after it would make the first web request solve it again);
# only 2024 is published: the 2025 impact pages are for staff until an analyst publishes 2025.
ic plan demo-second-period --city DEMO --out "$dir/second-period" --period 2025
ic marker build --city DEMO --period 2025 --spec uim-basic --level barrio
ic plan demo-plan --city DEMO  # territorial plan: ~15 projects (the executed ones done), 5 proposals, 1 design
ic publish --city DEMO --period 2024 --layers
# where blocks of low (and high) inclusion cluster: Local Moran and Gi*, a layer of the map
ic spatial clusters --city DEMO --period 2024 --marker uim-basic --level manzana --publish
# the Inclusive Cities programme: 9 target cities (DEMO computed live, 8 with typed results)
ic programme demo --city DEMO
ic programme deliveries demo --out "$dir/programme"  # trainings, entrepreneurs, policies, ~60 centres, commitments
ic info
if [ "${4:-}" = "--serve" ]; then
  echo
  echo "Observatorio de demostración / demo observatory: http://127.0.0.1:${PORT:-8000}  (Ctrl-C para detener / to stop)"
  ic serve --host 127.0.0.1 --port "${PORT:-8000}"
fi
