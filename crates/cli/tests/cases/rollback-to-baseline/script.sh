# v1.2.3 ran in production before Sluice. The first release through Sluice can be rolled
# back to it once it is recorded there; the refusal says how.
c a "feat: checkout"; git tag v1.2.3
run $SLUICE patch report "Login fails with quotes"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.2 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
c fix "fix: accept quotes in passwords"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
git checkout -q main
run $SLUICE release cut --line 1.2
run $SLUICE promote 1.2.4 --to prod
run $SLUICE rollback --env prod --yes
run $SLUICE release import 1.2.3 --env prod
run $SLUICE rollback --env prod --yes
run $SLUICE status
run $SLUICE release import 1.2.2 --env prod
