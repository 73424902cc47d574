# Commit mode, no process file: 500 lightweight unprefixed tags on a history with a merge
# every 25 releases (a side branch with a fix, merged with a merge commit).
rm sluice.toml
for i in $(seq 1 500); do
  if [ $((i % 25)) = 0 ]; then
    git checkout -q -b side$i
    c s$i "fix: side fix $i"
    git checkout -q main
    c m$i "fix: main fix $i"
    git merge -q --no-ff side$i -m "Merge branch 'side$i'"
  else
    c x$i "fix: change $i"
  fi
  git tag "1.0.$i"
done
c last "feat: one more feature"
run $SLUICE version
run $SLUICE version --next
$SLUICE changelog > CHANGES.md 2>notes.txt
run cat notes.txt
run grep -c "^## " CHANGES.md
run sed -n '8,30p' CHANGES.md
run tail -n 4 CHANGES.md
