#!/usr/bin/env bash
# Changelog engines side by side on one large synthetic history.
#
# Builds a repository of N commits (default 300,000) with `git fast-import`,
# messages drawn in turn from the real Conventional Commits corpus in
# ../shared/fixtures/commits, a SemVer tag every ~20 commits; installs git-cliff
# and cocogitto with `cargo install --locked` into a temporary root (never
# dependencies of Sluice); then times, in one run: `git log` printing every
# message (the floor), `git cliff` with its Keep a Changelog template, `cog
# changelog`, `sluice changelog` over the whole history, and `sluice version
# --next`. Wall time and peak resident memory of each, best of R runs (default
# 3), then the size of what each wrote (so an engine that "wins" by writing
# nothing shows).
#
#   scripts/bench-changelog.sh [COMMITS] [RUNS]
#
# Environment:
#   BENCH_TOOLS_ROOT  a `cargo install --root` that already has git-cliff and cog
#   BENCH_GIT_CLIFF   the git-cliff binary to use (overrides BENCH_TOOLS_ROOT)
#   BENCH_COG         the cog binary to use (overrides BENCH_TOOLS_ROOT)
#   BENCH_SLUICE      a sluice binary to use instead of building one
#   BENCH_TIMEOUT     seconds one run of one engine may take (default 1800); a run
#                     that takes longer is stopped and reported as "> N"
#   SLUICE_FIXTURES   where the commit corpus lives (default ../shared/fixtures)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
commits=${1:-300000}
runs=${2:-3}
timeout=${BENCH_TIMEOUT:-1800}
corpus=${SLUICE_FIXTURES:-$here/../shared/fixtures}/commits/conventional-commits.jsonl
work=$(mktemp -d /tmp/sluice-bench-changelog.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ -n "${BENCH_SLUICE:-}" ]; then
  sluice=$BENCH_SLUICE
else
  echo "== building sluice (release)" >&2
  cargo build --quiet --release --manifest-path "$here/Cargo.toml" -p sluice-cli
  sluice="${CARGO_TARGET_DIR:-$here/target}/release/sluice"
fi

tools=${BENCH_TOOLS_ROOT:-$work/tools}
cliff=${BENCH_GIT_CLIFF:-$tools/bin/git-cliff}
cog=${BENCH_COG:-$tools/bin/cog}
if [ ! -x "$cliff" ]; then
  echo "== cargo install --locked git-cliff into $tools" >&2
  cargo install --quiet --locked git-cliff --root "$tools" >&2
  cliff=$tools/bin/git-cliff
fi
if [ ! -x "$cog" ]; then
  echo "== cargo install --locked cocogitto into $tools" >&2
  cargo install --quiet --locked cocogitto --root "$tools" >&2
  cog=$tools/bin/cog
fi
for bin in "$sluice" "$cliff" "$cog"; do
  [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
done

echo "== generating $commits commits" >&2
repo="$work/repo"
git init -q -b main "$repo"
python3 - "$corpus" "$commits" > "$work/stream" <<'PY'
import json, sys
corpus, n = sys.argv[1], int(sys.argv[2])
msgs = [json.loads(l)["message"] for l in open(corpus, encoding="utf-8")]
out = sys.stdout.buffer
major, minor, patch = 0, 1, 0
t = 1_600_000_000
for i in range(1, n + 1):
    m = msgs[i % len(msgs)].encode()
    t += 37
    out.write(b"commit refs/heads/main\nmark :%d\n" % i)
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % t)
    out.write(b"data %d\n%s\n" % (len(m), m))
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    body = b"%d\n" % i
    out.write(b"M 644 inline f%d\ndata %d\n%s\n" % (i % 64, len(body), body))
    if i % 20 == 0:
        patch += 1
        if patch == 10:
            minor, patch = minor + 1, 0
        if minor == 10:
            major, minor = major + 1, 0
        out.write(b"reset refs/tags/v%d.%d.%d\nfrom :%d\n\n" % (major, minor, patch, i))
PY
git -C "$repo" fast-import --quiet < "$work/stream"
git -C "$repo" reset -q --hard main
ntags=$(git -C "$repo" tag | wc -l)
echo "== $commits commits, $ntags tags" >&2
# git-cliff's own Keep a Changelog template, written to the repository's cliff.toml
# and passed explicitly: a missing or different template would be an unfair race.
(cd "$repo" && "$cliff" --init keepachangelog >/dev/null 2>&1)
# cocogitto reads SemVer tags without a prefix unless told; without this it sees no
# release at all and prints the whole history as one "Unreleased" section.
printf 'tag_prefix = "v"\n' > "$repo/cog.toml"
grep -q 'keepachangelog.com' "$repo/cliff.toml" || {
  echo "error: git cliff --init keepachangelog did not write its Keep a Changelog template" >&2
  exit 2
}

measure() { # name, output file, then the command: prints "| name | seconds | peak MiB |"
  local name=$1 out=$2; shift 2
  python3 - "$name" "$runs" "$timeout" "$out" "$@" <<'PY'
import resource, subprocess, sys, time
name, runs, limit, out, cmd = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5:]
best = None
for _ in range(runs):
    t = time.perf_counter()
    try:
        with open(out, "wb") as f:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, timeout=limit)
    except subprocess.TimeoutExpired:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"| {name} | > {limit:.0f} (stopped) | > {peak:.0f} |", flush=True)
        sys.exit(0)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{name} failed: {r.stderr.decode()[-500:]}")
    best = dt if best is None else min(best, dt)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"| {name} | {best:.2f} | {peak:.0f} |", flush=True)
PY
}

cd "$repo"
echo "| command | wall s (best of $runs) | peak RSS MiB |"
echo "|---|---|---|"
measure "git log --format=%B (floor)" "$work/log.txt" git log --format=%B
measure "git cliff (keepachangelog template)" "$work/cliff.md" "$cliff" --config cliff.toml
measure "cog changelog" "$work/cog.md" "$cog" changelog
measure "sluice changelog" "$work/sluice.md" "$sluice" changelog
measure "sluice version --next" "$work/next.txt" "$sluice" version --next
echo
echo "What each wrote (bytes, lines, release headings):"
for f in log.txt cliff.md cog.md sluice.md next.txt; do
  printf '  %-10s %12s bytes %9s lines %7s "## " headings\n' "$f" \
    "$(wc -c < "$work/$f")" "$(wc -l < "$work/$f")" "$(grep -c '^## ' "$work/$f" || true)"
done
echo "  next version: $(cat "$work/next.txt")"
echo
echo "git-cliff $("$cliff" --version | awk '{print $2}'), $("$cog" --version), $("$sluice" --version), $(git --version); $(nproc) cores; $commits commits, $ntags tags"
