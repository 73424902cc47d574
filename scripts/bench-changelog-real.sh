#!/usr/bin/env bash
# Changelog engines side by side on real repositories.
#
# For each DIR (a clone with all its tags; `git clone --no-checkout` is enough),
# times, in one run and in DIR: `git log` printing every commit's id, subject and
# body (the floor), `sluice changelog`, `sluice version --next`, `git-cliff` with its
# built-in default configuration and `cog changelog` (cocogitto). Each engine runs
# RUNS times (default 3); per repository a Markdown table gives the median wall time,
# its ratio to the floor's (for sluice, the median of the ratios of run pairs: the
# floor is run again right before each of its runs), the peak resident memory (GNU time %M, the largest of the
# runs) and what the engine wrote (bytes, lines, "## " headings), so an engine that
# "wins" by writing nothing shows. Everything runs twice: as cloned, with any
# commit-graph removed, then after `git commit-graph write --reachable`; the
# commit-graph is removed again at the end (a DIR's own commit-graph is not kept).
#
#   scripts/bench-changelog-real.sh [RUNS] DIR...
#
# The peers are told the tag shape most tags reachable from HEAD have (sluice finds
# it on its own and says so on stderr): git-cliff gets `--tag-pattern` for it and an
# empty `--config` file (its built-in defaults, whatever cliff.toml DIR has); cog
# gets a `--config` file with `tag_prefix` when the shape has a prefix. An engine that
# fails is reported in its row with the first line of its stderr and the script goes
# on; progress goes to stderr, the report to stdout.
#
# Environment:
#   BENCH_SLUICE     a sluice binary to use instead of building one (release)
#   BENCH_GIT_CLIFF  the git-cliff binary (default: git-cliff on PATH; `pip install git-cliff`)
#   BENCH_COG        the cog binary (default: cog on PATH; `cargo install --locked
#                    cocogitto --root DIR` puts it in DIR/bin)
#   BENCH_TIMEOUT    seconds one run of one engine may take (default 300); a run that
#                    takes longer is stopped, reported as "> N", and that engine's
#                    remaining runs in that phase are skipped
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=3
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]] && [ ! -d "$1" ]; then
  runs=$1
  shift
