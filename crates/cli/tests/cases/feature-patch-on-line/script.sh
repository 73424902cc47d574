# A patch whose kind may not ship in a patch release is refused by name.
c a "feat: checkout"; git tag v1.2.3
run $SLUICE release import 1.2.3
run $SLUICE patch report "Add CSV export"
run $SLUICE patch triage SHOP-1 --severity major --kind feature --line 1.2 --owner erin@example.com
run $SLUICE patch start SHOP-1 --as erin@example.com
c e "feat: csv export"
run $SLUICE patch review SHOP-1 --approve --as frank@example.com
run $SLUICE patch ready SHOP-1 --as erin@example.com
run $SLUICE release cut --line 1.2 --target hotfix/SHOP-1-add-csv-export
