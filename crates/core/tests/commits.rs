//! The Conventional Commits parser against real messages (shared fixtures),
//! the spec's own examples, known hard cases, and generated messages.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sluice_core::commits::{
    self, Conventional, Footer, NotConventional, Separator, bump, changelog_entry, key_in_branch,
    patch_keys, section,
};
use sluice_core::process::Bump;

#[path = "../../../support/fixtures.rs"]
mod fixtures;

fn fixture(name: &str) -> String {
    let path = format!("{}/commits/{name}", fixtures::root().display());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn corpus() -> Vec<(String, String)> {
    fixture("conventional-commits.jsonl")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
            let sha = v["sha"].as_str().expect("sha").to_owned();
            let message = v["message"].as_str().expect("message").to_owned();
            (sha, message)
        })
        .collect()
}

/// What a deliberately simple reading of the header says.
#[derive(Debug, PartialEq)]
struct Oracle<'a> {
    kind: &'a str,
    scope: Option<&'a str>,
    breaking: bool,
    description: &'a str,
}

fn oracle(message: &str) -> Oracle<'_> {
    let header = message.lines().find(|l| !l.trim().is_empty()).unwrap();
    let colon = header.find(':').unwrap();
    let end = header.find(['(', '!', ':']).unwrap();
    let kind = &header[..end];
    let scope = header[..colon]
        .find('(')
        .map(|open| &header[open + 1..header.find(')').unwrap()])
        .filter(|s| !s.is_empty());
    // The scope may itself hold a `:` (`category(fix:subcategory):`).
    let colon = match header.find(')') {
        Some(close) if header[..colon].contains('(') => close + header[close..].find(':').unwrap(),
        _ => colon,
    };
    let bang = header[..colon].ends_with('!');
    let breaking_footer = message
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .skip(1)
        .any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
    Oracle {
        kind,
        scope,
        breaking: bang || breaking_footer,
        description: header[colon + 1..].trim(),
    }
}

#[test]
fn every_real_message_parses_like_the_oracle_says() {
    let Some(_) = fixtures::dir("every_real_message_parses_like_the_oracle_says") else {
        return;
    };
    let corpus = corpus();
    assert_eq!(corpus.len(), 674);
    let mut types = BTreeMap::<String, usize>::new();
    let mut tokens = BTreeMap::<String, usize>::new();
    let mut breaking = 0;
    let mut with_body = 0;
    let mut with_footers = 0;
    for (sha, message) in &corpus {
        let c = commits::parse(message).unwrap_or_else(|e| panic!("{sha}: {e}\n{message}"));
        let got = Oracle {
            kind: c.kind,
            scope: c.scope,
            breaking: c.breaking,
            description: c.description,
        };
        assert_eq!(got, oracle(message), "{sha}\n{message}");
        *types.entry(c.kind.to_owned()).or_default() += 1;
        for f in &c.footers {
            *tokens.entry(f.token.to_ascii_lowercase()).or_default() += 1;
        }
        breaking += usize::from(c.breaking);
        with_body += usize::from(c.body.is_some());
        with_footers += usize::from(!c.footers.is_empty());
    }
    println!("{} messages parsed", corpus.len());
    // Footer tokens seen fewer than 3 times are summed up, to keep the
    // snapshot about the parser rather than about every project's habits.
    let (common, rare): (BTreeMap<_, _>, BTreeMap<_, _>) =
        tokens.into_iter().partition(|(_, n)| *n >= 3);
    let summary = serde_json::json!({
        "messages": corpus.len(),
        "breaking": breaking,
        "with_body": with_body,
        "with_footers": with_footers,
        "types": types,
        "footer_tokens": common,
        "rare_footer_tokens": rare.values().sum::<usize>(),
    });
    insta::assert_yaml_snapshot!("corpus_summary", summary);
}

