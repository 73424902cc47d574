# A feat commit and a breaking change on a hotfix line are refused, each named;
# only --allow-scope --reason lets them through, and the override is recorded.
c a "feat: checkout"; git tag v1.2.3
run $SLUICE release import 1.2.3
run $SLUICE patch report "Slow checkout"
run $SLUICE patch triage SHOP-1 --severity major --kind fix --line 1.2 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
c f1 "fix: cache prices (SHOP-1)"
c f2 "feat: bulk discounts (SHOP-1)"
c f3 "refactor!: new pricing API" 
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
run $SLUICE release cut --line 1.2 --target hotfix/SHOP-1-slow-checkout
run git tag
run $SLUICE release cut --line 1.2 --target hotfix/SHOP-1-slow-checkout --allow-scope --reason "agreed with the customer"
run $SLUICE audit --subject 1.2.4
