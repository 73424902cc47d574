#!/usr/bin/env bash
# Builds the starting corpus of every fuzz target in fuzz/corpus/<target>/ from
#   - the seeds kept in the repository (fuzz/seeds/<target>/, the regression
#     cases in crates/core/tests/fuzz_regressions/<target>/, the default process
#     file, the bad process files of crates/core/tests/process/bad/ and the
#     process files of the CLI's golden cases), and
#   - the third-party fixtures, when present: $SLUICE_FIXTURES, else
#     ../shared/fixtures beside the repository.
# Seed files are (re)written under names starting with `seed-`; anything the
# fuzzer added to a corpus folder is left alone. Run from anywhere.
#
# Inputs are framed as the targets read them (fuzz/src/checks.rs): for `github`
# and `sentry` the first line is the event / resource name, then the body.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz_dir")
fixtures=${SLUICE_FIXTURES:-$repo/../shared/fixtures}
corpus=$fuzz_dir/corpus
targets=(process_file commit_message changelog_scan github gitlab alertmanager grafana sentry)

for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  rm -f "$corpus/$t"/seed-*
done

# copy TARGET FILE [NAME]: one seed file.
copy() {
  local name=${3:-$(basename "$2")}
  cp "$2" "$corpus/$1/seed-$name"
}

# framed TARGET HEADER FILE NAME: the header line, then the file's bytes.
framed() {
  { printf '%s\n' "$2"; cat "$3"; } > "$corpus/$1/seed-$4"
}

# --- in the repository -------------------------------------------------------
for t in "${targets[@]}"; do
  for dir in "$fuzz_dir/seeds/$t" "$repo/crates/core/tests/fuzz_regressions/$t"; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
      [ -f "$f" ] && copy "$t" "$f" "$(basename "$dir")-$(basename "$f")"
    done
  done
done
copy process_file "$repo/crates/core/src/process/default.toml"
for f in "$repo"/crates/core/tests/process/bad/*.toml; do
  copy process_file "$f" "bad-$(basename "$f")"
done
for f in "$repo"/crates/cli/tests/cases/*/sluice.toml; do
  copy process_file "$f" "case-$(basename "$(dirname "$f")").toml"
done

# --- third-party fixtures ----------------------------------------------------
if [ ! -d "$fixtures" ]; then
  echo "seed.sh: no third-party fixtures at $fixtures (set SLUICE_FIXTURES); repository seeds only" >&2
else
  # One message per record: a `=== COMMIT repo sha ===` (or `=== CASE name ===`)
  # line starts a record; the newline that ends a record is not part of it.
  split_records() {
    awk -v out="$corpus/commit_message" -v tag="$2" '
      function flush() { if (name != "") { printf "%s", buf > name; close(name) } }
      $0 ~ "^=== " tag " .* ===$" {
        flush()
        n++; buf = ""; lines = 0
        name = sprintf("%s/seed-%s-%04d.txt", out, tolower(tag), n)
        next
      }
      { buf = (lines++ ? buf "\n" : "") $0 }
      END { flush() }
    ' "$1"
  }
  split_records "$fixtures/commits/conventional-commits.txt" COMMIT
  split_records "$fixtures/commits/tricky-cases.txt" CASE
  for f in "$fixtures"/commits/tricky/*.txt; do copy commit_message "$f"; done

  for f in "$fixtures"/changelogs/*.md; do copy changelog_scan "$f"; done

  for f in "$fixtures"/github/*.json; do
    name=$(basename "$f")
    framed github "${name%%.*}" "$f" "$name"
  done
  for f in "$fixtures"/gitlab/*.json; do copy gitlab "$f"; done

  for f in "$fixtures"/alerting/*.json; do
    name=$(basename "$f")
    case $name in
      alertmanager.* | pagerduty.*) copy alertmanager "$f" ;;
      grafana.*) copy grafana "$f" ;;
      sentry.event_alert.*) framed sentry event_alert "$f" "$name" ;;
      sentry.issue.*) framed sentry issue "$f" "$name" ;;
      sentry.*) framed sentry "" "$f" "$name" ;;
    esac
  done
fi

for t in "${targets[@]}"; do
  printf '%-16s %5d files\n' "$t" "$(find "$corpus/$t" -type f | wc -l)"
done