#[test]
fn trailers_in_the_last_paragraph_are_footers() {
    let Some(_) = fixtures::dir("trailers_in_the_last_paragraph_are_footers") else {
        return;
    };
    let wanted = ["Co-authored-by", "Signed-off-by", "Refs", "Fixes"];
    let mut checked = 0;
    for (sha, message) in corpus() {
        let last = message.trim_end().rsplit("\n\n").next().unwrap();
        let c = commits::parse(&message).unwrap();
        for token in wanted {
            let in_last = last.lines().any(|l| {
                l.strip_prefix(token)
                    .is_some_and(|rest| rest.starts_with(": ") || rest.starts_with(" #"))
            });
            if in_last {
                checked += 1;
                assert!(
                    c.footers_named(token).next().is_some(),
                    "{sha}: no {token} footer in {:#?}\n{message}",
                    c.footers
                );
            }
        }
    }
    println!("{checked} trailers checked");
    assert!(checked > 150, "only {checked} trailers checked");
}

/// (source, message) for each case of tricky-cases.txt.
fn tricky_cases() -> Vec<(String, String)> {
    let text = fixture("tricky-cases.txt");
    let mut cases: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if let Some(source) = bare
            .strip_prefix("=== CASE ")
            .and_then(|s| s.strip_suffix(" ==="))
        {
            cases.push((source.to_owned(), String::new()));
        } else {
            cases
                .last_mut()
                .expect("a case header first")
                .1
                .push_str(line);
        }
    }
    // The newline before the next `=== CASE` line is a separator.
    for (_, message) in &mut cases {
        if message.ends_with('\n') {
            message.pop();
        }
    }
    cases
}

fn slug(source: &str) -> String {
    let name = match source.find(" (") {
        Some(paren) => &source[paren + 2..source.len() - 1],
        None => source.rsplit('/').next().unwrap().trim_end_matches(".txt"),
    };
    let mut slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while slug.contains("__") {
        slug = slug.replace("__", "_");
    }
    slug.trim_matches('_').to_owned()
}

#[test]
fn tricky_cases_snapshot() {
    let Some(_) = fixtures::dir("tricky_cases_snapshot") else {
        return;
    };
    let cases = tricky_cases();
    assert_eq!(cases.len(), 25);
    for (i, (source, message)) in cases.iter().enumerate() {
        let result = commits::parse(message);
        insta::with_settings!({ description => source.as_str(), omit_expression => true }, {
            insta::assert_debug_snapshot!(format!("tricky_{:02}_{}", i + 1, slug(source)), result);
        });
    }
}

#[test]
fn tricky_files_parse_like_their_cases() {
    let Some(_) = fixtures::dir("tricky_files_parse_like_their_cases") else {
        return;
    };
    let cases = tricky_cases();
    let dir = format!("{}/commits/tricky", fixtures::root().display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 17);
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let original = name.split_once('.').unwrap().1;
        let (_, case) = cases
            .iter()
            .find(|(source, _)| source.ends_with(&format!("/{original}")))
            .unwrap_or_else(|| panic!("no case for {name}"));
        let bytes = std::fs::read_to_string(&path).unwrap();
        assert_eq!(commits::parse(&bytes), commits::parse(case), "{name}");
    }
}

#[test]
fn bad_commit_is_an_error() {
    let Some(_) = fixtures::dir("bad_commit_is_an_error") else {
        return;
    };
    let bytes = fixture("tricky/conventional-commits-parser.bad_commit.txt");
    assert_eq!(bytes, "\n");
    assert_eq!(commits::parse(&bytes), Err(NotConventional::Empty));
}

fn spec_case(title: &str) -> String {
    tricky_cases()
        .into_iter()
        .find(|(source, _)| source.contains(title))
        .unwrap_or_else(|| panic!("no spec case {title}"))
        .1
}

