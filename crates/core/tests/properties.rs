//! Invariants of the core, checked over generated command sequences.

use jiff::Timestamp;
use proptest::prelude::*;
use semver::Version;
use sluice_core::audit::{self, StoredEvent};
use sluice_core::decide::{self, Ctx};
use sluice_core::model::{ApprovalKind, Patch, PatchStatus, Release, Source, SourceKind, Target};
use sluice_core::process::{self, Line, Process};

fn process() -> Process {
    process::load("sluice.toml", process::DEFAULT_PROCESS).expect("the default process loads")
}

const USERS: &[&str] = &[
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dave@example.com",
    "erin@example.com",
];

fn ready_patch(n: i64, kind: &str, severity: &str, owner: &str, target: Target) -> Patch {
    let at: Timestamp = "2026-11-02T08:00:00Z".parse().unwrap();
    Patch {
        key: format!("SHOP-{n}"),
        number: n,
        title: format!("fix {n}"),
        description: None,
        kind: Some(kind.into()),
        severity: Some(severity.into()),
        priority: None,
        source: Source {
            kind: SourceKind::Bug,
            reference: None,
        },
        reporter: owner.into(),
        owner: Some(owner.into()),
        targets: vec![target],
        branch: None,
        reviews: vec![],
        status: PatchStatus::Ready,
        release: None,
        resolution: None,
        reopened: 0,
        reported_at: at,
        triaged_at: Some(at),
        deadline: None,
        updated_at: at,
        ports: vec![],
        base_commit: None,
        started_by: None,
    }
}

#[derive(Debug, Clone)]
enum Cmd {
    Promote {
        env: usize,
        emergency: bool,
    },
    Approve {
        user: usize,
        env: usize,
        role: usize,
        emergency: bool,
    },
    Test {
        env: usize,
        suite: usize,
        pass: bool,
    },
    Tick {
        user: usize,
        item: usize,
    },
    Amend,
    Wait {
        minutes: i64,
    },
    /// Meets one requirement of the next gate the way a diligent team would.
    Helpful {
        pick: usize,
    },
    /// Jumps to the next opening of the next environment's windows.
    WaitForWindow,
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        3 => (0..4usize, any::<bool>()).prop_map(|(env, emergency)| Cmd::Promote { env, emergency }),
        3 => (0..5usize, 0..4usize, 0..6usize, any::<bool>()).prop_map(|(user, env, role, emergency)| Cmd::Approve { user, env, role, emergency }),
        4 => (0..4usize, 0..5usize, prop::bool::weighted(0.8)).prop_map(|(env, suite, pass)| Cmd::Test { env, suite, pass }),
        1 => (0..5usize, 0..2usize).prop_map(|(user, item)| Cmd::Tick { user, item }),
        1 => Just(Cmd::Amend),
        2 => (0..(60 * 24 * 3i64)).prop_map(|minutes| Cmd::Wait { minutes }),
        8 => (0..8usize).prop_map(|pick| Cmd::Helpful { pick }),
        1 => Just(Cmd::WaitForWindow),
    ]
}

