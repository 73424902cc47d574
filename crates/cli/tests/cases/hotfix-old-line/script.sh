# A fix for line 1.2 while main has released 1.3.0 and has unreleased features.
c a "feat: checkout"; git tag v1.2.3
c b "feat: search"; git tag v1.3.0
c d "feat: wishlist (unreleased)"
run $SLUICE release import 1.2.3 1.3.0
run $SLUICE patch report "Login fails with quotes"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.2 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
run git log --format=%s -1
c fix "fix: accept quotes in passwords"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
git checkout -q -b release/1.2 v1.2.3
git merge -q --no-ff hotfix/SHOP-1-login-fails-with-quotes -m "Merge branch 'hotfix/SHOP-1-login-fails-with-quotes' into release/1.2"
run $SLUICE release plan --line 1.2
run $SLUICE release cut --line 1.2
run git tag --sort=version:refname
run git log --format=%s -2
run cat CHANGELOG.md
run $SLUICE verify v1.2.4
