# Commit mode, no process file: the same versions tagged in two shapes (`v1.0.0` and
# `1.0.0` on one commit) give one section per version.
rm sluice.toml
c a "feat: first"; git tag v1.0.0; git tag 1.0.0
c b "fix: second"; git tag v1.0.1; git tag 1.0.1
c d "feat: third"; git tag 1.1.0
c e "fix: fourth"
run $SLUICE changelog
run $SLUICE version --next