/// An independent reading of the gate rules, written plainly, to check the decider against.
fn oracle_allows(
    p: &Process,
    r: &Release,
    env_idx: usize,
    now: Timestamp,
    emergency: bool,
    eligible: bool,
) -> bool {
    let env = &p.environments[env_idx];
    if r.has_reached(&env.name) || r.in_flight.is_some() {
        return false;
    }
    if env_idx > 0 {
        let prev = &p.environments[env_idx - 1];
        if !r.has_reached(&prev.name) {
            return false;
        }
        for s in &prev.tests {
            let last = r.tests.iter().rfind(|t| {
                t.env == prev.name
                    && &t.suite == s
                    && t.content_hash
                        .as_deref()
                        .is_none_or(|h| h == r.content_hash)
            });
            if !last.is_some_and(|t| t.passed) {
                return false;
            }
        }
    }
    let approvers = |role: &str, kind: ApprovalKind| {
        let mut v: Vec<&str> = r
            .approvals
            .iter()
            .filter(|a| {
                a.env == env.name
                    && a.role == role
                    && a.kind == kind
                    && a.content_hash == r.content_hash
            })
            .filter(|a| p.roles[role].contains(&a.approver) && !r.authors.contains(&a.approver))
            .map(|a| a.approver.as_str())
            .collect();
        v.sort();
        v.dedup();
        v.len()
    };
    for role in &env.approvals {
        if approvers(role, ApprovalKind::Standard) < env.quorum as usize {
            return false;
        }
    }
    for item in p.checklist.iter().filter(|c| c.before == env.name) {
        if !r.checklist.iter().any(|t| t.id == item.id) {
            return false;
        }
    }
    let local = now.to_zoned_datetime(p.cadence.timezone.clone());
    let frozen = env
        .freezes
        .iter()
        .any(|f| f.from <= local.date() && local.date() <= f.to);
    let in_window = env.windows.is_empty()
        || env.windows.iter().any(|w| {
            w.days.contains(&local.weekday())
                && local.time() >= w.start
                && (w.end_of_day || local.time() < w.end)
        });
    if emergency {
        !env.emergency_approvals.is_empty()
            && eligible
            && env
                .emergency_approvals
                .iter()
                .all(|role| approvers(role, ApprovalKind::Emergency) >= 1)
    } else {
        !frozen && in_window
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// No command sequence gets a release into an environment with that gate unmet,
    /// and nothing reaches prod without passing every environment before it.
    #[test]
    fn no_sequence_passes_an_unmet_gate(cmds in prop::collection::vec(cmd(), 1..150), critical in any::<bool>(), start_min in 0..(60 * 24 * 60i64)) {
        let p = process();
        let mut now: Timestamp = "2026-11-30T00:00:00Z".parse::<Timestamp>().unwrap()
            .checked_add(jiff::SignedDuration::from_mins(start_min)).unwrap();
        let sev = if critical { "critical" } else { "major" };
        let patches = [ready_patch(1, "fix", sev, "erin@example.com", Target::Main), ready_patch(2, "security", "minor", "dave@example.com", Target::Main)];
        let extra = ready_patch(3, "perf", "minor", "frank@example.com", Target::Main);
        let refs: Vec<&Patch> = patches.iter().collect();
        let ctx = Ctx { process: &p, actor: "bob@example.com", now };
        let plan = decide::plan(&ctx, Target::Main, &refs, &[]);
        let (mut r, _, _) = decide::cut(&ctx, &plan, &refs).unwrap();
        let mut members: Vec<Patch> = patches.to_vec();
        let roles: Vec<String> = p.roles.keys().cloned().collect();
        let suites = ["unit", "integration", "regression", "smoke", "verification"];
        for c in cmds {
            let eligible = members.iter().any(|x| x.severity.as_deref() == Some("critical"));
            match c {
                Cmd::Wait { minutes } => now = now.checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap(),
                Cmd::WaitForWindow => {
                    if let Some(e) = p.environments.iter().find(|e| !r.has_reached(&e.name))
                        && let Some(t) = sluice_core::window::next_opening(e, &p.cadence.timezone, now)
                    {
                        now = t;
                    }
                }
                Cmd::Helpful { pick } => {
                    let Some(idx) = p.environments.iter().position(|e| !r.has_reached(&e.name)) else { continue };
                    let env = &p.environments[idx];
                    let mut moves: Vec<(String, Cmd)> = Vec::new();
                    if idx > 0 {
                        for s in &p.environments[idx - 1].tests {
                            if let Some(i) = suites.iter().position(|x| x == s) {
                                moves.push(("alice@example.com".into(), Cmd::Test { env: idx - 1, suite: i, pass: true }));
                            }
                        }
                    }
                    for (emergency, list) in [(false, &env.approvals), (true, &env.emergency_approvals)] {
                        for role in list {
                            let ri = roles.iter().position(|x| x == role).unwrap();
                            for m in &p.roles[role] {
                                if let Some(ui) = USERS.iter().position(|u| u == m) {
                                    moves.push((m.clone(), Cmd::Approve { user: ui, env: idx, role: ri, emergency }));
                                }
                            }
                        }
                    }
                    for (i, item) in p.checklist.iter().enumerate().filter(|(_, c)| c.before == env.name) {
                        let by = item.by.as_deref().unwrap_or("release_manager");
                        if let Some(ui) = USERS.iter().position(|u| p.roles[by].iter().any(|m| m == u)) {
                            moves.push((USERS[ui].into(), Cmd::Tick { user: ui, item: i }));
                        }
                    }
                    moves.push(("bob@example.com".into(), Cmd::Promote { env: idx, emergency: pick % 5 == 0 }));
                    let (_, chosen) = moves[pick % moves.len()].clone();
                    match chosen {
                        Cmd::Test { env, suite, pass } => {
                            let ctx = Ctx { process: &p, actor: "alice@example.com", now };
                            let mrefs: Vec<&Patch> = members.iter().collect();
                            if let Ok((n, _, _)) = decide::report_test(&ctx, &r, &mrefs, &p.environments[env].name, suites[suite], pass, None) {
                                r = n;
                            }
                        }
                        Cmd::Approve { user, env, role, emergency } => {
                            let ctx = Ctx { process: &p, actor: USERS[user], now };
                            if let Ok((n, _)) = decide::approve(&ctx, &r, &p.environments[env].name, &roles[role], emergency, None) {
                                r = n;
                            }
                        }
                        Cmd::Tick { user, item } => {
                            let ctx = Ctx { process: &p, actor: USERS[user], now };
                            if let Ok((n, _)) = decide::tick(&ctx, &r, &p.checklist[item].id) {
                                r = n;
                            }
                        }
                        Cmd::Promote { env, emergency } => {
                            let ctx = Ctx { process: &p, actor: "bob@example.com", now };
                            let mrefs: Vec<&Patch> = members.iter().collect();
                            let allowed = oracle_allows(&p, &r, env, now, emergency, eligible);
                            let name = p.environments[env].name.clone();
                            match decide::start_promotion(&ctx, &r, &mrefs, &[], &name, emergency.then_some("outage"), "D1") {
                                Ok((claimed, dep, _)) => {
                                    prop_assert!(allowed, "decider let {} into {name} but the rules say no", r.version);
                                    let f = decide::finish_promotion(&ctx, &claimed, &dep, &mrefs, decide::RunResult::default()).unwrap();
                                    r = f.release;
                                    if std::env::var_os("SLUICE_PROP_TRACE").is_some() { eprintln!("ENTERED {name}"); }
                                }
                                Err(_) => prop_assert!(!allowed, "decider refused {name} though every rule is met"),
                            }
                        }
                        _ => {}
                    }
                }
                Cmd::Promote { env, emergency } => {
                    let ctx = Ctx { process: &p, actor: "bob@example.com", now };
                    let mrefs: Vec<&Patch> = members.iter().collect();
                    let allowed = oracle_allows(&p, &r, env, now, emergency, eligible);
                    let name = p.environments[env].name.clone();
                    match decide::start_promotion(&ctx, &r, &mrefs, &[], &name, emergency.then_some("outage"), "D1") {
                        Ok((claimed, dep, _)) => {
                            prop_assert!(allowed, "decider let {} into {name} but the rules say no: {:?}", r.version, r);
                            let f = decide::finish_promotion(&ctx, &claimed, &dep, &mrefs, decide::RunResult::default()).unwrap();
                            r = f.release;
                            if std::env::var_os("SLUICE_PROP_TRACE").is_some() { eprintln!("ENTERED {name}"); }
                        }
                        Err(_) => prop_assert!(!allowed, "decider refused {name} though every rule is met"),
                    }
                }
                Cmd::Approve { user, env, role, emergency } => {
                    let ctx = Ctx { process: &p, actor: USERS[user], now };
                    if let Ok((n, _)) = decide::approve(&ctx, &r, &p.environments[env].name, &roles[role], emergency, None) {
                        r = n;
                    }
                }
                Cmd::Test { env, suite, pass } => {
                    let ctx = Ctx { process: &p, actor: "alice@example.com", now };
                    let mrefs: Vec<&Patch> = members.iter().collect();
                    if let Ok((n, _, _)) = decide::report_test(&ctx, &r, &mrefs, &p.environments[env].name, suites[suite], pass, None) {
                        r = n;
                    }
                }
                Cmd::Tick { user, item } => {
                    let ctx = Ctx { process: &p, actor: USERS[user], now };
                    if let Ok((n, _)) = decide::tick(&ctx, &r, &p.checklist[item].id) {
                        r = n;
                    }
                }
                Cmd::Amend => {
                    let ctx = Ctx { process: &p, actor: "bob@example.com", now };
                    let mrefs: Vec<&Patch> = members.iter().collect();
                    if !members.iter().any(|m| m.key == extra.key)
                        && let Ok((n, _, _)) = decide::amend(&ctx, &r, &mrefs, &[&extra], &[])
                    {
                        r = n;
                        let mut x = extra.clone();
                        x.release = Some(r.version.to_string());
                        members.push(x);
                    }
                }
            }
            // Environments are entered in order, never skipped.
            for (i, e) in r.reached.iter().enumerate() {
                prop_assert_eq!(e, &p.environments[i].name);
            }
        }
    }

    /// A planned release is always above every earlier release of its line, and new.
    #[test]
    fn planned_version_is_above_its_line(
        existing in prop::collection::vec((0u64..3, 0u64..4, 0u64..6), 0..12),
        kinds in prop::collection::vec(0usize..5, 1..6),
        on_line in any::<bool>(),
    ) {
        let p = process();
        let ctx = Ctx { process: &p, actor: "bob@example.com", now: "2026-11-30T00:00:00Z".parse().unwrap() };
        let versions: Vec<Version> = existing.iter().map(|(a, b, c)| Version::new(*a, *b, *c)).collect();
        let line = Line { major: 1, minor: 2 };
        let target = if on_line { Target::Line(line) } else { Target::Main };
        let names = ["fix", "security", "perf", "feature", "breaking"];
        let patches: Vec<Patch> = kinds.iter().enumerate().map(|(i, k)| ready_patch(i as i64 + 1, names[*k], "minor", "erin@example.com", target)).collect();
        let refs: Vec<&Patch> = patches.iter().collect();
        let plan = decide::plan(&ctx, target, &refs, &versions);
        prop_assert!(!versions.contains(&plan.version), "{} already exists", plan.version);
        for v in versions.iter().filter(|v| Line::of(v) == plan.line) {
            prop_assert!(&plan.version > v, "{} is not above {}", plan.version, v);
        }
        if on_line {
            prop_assert_eq!(plan.line, line);
            let non_patch = kinds.iter().any(|k| *k >= 3);
            prop_assert_eq!(plan.violations.is_empty(), !non_patch);
            prop_assert_eq!(decide::cut(&ctx, &plan, &refs).is_ok(), !non_patch);
        } else {
            prop_assert!(versions.iter().all(|v| &plan.version > v));
        }
    }

    /// Verification fails if and only if an event was altered, and names it.
    #[test]
    fn audit_verification_fails_iff_altered(
        n in 1usize..30,
        target in 0usize..30,
        field in 0usize..6,
        alter in any::<bool>(),
        junk in "[a-z]{1,8}",
    ) {
        let mut chain: Vec<StoredEvent> = Vec::new();
        for i in 0..n {
            let prev = chain.last().map(|e| (e.hash.as_str(), e.seq));
            let e = audit::chain(prev, 1_700_000_000_000 + i as i64, "alice@example.com", "patch.reported", &format!("SHOP-{i}"), format!("{{\"n\":{i}}}"));
            chain.push(e);
        }
        prop_assert_eq!(audit::verify(&chain), Ok(n as u64));
        let target = target % n;
        let mut changed = false;
        if alter {
            let e = &mut chain[target];
            let before = e.clone();
            match field {
                0 => e.actor.push_str(&junk),
                1 => e.payload = format!("{{\"forged\":\"{junk}\"}}"),
                2 => e.at_ms += 1,
                3 => e.kind = format!("patch.{junk}"),
                4 => e.subject.push_str(&junk),
                _ => e.hash = audit::hex(&[7u8; 32]),
            }
            changed = *e != before;
        }
        match audit::verify(&chain) {
            Ok(_) => prop_assert!(!changed, "an altered event went unnoticed"),
            Err(b) => {
                prop_assert!(changed, "an intact chain failed: {:?}", b);
                prop_assert_eq!(b.seq, chain[target].seq);
            }
        }
    }
}