#[test]
fn spec_examples_give_the_table_results() {
    let Some(_) = fixtures::dir("spec_examples_give_the_table_results") else {
        return;
    };
    let m = spec_case("description and breaking change footer");
    let c = commits::parse(&m).unwrap();
    assert_eq!(
        (c.kind, c.scope, c.bang, c.breaking),
        ("feat", None, false, true)
    );
    assert_eq!(
        c.breaking_description,
        Some("`extends` key in config file is now used for extending other config files")
    );
    assert_eq!(c.body, None);

    let m = spec_case("Commit message with `!` to draw attention");
    let c = commits::parse(&m).unwrap();
    assert_eq!(
        (c.kind, c.scope, c.bang, c.breaking),
        ("feat", None, true, true)
    );
    assert_eq!(
        c.description,
        "send an email to the customer when a product is shipped"
    );
    assert_eq!(c.breaking_description, None);

    let m = spec_case("scope and `!`");
    let c = commits::parse(&m).unwrap();
    assert_eq!(
        (c.kind, c.scope, c.bang, c.breaking),
        ("feat", Some("api"), true, true)
    );

    let m = spec_case("both `!` and BREAKING CHANGE");
    let c = commits::parse(&m).unwrap();
    assert_eq!((c.kind, c.bang, c.breaking), ("feat", true, true));
    assert_eq!(
        c.breaking_description,
        Some("use JavaScript features not available in Node 6.")
    );

    let m = spec_case("Commit message with no body");
    let c = commits::parse(&m).unwrap();
    assert_eq!((c.kind, c.scope, c.breaking), ("docs", None, false));
    assert_eq!((c.body, c.footers.len()), (None, 0));
    assert_eq!(c.description, "correct spelling of CHANGELOG");

    let m = spec_case("Commit message with scope)");
    let c = commits::parse(&m).unwrap();
    assert_eq!((c.kind, c.scope, c.breaking), ("feat", Some("lang"), false));
    assert_eq!(c.description, "add Polish language");

    let m = spec_case("multi-paragraph body");
    let c = commits::parse(&m).unwrap();
    assert_eq!((c.kind, c.breaking), ("fix", false));
    assert_eq!(
        c.body,
        Some(
            "Introduce a request id and a reference to latest request. Dismiss\n\
             incoming responses other than from latest request.\n\n\
             Remove timeouts which were used to mitigate the racing issue but are\n\
             obsolete now."
        )
    );
    assert_eq!(c.body.unwrap().split("\n\n").count(), 2);
    assert_eq!(
        c.footers,
        [
            Footer {
                token: "Reviewed-by",
                separator: Separator::Colon,
                value: "Z"
            },
            Footer {
                token: "Refs",
                separator: Separator::Colon,
                value: "#123"
            },
        ]
    );

    let m = spec_case("revert example");
    let c = commits::parse(&m).unwrap();
    assert!(c.is_revert());
    assert_eq!(
        c.description,
        "let us never again speak of the noodle incident"
    );
    assert_eq!(
        c.footers,
        [Footer {
            token: "Refs",
            separator: Separator::Colon,
            value: "676104e, a215868"
        }]
    );
}

#[test]
fn footer_block_rules() {
    let Some(_) = fixtures::dir("footer_block_rules") else {
        return;
    };
    // Trailers right after the body, no blank line.
    let m = fixture("tricky/release-please.git-trailers-with-breaking.txt");
    let c = commits::parse(&m).unwrap();
    assert_eq!(c.body, Some("some body"));
    let tokens: Vec<_> = c.footers.iter().map(|f| f.token).collect();
    assert_eq!(
        tokens,
        ["PiperOrigin-RevId", "Source-Link", "BREAKING CHANGE"]
    );
    assert!(c.breaking);

    // A multi-line breaking footer.
    let m = fixture("tricky/release-please.multi-line-breaking-body-list.txt");
    let c = commits::parse(&m).unwrap();
    assert_eq!(
        c.breaking_description,
        Some("we were on Node 6\n- deleted API foo\n- deleted API bar")
    );

    // `Fixes #123`: the value keeps its `#`.
    let m = fixture("tricky/release-please.bug-link.txt");
    let c = commits::parse(&m).unwrap();
    assert_eq!(
        c.footers,
        [Footer {
            token: "Fixes",
            separator: Separator::Hash,
            value: "#123"
        }]
    );
    assert_eq!(c.body, None);

    // A `Fixes` paragraph followed by prose stays in the body.
    let c = commits::parse("fix: x\n\nFixes #1\n\nMore words here.\n").unwrap();
    assert_eq!(c.body, Some("Fixes #1\n\nMore words here."));
    assert!(c.footers.is_empty());

    // BREAKING CHANGE mid-body starts the block; its value runs to the next token.
    let c = commits::parse("feat: y\n\nintro\n\nBREAKING CHANGE: gone\n\nexplained\n\nCloses #4\n")
        .unwrap();
    assert_eq!(c.body, Some("intro"));
    assert_eq!(c.breaking_description, Some("gone\n\nexplained"));
    assert_eq!(c.footers[1].value, "#4");

    // CRLF messages.
    let c = commits::parse("fix(a): b\r\n\r\nbody\r\n\r\nRefs: #1\r\n").unwrap();
    assert_eq!(
        (c.scope, c.body, c.footers[0].value),
        (Some("a"), Some("body"), "#1")
    );

    // Lower-case `breaking change:` is not a breaking footer (the spec wants upper case).
    assert!(
        !commits::parse("fix: a\n\nbreaking change: no")
            .unwrap()
            .breaking
    );
}

