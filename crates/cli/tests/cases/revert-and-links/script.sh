# Commit mode: `Revert "…"` commits are listed under Reverted, or cancel out with the
# commit they revert when both are unreleased; link reference definitions follow the
# headings when a compare URL template is given.
rm sluice.toml
# r REV: `git revert` of REV, one minute after the previous commit.
r() {
  n=$((n + 1))
  export GIT_AUTHOR_DATE="@$((1767225600 + n * 60)) +0000" GIT_COMMITTER_DATE="@$((1767225600 + n * 60)) +0000"
  git revert --no-edit "$1" >/dev/null
}
c a "feat: first"; git tag v1.0.0
c b "feat: search"
c d "fix: crash on empty cart"; git tag v1.1.0
c e "feat: wishlist"
r HEAD
c f "fix: rounding"
r v1.1.0
run git log --format=%s v1.1.0..HEAD
run $SLUICE changelog --compare-url "https://git.example.com/shop/compare/{previous_tag}...{tag}"
run $SLUICE version --next
run $SLUICE changelog --unreleased --bump --compare-url "https://git.example.com/shop/compare/{previous_tag}...{tag}"
