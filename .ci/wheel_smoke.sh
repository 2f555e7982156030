#!/usr/bin/env bash
# Wheel smoke test: build the wheel, install it (not editable) into a fresh virtualenv outside the
# checkout, and run the CLI end to end from a directory away from the source tree, so nothing can be
# imported or read from the checkout. Fails on the first missing module, data file or bad result.
# Dependencies come from PyPI (pip's cache makes a second run fast). Usage: bash .ci/wheel_smoke.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
start=$SECONDS
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pinsearch-wheel-smoke.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
unset PYTHONPATH PYTHONHOME
case "$tmp" in "$root"/*) echo "wheel_smoke: temp dir $tmp is inside the checkout" >&2; exit 1;; esac

step() { printf 'wheel_smoke [%3ds] %s\n' "$((SECONDS - start))" "$*"; }

# 1. Build from a copy of the build inputs (a stale build/ in the checkout cannot leak into the wheel).
step "copy the sources"
mkdir -p "$tmp/src"
for f in pyproject.toml setup.cfg setup.py MANIFEST.in README.md; do
    if [ -f "$root/$f" ]; then cp "$root/$f" "$tmp/src/"; fi
done
for pkg in localnode indexer ranking pinsearch; do
    tar -C "$root" --exclude=__pycache__ --exclude='*.pyc' -cf - "$pkg" | tar -C "$tmp/src" -xf -
done

step "fresh virtualenv"
python3 -m venv "$tmp/venv"
py="$tmp/venv/bin/python"

step "build the wheel"
"$py" -m pip wheel -q --no-deps -w "$tmp/dist" "$tmp/src"
wheel="$(ls "$tmp"/dist/pinsearch-*.whl)"

step "install $(basename "$wheel") (dependencies from PyPI or pip's cache)"
"$py" -m pip install -q "$wheel"

# 2. Everything below runs from a directory that is not the checkout.
mkdir "$tmp/work"
cd "$tmp/work"

step "imports and package data come from the installed wheel"
"$py" - "$root" <<'EOF'
import importlib, sys
from importlib import resources
from pathlib import Path

root = Path(sys.argv[1]).resolve()
site = Path(importlib.import_module("pinsearch").__file__).resolve().parents[1]
for name in ("localnode", "localnode.index", "localnode.mapping", "indexer", "ranking", "pinsearch",
             "pinsearch.mappings", "pinsearch.opensearch_plugin_config", "pinsearch.data", "pinsearch.server"):
    mod = importlib.import_module(name)
    where = Path(mod.__file__).resolve()
    assert root not in where.parents and where.is_relative_to(site), f"{name} imported from {where}"
for top in ("mappings", "opensearch_plugin_config"):
    assert not (site / top).exists(), f"generic top-level name installed: {site / top}"

from indexer.documents import load_pins_mapping
from indexer.interests.taxonomy import DEFAULT_DATA_PACKAGE, DEFAULT_IAB_FILE
from ranking.ltr.featuresets import FEATURESET_FILES, load_featureset

assert "properties" in load_pins_mapping()["mappings"]
for kind in FEATURESET_FILES:
    assert load_featureset(kind).body["featureset"]["features"], kind
assert resources.files(DEFAULT_DATA_PACKAGE).joinpath(DEFAULT_IAB_FILE).read_bytes()
for name in ("index.html", "app.js", "app.css"):
    assert resources.files("pinsearch.server").joinpath("static", name).read_bytes(), name
print(f"  all modules and data files load from {site}")
EOF

step "pinsearch --help"
"$tmp/venv/bin/pinsearch" --help >/dev/null

step "pinsearch demo --size XS (connect, sample, validate, signals, reindex, LTR, search, related)"
"$tmp/venv/bin/pinsearch" demo --size XS --quiet --json > demo.json
"$py" - <<'EOF'
import json

report = json.load(open("demo.json"))
assert report["validation"]["ok"], report["validation"]
assert report["reindex"]["indexed"] > 0 and not report["reindex"]["bulk_errors"], report["reindex"]
assert report["examples"] and all(e["hits"] for e in report["examples"]), "a search returned no hits"
assert report["related_examples"] and all(e["hits"] for e in report["related_examples"]), "no related pins"
assert report["ltr"]["search"]["model"], report["ltr"]
print(f"  indexed {report['reindex']['indexed']} pins into {report['reindex']['index']}; "
      f"{len(report['examples'])} searches and {len(report['related_examples'])} related requests returned hits")
EOF

step "ok"
