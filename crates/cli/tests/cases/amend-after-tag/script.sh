# Once tagged, a release's content is frozen: amending it is refused and the change goes
# into the next version. The evidence may claim only commits the tag contains.
# Commits made on top of v0.1.0 hold its changelog, dated today: their ids are hidden.
runx() { run "$@" | sed -E 's/\b[0-9a-f]{10,12}\b/<id>/g'; }
c a "feat: checkout"
run $SLUICE patch report "Login fails with quotes"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
c fix "fix: accept quotes in passwords"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
git checkout -q main
git merge -q --no-ff hotfix/SHOP-1-login-fails-with-quotes -m "Merge branch 'hotfix/SHOP-1-login-fails-with-quotes'"
run $SLUICE release plan
run $SLUICE release cut
run $SLUICE patch report "Search ignores accents"
run $SLUICE patch triage SHOP-2 --severity major --kind fix --owner erin@example.com
run $SLUICE patch start SHOP-2 --as erin@example.com
c accents "fix: fold accents in search"
run $SLUICE patch review SHOP-2 --approve --as frank@example.com
run $SLUICE patch ready SHOP-2 --as erin@example.com
git checkout -q main
run $SLUICE release amend 0.1.0 --add SHOP-2
runx $SLUICE release plan
run $SLUICE verify v0.1.0
# Make the evidence claim a commit that the tag does not contain.
side=$(git rev-parse hotfix/SHOP-2-search-ignores-accents)
git notes --ref sluice show "v0.1.0^{commit}" | sed "s/\"commits\": \[/\"commits\": [\n    \"$side\",/" > evidence.json
git notes --ref sluice add -f -F evidence.json "v0.1.0^{commit}" 2>/dev/null
runx $SLUICE verify v0.1.0