fi
if [ $# -eq 0 ] || [ "$runs" -lt 1 ]; then
  echo "usage: $0 [RUNS] DIR..." >&2
  exit 2
fi
limit=${BENCH_TIMEOUT:-300}
for dir in "$@"; do
  git -C "$dir" rev-parse --verify -q HEAD >/dev/null || {
    echo "error: $dir is not a git repository with a HEAD commit" >&2
    exit 2
  }
done
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
command -v timeout >/dev/null || { echo "error: timeout (coreutils) is missing" >&2; exit 2; }

if [ -n "${BENCH_SLUICE:-}" ]; then
  sluice=$BENCH_SLUICE
else
  echo "== building sluice (release)" >&2
  cargo build --quiet --release --manifest-path "$here/Cargo.toml" -p sluice-cli
  sluice="${CARGO_TARGET_DIR:-$here/target}/release/sluice"
fi
cliff=${BENCH_GIT_CLIFF:-$(command -v git-cliff || true)}
# pyenv puts a shell script in front of pip's binary: time the binary, not the shim.
case $cliff in */.pyenv/shims/*) cliff=$(pyenv which git-cliff) ;; esac
cog=${BENCH_COG:-$(command -v cog || true)}
[ -n "$cliff" ] || { echo "error: no git-cliff: pip install git-cliff, or set BENCH_GIT_CLIFF" >&2; exit 2; }
[ -n "$cog" ] || { echo "error: no cog: cargo install --locked cocogitto --root DIR, then BENCH_COG=DIR/bin/cog" >&2; exit 2; }
for bin in "$sluice" "$cliff" "$cog"; do
  [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
done
sluice=$(realpath "$sluice") cliff=$(realpath "$cliff") cog=$(realpath "$cog")

work=$(mktemp -d /tmp/sluice-bench-real.XXXXXX)
graph_dir= # the repository whose commit-graph the exit trap removes
drop_graph() { rm -rf "$1/objects/info/commit-graph" "$1/objects/info/commit-graphs"; }
trap '[ -z "$graph_dir" ] || drop_graph "$graph_dir"; rm -rf "$work"' EXIT
engines=(floor changelog next cliff cog)
declare -A label=(
  [floor]="\`git log --format='%H%x00%s%x00%b%x00'\` (floor)"
  [changelog]="\`sluice changelog\`"
  [next]="\`sluice version --next\`"
  [cliff]="\`git-cliff\` (default config)"
  [cog]="\`cog changelog\`"
)

# measure OUT CMD...: runs CMD $runs times in the current directory, stdout to OUT,
# stderr to OUT.err; sets wall_ms (median; empty when a run did not finish), rss_kb
# (largest) and failure ("" or "> N s" or "error: first line of stderr").
measure() {
  local out=$1 i t0 t1 rc kb walls=()
  shift
  rss_kb=0 wall_ms='' failure='' pair_ratio=''
  local ratios=() f0 f1
  for ((i = 0; i < runs; i++)); do
    if [ -n "${paired:-}" ]; then
      # The floor right before each run: the ratio of the pair, so drift on a shared
      # machine affects both sides alike.
      f0=$(date +%s%N)
      git log --format='%H%x00%s%x00%b%x00' HEAD >/dev/null
      f1=$(date +%s%N)
    fi
    t0=$(date +%s%N)
    if /usr/bin/time -f %M -o "$work/rss" timeout -k 5 "$limit" "$@" >"$out" 2>"$out.err"; then
      rc=0
    else
      rc=$?
    fi
    t1=$(date +%s%N)
    kb=$(tail -n 1 "$work/rss")
    [[ $kb =~ ^[0-9]+$ ]] || kb=0
    [ "$kb" -le "$rss_kb" ] || rss_kb=$kb
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      failure="> $limit s (stopped)"
      return
    elif [ "$rc" -ne 0 ]; then
      failure="error (exit $rc): $(grep -m 1 -v '^[[:space:]]*$' "$out.err" | cut -c 1-160 | tr '|' '/' || true)"
      return
    fi
    walls+=($(((t1 - t0) / 1000000)))
    [ -z "${paired:-}" ] || ratios+=("$(awk -v a=$((t1 - t0)) -v b=$((f1 - f0)) 'BEGIN { printf("%.3f", a / (b > 0 ? b : 1)) }')")
  done
  if [ ${#ratios[@]} -gt 0 ]; then
    pair_ratio=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }')
  fi
  wall_ms=$(printf '%s\n' "${walls[@]}" | sort -n |
    awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)) }')
}

run_engine() { # ENGINE OUT
  case $1 in
    floor) measure "$2" git log --format='%H%x00%s%x00%b%x00' HEAD ;;
    changelog) paired=1 measure "$2" "$sluice" changelog ;;
    next) paired=1 measure "$2" "$sluice" version --next ;;
    cliff) measure "$2" "$cliff" --config "$work/cliff.toml" --tag-pattern "$pattern" ;;
    cog) measure "$2" "$cog" --config "$work/cog.toml" changelog ;;
  esac
}

seconds() { awk -v ms="$1" 'BEGIN { printf(ms < 1000 ? "%.3f" : "%.2f", ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 1; r = a / b; printf(r < 10 ? "%.1f" : "%.0f", r) }'; }
count() { printf '%s' "$1" | sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta'; }

echo "# Changelog engines on real repositories"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $(git --version); $("$sluice" --version);" \
  "git-cliff $("$cliff" --version | awk '{print $2}') ($cliff); $("$cog" --version) ($cog)."
echo "Median of $runs run(s) per engine, each stopped after $limit s; peak RSS from GNU time (%M)."
echo "Sluice's ratios are the median of per-pair ratios: the floor runs right before each of its runs."

for dir in "$@"; do
  dir=$(cd "$dir" && pwd)
  name=$(basename "$dir")
  gitdir=$(git -C "$dir" rev-parse --absolute-git-dir)
  cd "$dir"
  head=$(git rev-parse HEAD)
  commits=$(git rev-list --count HEAD)
  merges=$(git rev-list --count --merges HEAD)
  tags=$(git tag | wc -l)
  reachable=$(git tag --merged HEAD | wc -l)
  # The tag shape for the peers: the prefix most reachable MAJOR.MINOR.PATCH tags share
  # ("v" wins a tie, as in sluice).
  shape=$(git tag --merged HEAD | sed -n -E 's/^([^0-9]*)[0-9]+\.[0-9]+\.[0-9]+.*$/\1/p' |
    sort | uniq -c | awk '{ n = $1; p = NF > 1 ? $2 : "" } n > best || (n == best && p == "v") { best = n; bp = p } END { print bp }')
  pattern="^$(printf '%s' "$shape" | sed 's/[][\.*^$+?(){}|/]/\\&/g')[0-9]+\\.[0-9]+\\.[0-9]+"
  : >"$work/cliff.toml"
  if [ -n "$shape" ]; then
    printf 'tag_prefix = "%s"\n' "$shape" >"$work/cog.toml"
    cog_says="\`tag_prefix = \"$shape\"\`"
  else
    : >"$work/cog.toml"
    cog_says="no \`tag_prefix\`"
  fi

  graph_dir=$gitdir
  drop_graph "$gitdir"
  cat "$gitdir"/objects/pack/*.pack >/dev/null 2>&1 || true # the same warm page cache for all
  declare -A wall=() rss=() fail=() pratio=()
  for phase in plain graph; do
    if [ "$phase" = graph ]; then
      echo "== $name: git commit-graph write --reachable" >&2
      t0=$(date +%s%N)
      git commit-graph write --reachable --no-progress
      graph_ms=$((($(date +%s%N) - t0) / 1000000))
      graph_bytes=$(find "$gitdir/objects/info" -type f -name '*graph*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    fi
    for e in "${engines[@]}"; do
      echo "== $name ($phase): $e" >&2
      run_engine "$e" "$work/$e.$phase"
      wall[$e.$phase]=$wall_ms rss[$e.$phase]=$rss_kb fail[$e.$phase]=$failure pratio[$e.$phase]=$pair_ratio
    done
  done
  drop_graph "$gitdir"
  graph_dir=

  echo
  echo "## $name @ $head"
  echo
  echo "$(count "$commits") commits ($(count "$merges") merges), $(count "$tags") tags ($(count "$reachable") reachable from HEAD);" \
    "peers given the shape \`${shape}1.2.3\`: git-cliff \`--tag-pattern '$pattern'\`, cog $cog_says."
  echo "The commit-graph (\`git commit-graph write --reachable\`) took $(seconds "$graph_ms") s, $(count "$graph_bytes") bytes."
  echo
  echo "| engine | wall s, no commit-graph | × floor | peak RSS MiB | wall s, commit-graph | × floor | peak RSS MiB | output (commit-graph run) |"
  echo "|---|--:|--:|--:|--:|--:|--:|---|"
  for e in "${engines[@]}"; do
    row="| ${label[$e]}"
    for phase in plain graph; do
      k=$e.$phase
      mib=$((${rss[$k]} / 1024))
      if [ -n "${fail[$k]}" ]; then
        case ${fail[$k]} in
          ">"*) row+=" | > $limit | | > $mib" ;;
          *) row+=" | failed | | $mib" ;;
        esac
      elif [ -n "${pratio[$k]}" ]; then
        # Median of the per-pair ratios (floor run right before each run).
        row+=" | $(seconds "${wall[$k]}") | $(awk -v r="${pratio[$k]}" 'BEGIN { printf(r < 10 ? (r < 0.1 ? "%.3f" : "%.2f") : "%.0f", r) }') | $mib"
      elif [ -n "${wall[floor.$phase]}" ]; then
        row+=" | $(seconds "${wall[$k]}") | $(ratio "${wall[$k]}" "${wall[floor.$phase]}") | $mib"
      else
        row+=" | $(seconds "${wall[$k]}") | | $mib"
      fi
    done
    out=$work/$e.graph
    if [ -n "${fail[$e.graph]}" ]; then
      row+=" | ${fail[$e.graph]}"
    else
      row+=" | $(count "$(wc -c <"$out")") B, $(count "$(wc -l <"$out")") lines, $(count "$(grep -c '^## ' "$out" || true)") \`## \`"
      if [ -z "${fail[$e.plain]}" ] && ! cmp -s "$out" "$work/$e.plain"; then
        row+=" (differs without commit-graph)"
      fi
    fi
    echo "$row |"
  done
  echo
  for e in "${engines[@]}"; do
    if [ -n "${fail[$e.plain]}" ] && [ "${fail[$e.plain]}" != "${fail[$e.graph]}" ]; then
      echo "- ${label[$e]} without commit-graph: ${fail[$e.plain]}"
    fi
  done
  [ -n "${fail[next.graph]}" ] || echo "- \`sluice version --next\`: $(head -c 200 "$work/next.graph")"
  note=$(grep -m 1 -v '^[[:space:]]*$' "$work/changelog.graph.err" | cut -c 1-300 || true)
  [ -z "$note" ] || echo "- \`sluice changelog\` stderr: $note"
  unset wall rss fail pratio
  rm -f "$work"/*.plain* "$work"/*.graph*
done
