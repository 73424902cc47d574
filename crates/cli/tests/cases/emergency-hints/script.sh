# Outside the window, the emergency lane is offered only when a patch's severity allows
# it, and the hint starts with the emergency approval it needs, by the one who gives it.
c a "feat: checkout"
fix() { # fix KEY SEVERITY TITLE FILE MESSAGE
  $SLUICE patch report "$3" >/dev/null
  $SLUICE patch triage "$1" --severity "$2" --kind fix --owner erin@example.com >/dev/null
  $SLUICE patch start "$1" --as erin@example.com >/dev/null
  c "$4" "$5"
  $SLUICE patch review "$1" --approve --as frank@example.com >/dev/null
  $SLUICE patch ready "$1" --as erin@example.com >/dev/null
  git checkout -q main
  git merge -q --no-ff "$(git branch --list "hotfix/$1-*" --format='%(refname:short)')" -m "Merge $1"
}
fix SHOP-1 major "Typo on the front page" typo "fix: spell checkout right"
run $SLUICE release cut
run $SLUICE promote 0.1.0 --to prod
fix SHOP-2 critical "Payments fail for every card" pay "fix: send the card's expiry"
run $SLUICE release cut
run $SLUICE promote 0.1.1 --to prod
run $SLUICE approve 0.1.1 --env prod --role product_owner --emergency --as carol@example.com
run $SLUICE promote 0.1.1 --to prod
run $SLUICE promote 0.1.1 --to prod --emergency --reason "card payments are down"
