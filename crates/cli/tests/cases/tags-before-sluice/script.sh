# Releases tagged before Sluice (one lightweight, one annotated) are where versions start:
# no import, no version that goes backwards, no tag reused. A fix for main that is not
# merged yet is refused rather than tagged.
c a "feat: checkout"; git tag v1.2.3
c b "feat: search"; git tag -a v1.3.0 -m "Release 1.3.0"
run $SLUICE check
run $SLUICE version
run $SLUICE release import 1.2.9
run $SLUICE patch report "Login fails with quotes"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.2 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
run git log --format=%s -1
c fix "fix: accept quotes in passwords"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
git checkout -q main
run $SLUICE release plan --line 1.2
run $SLUICE release cut --line 1.2 --target hotfix/SHOP-1-login-fails-with-quotes
run git tag --sort=version:refname
run git describe --tags hotfix/SHOP-1-login-fails-with-quotes
# From main: 1.3.0 is the base, and the fix must be in HEAD before it is tagged.
run $SLUICE patch report "Cart total is off by one cent"
run $SLUICE patch triage SHOP-2 --severity major --kind fix --owner erin@example.com
run $SLUICE patch start SHOP-2 --as erin@example.com
c cart "fix: round the cart total once"
run $SLUICE patch review SHOP-2 --approve --as frank@example.com
run $SLUICE patch ready SHOP-2 --as erin@example.com
git checkout -q main
run $SLUICE release plan
run $SLUICE release cut
run git tag --sort=version:refname
git merge -q --no-ff hotfix/SHOP-2-cart-total-is-off-by-one-cent -m "Merge branch 'hotfix/SHOP-2-cart-total-is-off-by-one-cent'"
run $SLUICE release cut
run git tag --sort=version:refname
run $SLUICE verify v1.3.1
# A ready patch with no commit anywhere: the plan names it and the command to go on.
run $SLUICE patch report "Footer shows last year"
run $SLUICE patch triage SHOP-3 --severity major --kind fix --owner erin@example.com
run $SLUICE patch start SHOP-3 --as erin@example.com
run $SLUICE patch review SHOP-3 --approve --as frank@example.com
run $SLUICE patch ready SHOP-3 --as erin@example.com
git checkout -q main
# HEAD holds v1.3.1's changelog, dated today: its id is hidden.
run $SLUICE release cut 2>&1 | sed -E 's/\b[0-9a-f]{10,12}\b/<id>/g'
