# Commit mode, no process file: tags are named `1.2.3`, plus one stale `v` tag from long
# ago. The shape most tags have is used, and the user is told once.
c a "feat: first"; git tag 0.1.0-beta.1
c b "feat: second"; git tag 1.0.0
c d "fix: third"; git tag 1.0.1
c e "feat: fourth"; git tag -a 1.1.0 -m "1.1.0"
c f "fix: fifth"
# A process file whose template fits none of them: `check` says which one would.
run $SLUICE check
rm sluice.toml
git tag v0.1.0 HEAD~4
run $SLUICE version
run $SLUICE version --next
run $SLUICE changelog
run $SLUICE version --tag-template "v{version}"
