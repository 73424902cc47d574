#!/usr/bin/env bash
# `sluice serve` under concurrent clients, on both backends, beside the
# durable-insert floor measured in the same run (see docs/BENCHMARKS.md,
# "Server under load").
#
# Builds the release `sluice` and `sluice-bench` binaries, then runs
# `sluice-bench load` with any arguments given, e.g.
#
#   scripts/bench-load.sh --backend both --clients 1,16,64 --requests 400
#
# PostgreSQL: a loopback server only (SLUICE_TEST_POSTGRES, else
# postgres://postgres@127.0.0.1:5432/postgres); a fresh database is created
# and dropped. Markdown on stdout, progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --release --manifest-path "$here/Cargo.toml" -p sluice-cli -p sluice-bench
exec "${CARGO_TARGET_DIR:-$here/target}/release/sluice-bench" load "$@"
