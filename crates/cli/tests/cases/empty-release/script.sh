# Nothing ready: the release is refused, nothing is tagged.
c a "feat: checkout"; git tag v1.2.3
run $SLUICE release import 1.2.3
run $SLUICE patch report "Not ready yet"
run $SLUICE release plan --line 1.2
run $SLUICE release cut --line 1.2
run git tag
