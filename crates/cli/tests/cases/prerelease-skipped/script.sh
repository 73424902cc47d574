# Pre-release tags are never a base: the patch branch starts from v1.2.3, not v1.2.4-rc.1.
c a "feat: checkout"; git tag v1.2.3
c b "fix: candidate work"; git tag v1.2.4-rc.1
run $SLUICE patch report "Crash on empty cart"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.2
run $SLUICE patch start SHOP-1 --as erin@example.com
run git log --format=%s -1
run git describe --tags