#[test]
fn not_conventional_messages_are_errors() {
    let cases: &[(&str, NotConventional)] = &[
        ("", NotConventional::Empty),
        ("\n\n  \n", NotConventional::Empty),
        ("Merge branch 'main'", NotConventional::MissingColon),
        ("Revert \"feat: x\"", NotConventional::MissingColon),
        ("1feat: x", NotConventional::NoType),
        (": x", NotConventional::NoType),
        ("feat(api: x", NotConventional::UnclosedScope),
        ("feat:x", NotConventional::MissingSpace),
        ("feat: ", NotConventional::EmptyDescription),
        ("feat:  \t", NotConventional::EmptyDescription),
        ("fix(x)?: y", NotConventional::MissingColon),
    ];
    for (message, reason) in cases {
        assert_eq!(commits::parse(message), Err(*reason), "{message:?}");
    }
    assert_eq!(
        NotConventional::MissingColon.to_string(),
        "the type is not followed by `:`"
    );
}

#[test]
fn patch_keys_from_subject_and_trailers() {
    let m = "fix(auth): SHOP-12 login fails, see also SHOP-7\n\nNot SHOP-99 in the body.\n\nPatch: SHOP-7, SHOP-30\npatch: SHOP-31 SHOP-12\n";
    assert_eq!(
        patch_keys(m, "SHOP"),
        ["SHOP-12", "SHOP-7", "SHOP-30", "SHOP-31"]
    );
    assert_eq!(
        patch_keys("fix: XSHOP-12 and SHOP-12a and SHOP_12", "SHOP"),
        Vec::<String>::new()
    );
    assert_eq!(
        patch_keys("fix: (SHOP-3) [SHOP-4]/SHOP-5.", "SHOP-"),
        ["SHOP-3", "SHOP-4", "SHOP-5"]
    );
    assert_eq!(patch_keys("Hotfix shop-8", "SHOP"), ["SHOP-8"]);
    assert_eq!(
        patch_keys("fix: x\n\nPatch: SHOP-1x, nope\n", "SHOP"),
        Vec::<String>::new()
    );
    assert_eq!(patch_keys("", "SHOP"), Vec::<String>::new());
    assert_eq!(patch_keys("SHOP-1", ""), Vec::<String>::new());
    assert_eq!(patch_keys("fix: é SHOP-2 ü", "SHOP"), ["SHOP-2"]);
}

#[test]
fn key_in_branch_names() {
    assert_eq!(
        key_in_branch("hotfix/SHOP-12-login-fails", "SHOP").as_deref(),
        Some("SHOP-12")
    );
    assert_eq!(
        key_in_branch("hotfix/shop-12", "SHOP").as_deref(),
        Some("SHOP-12")
    );
    assert_eq!(key_in_branch("feature/XSHOP-12", "SHOP"), None);
    assert_eq!(key_in_branch("SHOP-3_x", "SHOP"), None);
    assert_eq!(key_in_branch("release/1.2", "SHOP"), None);
}

#[test]
fn bumps_and_sections() {
    let cases = [
        ("feat: a", Some(Bump::Minor), Some("Added")),
        ("FEAT: a", Some(Bump::Minor), Some("Added")),
        ("fix: a", Some(Bump::Patch), Some("Fixed")),
        ("perf: a", Some(Bump::Patch), Some("Changed")),
        ("refactor: a", None, Some("Changed")),
        ("revert: a", None, Some("Changed")),
        ("security: a", Some(Bump::Patch), Some("Security")),
        ("fix(security): a", Some(Bump::Patch), Some("Security")),
        ("deprecate: a", Some(Bump::Minor), Some("Deprecated")),
        ("feat!: a", Some(Bump::Major), Some("Changed")),
        (
            "fix: a\n\nBREAKING CHANGE: b",
            Some(Bump::Major),
            Some("Changed"),
        ),
        ("remove!: a", Some(Bump::Major), Some("Removed")),
        ("docs: a", None, None),
        ("chore(deps): a", None, None),
    ];
    for (m, b, s) in cases {
        let c = commits::parse(m).unwrap();
        assert_eq!((bump(&c), section(&c)), (b, s), "{m}");
    }
    let c = commits::parse("feat(api)!: drop v1").unwrap();
    assert_eq!(changelog_entry(&c), "**BREAKING:** **api:** drop v1");
}

