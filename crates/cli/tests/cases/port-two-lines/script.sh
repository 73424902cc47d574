# One fix shipped on two maintained lines: made on 1.3, ported to 1.2.
c a "feat: checkout"; git tag v1.2.3
c b "feat: search"; git tag v1.3.0
run $SLUICE release import 1.2.3 1.3.0
run $SLUICE patch report "Token leaks into logs"
run $SLUICE patch triage SHOP-1 --severity major --kind security --line 1.3 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
c fix "fix: redact tokens in logs"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
run $SLUICE patch port SHOP-1 --to 1.2 --as erin@example.com
run git log --format=%s -2
git checkout -q -b release/1.3 v1.3.0 && git merge -q --no-ff hotfix/SHOP-1-token-leaks-into-logs -m "Merge hotfix/SHOP-1 into release/1.3"
run $SLUICE release cut --line 1.3
git checkout -q -b release/1.2 v1.2.3 && git merge -q --no-ff hotfix/SHOP-1-token-leaks-into-logs-1.2 -m "Merge hotfix/SHOP-1 port into release/1.2"
run $SLUICE release plan --line 1.2
run $SLUICE release cut --line 1.2
run git tag --sort=version:refname
run $SLUICE patch show SHOP-1
