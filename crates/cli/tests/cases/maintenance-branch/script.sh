# A maintenance branch cut from an old tag while main has moved on to a newer minor and a
# major pre-release: on the branch, only the tags it contains count.
c a "feat: first"; git tag v1.0.0
c b "feat: new api"; git tag v1.1.0
c d "feat!: drop the old api"; git tag v2.0.0-rc.1
git checkout -q -b 1.0.x v1.0.0
c e "fix: backport a crash fix"
run $SLUICE version
run $SLUICE version --next
run $SLUICE changelog
git checkout -q main
run $SLUICE version
run $SLUICE version --next
# Process mode: a fix for line 1.0 starts from v1.0.0; a fix on main ships as 2.0.0,
# the release the pre-release previews.
run $SLUICE patch report "Crash on empty cart"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.0 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
run git describe --tags
c f "fix: guard the empty cart"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
git checkout -q main
run $SLUICE patch report "Typo on the front page"
run $SLUICE patch triage SHOP-2 --severity major --kind fix --owner erin@example.com
run $SLUICE patch start SHOP-2 --as erin@example.com
run git describe --tags
c g "fix: spell checkout right"
run $SLUICE patch review SHOP-2 --approve --as frank@example.com
run $SLUICE patch ready SHOP-2 --as erin@example.com
git checkout -q main
git merge -q --no-ff hotfix/SHOP-2-typo-on-the-front-page -m "Merge branch 'hotfix/SHOP-2-typo-on-the-front-page'"
run $SLUICE release plan --line 1.0
run $SLUICE release plan
