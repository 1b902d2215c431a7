#!/usr/bin/env bash
# The main job on a fresh machine: build the offline encoder, then run the small stage-order
# study on the shared XTREME data, print its per-order, per-language tables, then write the report
# (OUTPUT_DIR/report/) and print its path and headline sentence.
# Re-running resumes where it stopped (finished trainings and evaluations are skipped).
# Without the shared data, `run` says in one line which command fetches it; `--fetch` (make demo
# DEMO_ARGS=--fetch) downloads it from the Hugging Face hub first (needs network).
set -euo pipefail
cd "$(dirname "$0")/.."
XS=.venv/bin/xstilts
"$XS" model prepare multilingual-e5-small
"$XS" plan examples/order_study_small.toml
"$XS" run examples/order_study_small.toml "$@"
"$XS" report examples/order_study_small.toml