fn word() -> impl Strategy<Value = String> {
    "[a-z]{1,8}"
}

fn words(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..max).prop_map(|w| w.join(" "))
}

fn paragraph() -> impl Strategy<Value = String> {
    prop::collection::vec(words(8), 1..4).prop_map(|l| l.join("\n"))
}

fn footer() -> impl Strategy<Value = (String, Separator, String)> {
    prop_oneof![
        ("[A-Z][a-z]{1,6}(-[a-z]{1,6}){0,2}", words(6)).prop_map(|(t, v)| (t, Separator::Colon, v)),
        ("[A-Z][a-z]{1,6}", "[0-9]{1,5}").prop_map(|(t, n)| (t, Separator::Hash, format!("#{n}"))),
        (
            prop_oneof![Just("BREAKING CHANGE"), Just("BREAKING-CHANGE")],
            paragraph()
        )
            .prop_map(|(t, v)| (t.to_owned(), Separator::Colon, v)),
    ]
}

proptest! {
    #[test]
    fn parse_of_render_round_trips(
        kind in "[a-zA-Z][a-zA-Z0-9-]{0,9}",
        scope in prop::option::of("[a-z0-9][a-z0-9 ,./_-]{0,10}[a-z0-9]"),
        bang in any::<bool>(),
        description in "[A-Za-z0-9`(][A-Za-z0-9 ,.:#!()`-]{0,40}[A-Za-z0-9.)`]",
        body in prop::option::of(prop::collection::vec(paragraph(), 1..4).prop_map(|p| p.join("\n\n"))),
        footers in prop::collection::vec(footer(), 0..5),
    ) {
        let footers: Vec<Footer<'_>> = footers
            .iter()
            .map(|(token, separator, value)| Footer { token, separator: *separator, value })
            .collect();
        let breaking_description = footers
            .iter()
            .find(|f| f.token.starts_with("BREAKING"))
            .map(|f| f.value);
        let c = Conventional {
            kind: &kind,
            scope: scope.as_deref(),
            bang,
            breaking: bang || breaking_description.is_some(),
            breaking_description,
            description: &description,
            body: body.as_deref(),
            footers,
        };
        let rendered = c.to_string();
        prop_assert_eq!(commits::parse(&rendered), Ok(c.clone()));
        // CRLF and leading blank lines do not change the header's reading.
        let crlf = format!("\r\n{}", rendered.replace('\n', "\r\n"));
        let parsed = commits::parse(&crlf).unwrap();
        prop_assert_eq!((parsed.kind, parsed.scope, parsed.breaking), (c.kind, c.scope, c.breaking));
    }

    #[test]
    fn parse_never_panics(message in "(?s).{0,200}") {
        let _ = commits::parse(&message);
        let _ = patch_keys(&message, "SHOP");
        let _ = key_in_branch(&message, "SHOP");
    }
}

/// `cargo test --release -p sluice-core --test commits -- --ignored throughput --nocapture`
#[test]
#[ignore = "a timing, not a check; run in release"]
fn throughput() {
    let Some(_) = fixtures::dir("throughput") else {
        return;
    };
    let corpus = corpus();
    let rounds = 300_000 / corpus.len() + 1;
    let start = std::time::Instant::now();
    let mut breaking = 0usize;
    for _ in 0..rounds {
        for (_, message) in &corpus {
            breaking += usize::from(commits::parse(message).is_ok_and(|c| c.breaking));
        }
    }
    let n = rounds * corpus.len();
    println!(
        "{n} messages in {:?} ({breaking} breaking)",
        start.elapsed()
    );
}
