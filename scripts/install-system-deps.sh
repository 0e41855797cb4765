#!/usr/bin/env bash
# System packages the observatory needs beyond Python: PostgreSQL server binaries (the test
# suite starts a throwaway cluster), Chromium (browser tests), Pango (WeasyPrint PDFs),
# poppler-utils (pdftotext/pdftoppm to check PDFs), Java 17 (Spark). Installs only what is
# missing; needs root for apt-get.
set -euo pipefail

missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi

command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
# Java 17 for Spark (indicators compute --engine spark; tests/indicators/test_spark.py)
java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])' || missing+=(openjdk-17-jre-headless)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "error: ${missing[*]} missing and not running as root: install them with apt-get as root" >&2
    exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
