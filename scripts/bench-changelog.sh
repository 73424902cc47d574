#!/usr/bin/env bash
# Changelog engines side by side on one large synthetic history.
#
# Builds a repository of N commits (default 300,000) with `git fast-import`,
# messages drawn in turn from the real Conventional Commits corpus in
# ../shared/fixtures/commits, a SemVer tag every ~20 commits; installs git-cliff
# and cocogitto with `cargo install --locked` into a temporary root (never
# dependencies of Sluice; set BENCH_TOOLS_ROOT to reuse a root that has them);
# then times, in one run: `git log` printing every message (the floor),
# `git cliff` with its Keep a Changelog template, `cog changelog`, `sluice
# changelog` over the whole history, and `sluice version --next`. Wall time
# and peak resident memory of each, best of R runs (default 3).
#
#   scripts/bench-changelog.sh [COMMITS] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
commits=${1:-300000}
runs=${2:-3}
corpus=${SLUICE_FIXTURES:-$here/../shared/fixtures}/commits/conventional-commits.jsonl
work=$(mktemp -d /tmp/sluice-bench-changelog.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== building sluice (release)" >&2
cargo build --quiet --release --manifest-path "$here/Cargo.toml" -p sluice-cli
sluice="$here/target/release/sluice"

tools=${BENCH_TOOLS_ROOT:-$work/tools}
if [ ! -x "$tools/bin/git-cliff" ]; then
  echo "== cargo install --locked git-cliff into $tools" >&2
  cargo install --quiet --locked git-cliff --root "$tools" >&2
fi
if [ ! -x "$tools/bin/cog" ]; then
  echo "== cargo install --locked cocogitto into $tools" >&2
  cargo install --quiet --locked cocogitto --root "$tools" >&2
fi

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
(cd "$repo" && "$tools/bin/git-cliff" --init keepachangelog >/dev/null 2>&1 || true)

measure() { # name, then the command: prints "name seconds peak_MiB"
  local name=$1; shift
  python3 - "$name" "$runs" "$@" <<'PY'
import resource, subprocess, sys, time
name, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
best, peak = None, 0
for _ in range(runs):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{name} failed: {r.stderr.decode()[-500:]}")
    best = dt if best is None else min(best, dt)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"| {name} | {best:.2f} | {peak:.0f} |")
PY
}

cd "$repo"
echo "| command | wall s (best of $runs) | peak RSS MiB |"
echo "|---|---|---|"
measure "git log --format=%B (floor)" git log --format=%B
measure "git cliff (keepachangelog template)" "$tools/bin/git-cliff" -o "$work/cliff.md"
measure "cog changelog" "$tools/bin/cog" changelog
measure "sluice changelog" "$sluice" changelog -o "$work/sluice.md"
measure "sluice version --next" "$sluice" version --next
echo
echo "git-cliff $("$tools/bin/git-cliff" --version | awk '{print $2}'), $("$tools/bin/cog" --version), $("$sluice" --version), $(git --version); $(nproc) cores; $commits commits, $ntags tags"
