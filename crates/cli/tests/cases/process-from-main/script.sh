# sluice.toml is committed on main only; an old line checked out has none, so
# Sluice reads the process from main.
c a "feat: checkout"; git tag v1.2.3
git add -f sluice.toml; git commit -qm "chore: adopt sluice"
run $SLUICE release import 1.2.3
run $SLUICE patch report "Refund rounding"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.2 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
run ls
c r "fix: round refunds half-even"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
run $SLUICE release cut --line 1.2 --target hotfix/SHOP-1-refund-rounding
run git tag --sort=version:refname
