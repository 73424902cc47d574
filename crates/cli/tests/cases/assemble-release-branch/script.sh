# Line 1.2 has no release branch: `release cut --line 1.2` builds it from the line's last
# release tag and merges the ready patches' branches; a conflict leaves nothing behind.
# w FILE TEXT MESSAGE: a commit writing TEXT to FILE.
w() {
  n=$((n + 1))
  export GIT_AUTHOR_DATE="@$((1767225600 + n * 60)) +0000" GIT_COMMITTER_DATE="@$((1767225600 + n * 60)) +0000"
  echo "$2" > "$1"; git add "$1"; git commit -qm "$3"
}
c a "feat: checkout"; git tag v1.2.0
c b "fix: checkout rounding"; git tag v1.2.3
c d "feat: search"; git tag v1.3.0
fix() { # fix KEY LINE TITLE FILE TEXT MESSAGE
  $SLUICE patch report "$3" >/dev/null
  $SLUICE patch triage "$1" --severity major --kind fix --line "$2" --owner erin@example.com >/dev/null
  $SLUICE patch start "$1" --as erin@example.com >/dev/null
  w "$4" "$5" "$6"
  $SLUICE patch review "$1" --approve --as frank@example.com >/dev/null
  $SLUICE patch ready "$1" --as erin@example.com >/dev/null
  git checkout -q main
}
fix SHOP-1 1.2 "Login fails with quotes" login.txt "quotes" "fix: accept quotes in passwords"
fix SHOP-2 1.2 "Search drops accents" search.txt "accents" "fix: keep accents in search"
run $SLUICE release cut --line 1.2 --no-assemble
run $SLUICE release plan --line 1.2
run $SLUICE release cut --line 1.2
run git branch --show-current
run git log --format=%s release/1.2 -4
run git tag --sort=version:refname
run $SLUICE verify v1.2.4
# Two fixes for 1.3 that change the same file differently.
fix SHOP-3 1.3 "Price shows two decimals" price.txt "two" "fix: two decimals"
fix SHOP-4 1.3 "Price shows no decimals" price.txt "none" "fix: no decimals"
run $SLUICE release cut --line 1.3
run git branch --list 'release/*'
run git branch --show-current
run git status --porcelain --untracked-files=no
run git tag --sort=version:refname
