# Commits are linked by a Patch: trailer, a key in the subject, or the patch
# branch (merges included); the rest are listed as unlinked.
c a "feat: checkout"; git tag v0.1.0
run $SLUICE release import 0.1.0
run $SLUICE patch report "Wrong totals"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --owner erin@example.com
run $SLUICE patch report "Typos in emails"
run $SLUICE patch triage SHOP-2 --severity major --kind fix --owner frank@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
c t1 "fix: round totals"
git checkout -q main
git merge -q --no-ff hotfix/SHOP-1-wrong-totals -m "Merge branch 'hotfix/SHOP-1-wrong-totals'"
echo x > typo.txt; git add typo.txt; git commit -qm "fix: spelling in order emails" -m "Patch: SHOP-2"
c s "docs: readme"
c u "chore: bump deps"
for k in 1 2; do
  run $SLUICE patch start SHOP-$k --as erin@example.com >/dev/null 2>&1 || true
  git checkout -q main
  # A reviewer who neither started the patch nor wrote its branch's commits (all by bob).
  reviewer=frank@example.com; [ $k = 2 ] && reviewer=bob@example.com
  $SLUICE patch review SHOP-$k --approve --as $reviewer >/dev/null
  $SLUICE patch ready SHOP-$k --as bob@example.com >/dev/null
done
run $SLUICE release plan
