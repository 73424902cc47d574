#!/usr/bin/env bash
# Sluice from `init` to a production release and a rollback, on the embedded
# SQLite database, in a fresh temporary repository. Every line is one a person
# would type; README.md walks through the same steps.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --manifest-path "$here/Cargo.toml" -p sluice-cli
sluice="${CARGO_TARGET_DIR:-$here/target}/debug/sluice"
sluice() { echo "\$ sluice $*" >&2; "$sluice" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q -b main .
echo "== a new repository in $work"

# 1. The process: the standard one, with the production window opened to every
#    day for this walkthrough (the default allows tue,thu 10:00-12:00 only).
sluice init
sed -i 's/^windows = \[.*\]/windows = ["mon-sun 00:00-24:00"]/; s/^freezes = \[.*\]/freezes = []/' sluice.toml
sluice check
cat > deploy.sh <<'SH'
#!/bin/sh
echo "deploying $1 to $2" >> deploy.log
SH
chmod +x deploy.sh
# Branches start from a commit and tags point at one: the process goes in first.
printf '.sluice/\ndeploy.log\n' > .gitignore
git add -A && git -c user.name=Bob -c user.email=bob@example.com commit -qm "Adopt Sluice"

ship() { # ship VERSION: tests, approvals, checklist and promotion through every environment
  local v=$1
  sluice promote "$v" --to local --as bob@example.com
  sluice test report "$v" --env local --suite unit --pass --as alice@example.com
  sluice promote "$v" --to dev --as bob@example.com
  sluice test report "$v" --env dev --suite unit --pass --as alice@example.com
  sluice test report "$v" --env dev --suite integration --pass --as alice@example.com
  sluice approve "$v" --env test --as alice@example.com
  sluice promote "$v" --to test --as bob@example.com
  for s in regression smoke verification; do
    sluice test report "$v" --env test --suite "$s" --pass --as alice@example.com
  done
  sluice approve "$v" --env prod --as carol@example.com
  sluice checklist "$v" --tick notes --as bob@example.com
  sluice checklist "$v" --tick support-briefed --as carol@example.com
  sluice promote "$v" --to prod --as bob@example.com
  sluice test report "$v" --env prod --suite smoke --pass --as alice@example.com
}

fix() { # fix TITLE: report, triage, develop, review; prints the key
  local key
  key=$("$sluice" patch report "$1" --source bug --ref "SUP-$RANDOM" --as carol@example.com --json | sed -n 's/^  "key": "\(.*\)",$/\1/p')
  echo "\$ sluice patch report \"$1\" --source bug  # -> $key" >&2
  sluice patch triage "$key" --severity major --kind fix --owner erin@example.com --as bob@example.com >&2
  sluice patch start "$key" --as erin@example.com >&2   # creates and checks out its branch
  # The fix itself: a commit on the patch's branch, named by its trailer.
  echo "$1" >> fixes.txt
  git add fixes.txt
  git -c user.name=Erin -c user.email=erin@example.com commit -qm "fix: $1" -m "Patch: $key"
  sluice patch review "$key" --as erin@example.com >&2
  sluice patch review "$key" --approve --as frank@example.com >&2
  sluice patch ready "$key" --as erin@example.com >&2
  # Merged into main, where the release is cut from.
  local branch
  branch=$(git rev-parse --abbrev-ref HEAD)
  git checkout -q main
  git -c user.name=Frank -c user.email=frank@example.com merge -q --no-ff "$branch" -m "Merge $key"
  echo "$key"
}

# 2. A first fix goes all the way to production.
first=$(fix "Checkout total ignores the discount code")
sluice patch list
sluice release plan
sluice release cut --as bob@example.com
echo "== the gate says what is missing, and who must act:"
sluice promote 0.1.0 --to dev --as bob@example.com || echo "(refused, exit $?)"
ship 0.1.0
sluice patch show "$first"

# 3. A second fix ships, misbehaves, and production is rolled back.
second=$(fix "Login fails when the password contains a quote")
sluice release cut --as bob@example.com
ship 0.1.1
sluice status
sluice rollback --env prod --yes --as dave@example.com
sluice status
sluice patch show "$second"

# The rollback opened a retrospective; Sluice drafts it from the audit log.
sluice retro list --open
sluice retro show 0.1.1-r1

# 4. The record.
cat deploy.log
sluice audit --limit 10
sluice audit verify
echo "== done: 0.1.0 in production, 0.1.1 rolled back, ${second} reopened"
