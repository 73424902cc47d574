//! The Keep a Changelog engine against real changelogs (shared fixtures) and
//! generated documents: inserting a release keeps every existing byte.

use jiff::civil::date;
use proptest::prelude::*;
use sluice_core::changelog::{
    self, ChangelogError, Group, Links, Section, document, insert_release, render_section,
    replace_section, section_text,
};

#[path = "../../../support/fixtures.rs"]
mod fixtures;

const FILES: [&str; 8] = [
    "bats-core",
    "derive_more",
    "jsonrpsee",
    "keep-a-changelog",
    "pyo3",
    "rich",
    "tailwindcss",
    "typos",
];

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/changelogs/{name}.CHANGELOG.md",
        fixtures::root().display()
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn release(version: &str) -> Section {
    Section {
        version: version.to_owned(),
        date: date(2026, 11, 23),
        groups: vec![
            Group {
                heading: "Security".into(),
                entries: vec!["Session cookies are `Secure` again (SHOP-31).".into()],
            },
            Group {
                heading: "Fixed".into(),
                entries: vec![
                    "Login no longer fails after a password reset (SHOP-12).".into(),
                    "Totals are rounded once,\nnot per line (SHOP-14).".into(),
                ],
            },
        ],
        yanked: false,
    }
}

fn links() -> Links {
    Links {
        compare: "https://example.com/shop/compare/v{previous}...v{version}".into(),
    }
}

fn eol_of(doc: &str) -> &'static str {
    if doc.split('\n').next().is_some_and(|l| l.ends_with('\r')) && doc.contains('\n') {
        "\r\n"
    } else {
        "\n"
    }
}

/// Removes the inserted section (and the blank-line bytes that separate it)
/// from `result`; true if that gives back `original` byte for byte.
fn only_inserted(original: &str, result: &str, section: &Section) -> bool {
    let eol = eol_of(original);
    let rendered = render_section(section).replace('\n', eol);
    let bare = rendered.strip_suffix(eol).unwrap();
    let two = format!("{eol}{eol}");
    let variants: [(&str, &[&str], &[&str]); 2] = [
        (rendered.as_str(), &["", eol], &["", eol]),
        (bare, &[two.as_str()], &[""]),
    ];
    let mut candidates = Vec::new();
    for (needle, befores, afters) in variants {
        let mut from = 0;
        while let Some(p) = result[from..].find(needle).map(|p| p + from) {
            for before in befores {
                for after in afters {
                    let end = p + needle.len() + after.len();
                    if let Some(start) = p.checked_sub(before.len())
                        && end <= result.len()
                        && result.get(start..p) == Some(*before)
                        && result.get(p + needle.len()..end) == Some(*after)
                    {
                        candidates.push(format!("{}{}", &result[..start], &result[end..]));
                    }
                }
            }
            from = p + 1;
        }
    }
    candidates.iter().any(|c| c == original)
}

fn link_label(line: &str) -> Option<String> {
    let rest = line.strip_prefix('[')?;
    Some(rest[..rest.find("]:")?].to_ascii_lowercase())
}

#[test]
fn inserting_into_real_changelogs_keeps_every_byte() {
    let Some(_) = fixtures::dir("inserting_into_real_changelogs_keeps_every_byte") else {
        return;
    };
    for name in FILES {
        let original = fixture(name);
        let section = release("99.1.0");
        let plain = insert_release(&original, &section, None).unwrap();
        assert!(
            only_inserted(&original, &plain, &section),
            "{name}: bytes changed"
        );
        assert_eq!(
            plain.len(),
            original.len() + render_section(&section).len() + 1,
            "{name}"
        );

        // With links: one line added, the [unreleased] line changed, nothing else.
        let linked = insert_release(&original, &section, Some(&links())).unwrap();
        let before: Vec<&str> = plain.split_inclusive('\n').collect();
        let after: Vec<&str> = linked.split_inclusive('\n').collect();
        let added: Vec<&str> = after
            .iter()
            .copied()
            .filter(|l| l.starts_with("[99.1.0]: "))
            .collect();
        let rest: Vec<&str> = after
            .iter()
            .copied()
            .filter(|l| !l.starts_with("[99.1.0]: "))
            .collect();
        assert!(added.len() <= 1, "{name}: {added:?}");
        assert_eq!(rest.len(), before.len(), "{name}");
        for (a, b) in rest.iter().zip(&before) {
            if a != b {
                assert_eq!(
                    link_label(a).as_deref(),
                    Some("unreleased"),
                    "{name}: {b:?} became {a:?}"
                );
                assert_eq!(link_label(b).as_deref(), Some("unreleased"), "{name}");
            }
        }
        let has_block = original
            .trim_end()
            .lines()
            .last()
            .is_some_and(|l| link_label(l).is_some());
        assert_eq!(added.len(), usize::from(has_block), "{name}: link line");
    }
}

#[test]
fn where_the_section_and_links_go() {
    let Some(_) = fixtures::dir("where_the_section_and_links_go") else {
        return;
    };
    let kac = fixture("keep-a-changelog");
    let out = insert_release(&kac, &release("2.1.0"), Some(&links())).unwrap();
    assert!(out.contains("## [Unreleased]\n\n## [2.1.0] - 2026-11-23\n\n### Fixed\n"));
    assert!(out.contains("### Security\n\n- Session cookies are `Secure` again (SHOP-31).\n\n## [2.0.0] - 2026-06-07\n"));
    assert!(out.contains(
        "[unreleased]: https://github.com/olivierlacan/keep-a-changelog/compare/v2.1.0...HEAD\n\
         [2.1.0]: https://example.com/shop/compare/v2.0.0...v2.1.0\n\
         [2.0.0]: https://github.com/olivierlacan/keep-a-changelog/compare/v1.1.2...v2.0.0\n"
    ));

    // bats-core: the [Unreleased] link is out of date; it still compares from the new version.
    let bats = fixture("bats-core");
    let out = insert_release(&bats, &release("1.15.0"), Some(&links())).unwrap();
    assert!(out.contains(
        "[Unreleased]: https://github.com/bats-core/bats-core/compare/v1.15.0...HEAD\n\
         [1.15.0]: https://example.com/shop/compare/v1.14.0...v1.15.0\n\
         [1.7.0]: "
    ));

    // rich: no Unreleased section, so the release goes first.
    let rich = fixture("rich");
    let out = insert_release(&rich, &release("14.4.0"), Some(&links())).unwrap();
    let first = out.lines().position(|l| l.starts_with("## ")).unwrap();
    assert_eq!(out.lines().nth(first), Some("## [14.4.0] - 2026-11-23"));
    assert!(
        out.contains("[14.4.0]: https://example.com/shop/compare/v14.3.3...v14.4.0\n[14.3.1]: ")
    );

    // typos: below the cargo-release `## [Unreleased] - ReleaseDate` heading.
    let typos = fixture("typos");
    let out = insert_release(&typos, &release("1.49.0"), None).unwrap();
    assert!(out.contains("## [Unreleased] - ReleaseDate\n\n## [1.49.0] - 2026-11-23\n"));

    // Unreleased entries stay under Unreleased.
    let jsonrpsee = fixture("jsonrpsee");
    let out = insert_release(&jsonrpsee, &release("0.27.0"), None).unwrap();
    let unreleased = out.find("## [Unreleased]").unwrap();
    let added = out.find("### [Added]").unwrap();
    let new = out.find("## [0.27.0]").unwrap();
    assert!(unreleased < added && added < new);
}

#[test]
fn snapshots_of_the_first_lines() {
    let Some(_) = fixtures::dir("snapshots_of_the_first_lines") else {
        return;
    };
    let inserts = [
        ("keep-a-changelog", "2.1.0"),
        ("typos", "1.49.0"),
        ("derive_more", "2.2.0"),
    ];
    for (name, version) in inserts {
        let out = insert_release(&fixture(name), &release(version), Some(&links())).unwrap();
        let head: String = out.split_inclusive('\n').take(40).collect();
        insta::assert_snapshot!(format!("insert_{name}"), head);
    }
}

#[test]
fn duplicate_versions_are_refused() {
    let Some(_) = fixtures::dir("duplicate_versions_are_refused") else {
        return;
    };
    let kac = fixture("keep-a-changelog");
    assert_eq!(
        insert_release(&kac, &release("2.0.0"), None),
        Err(ChangelogError::DuplicateVersion {
            version: "2.0.0".into()
        })
    );
    // `v`-prefixed and unbracketed headings count too.
    assert!(insert_release(&fixture("jsonrpsee"), &release("0.26.0"), None).is_err());
    assert!(insert_release(&fixture("derive_more"), &release("v2.1.1"), None).is_err());
    assert!(insert_release(&fixture("tailwindcss"), &release("1.2.0-canary.3"), None).is_err());
    assert_eq!(
        ChangelogError::DuplicateVersion {
            version: "2.0.0".into()
        }
        .to_string(),
        "the changelog already has a section for version 2.0.0"
    );
}

#[test]
fn crlf_documents_stay_crlf() {
    let Some(_) = fixtures::dir("crlf_documents_stay_crlf") else {
        return;
    };
    let crlf = fixture("keep-a-changelog").replace('\n', "\r\n");
    let section = release("2.1.0");
    let out = insert_release(&crlf, &section, Some(&links())).unwrap();
    assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());
    assert!(out.contains("## [Unreleased]\r\n\r\n## [2.1.0] - 2026-11-23\r\n\r\n### Fixed\r\n"));
    assert!(out.contains("[2.1.0]: https://example.com/shop/compare/v2.0.0...v2.1.0\r\n"));
    let plain = insert_release(&crlf, &section, None).unwrap();
    assert!(only_inserted(&crlf, &plain, &section));
}

#[test]
fn documents_without_unreleased_or_releases() {
    let section = release("1.0.0");
    let rendered = render_section(&section);

    assert_eq!(insert_release("", &section, None).unwrap(), rendered);

    let intro = "# Changelog\n\nAll notable changes.\n";
    assert_eq!(
        insert_release(intro, &section, None).unwrap(),
        format!("{intro}\n{rendered}")
    );

    // No final newline: still none after.
    let bare = "# Changelog";
    let out = insert_release(bare, &section, None).unwrap();
    assert_eq!(
        out,
        format!("# Changelog\n\n{}", rendered.trim_end_matches('\n'))
    );
    assert!(!out.ends_with('\n'));

    // Only link references: the section goes above them.
    let refs = "# Changelog\n\n[kac]: https://keepachangelog.com/\n";
    let out = insert_release(refs, &section, None).unwrap();
    assert_eq!(
        out,
        format!("# Changelog\n\n{rendered}\n[kac]: https://keepachangelog.com/\n")
    );

    // A heading inside a fenced code block is not a release.
    let fenced = "# Changelog\n\n```\n## [1.0.0] - 2020-01-01\n```\n";
    assert!(
        insert_release(fenced, &section, None)
            .unwrap()
            .ends_with(&rendered)
    );
}

#[test]
fn rendering() {
    let mut section = release("1.2.4");
    section.groups.push(Group {
        heading: "Packaging".into(),
        entries: vec!["Wheels for Python 3.14.".into()],
    });
    section.groups.push(Group {
        heading: "Added".into(),
        entries: vec!["Refund button.".into()],
    });
    section.groups.push(Group {
        heading: "Removed".into(),
        entries: vec![],
    });
    section.groups.push(Group {
        heading: "fixed".into(),
        entries: vec!["Merged with Fixed.".into()],
    });
    insta::assert_snapshot!("render_section", render_section(&section));

    let mut yanked = release("1.2.3");
    yanked.yanked = true;
    yanked.groups.truncate(1);
    assert!(
        render_section(&yanked).starts_with("## [1.2.3] - 2026-11-23 [YANKED]\n\n### Security\n")
    );

    let unreleased = Section {
        version: String::new(),
        date: date(2026, 11, 24),
        groups: vec![Group {
            heading: "Changed".into(),
            entries: vec!["Faster checkout.".into()],
        }],
        yanked: false,
    };
    let doc = document(None, Some(&unreleased), &[section.clone(), yanked]);
    insta::assert_snapshot!("document", doc);
    // A generated document takes the next release like any other.
    let next = insert_release(&doc, &release("1.2.5"), None).unwrap();
    assert!(next.contains("- Faster checkout.\n\n## [1.2.5] - 2026-11-23\n"));

    let custom = document(Some("# Shop\n\nOur changes.\n\n"), None, &[]);
    assert_eq!(custom, "# Shop\n\nOur changes.\n\n## [Unreleased]\n");
}

#[test]
fn edited_sections_survive() {
    let Some(_) = fixtures::dir("edited_sections_survive") else {
        return;
    };
    let kac = fixture("keep-a-changelog");
    let text = section_text(&kac, "1.1.2").unwrap();
    assert!(text.starts_with("## [1.1.2] - 2024-09-27\n"));
    assert!(text.ends_with(".\n") || text.ends_with(")\n"), "{text:?}");
    assert!(!text.contains("## [1.1.1]"));
    assert!(kac.contains(&format!("{text}\n## [1.1.1]")));
    assert_eq!(replace_section(&kac, "1.1.2", text).unwrap(), kac);
    assert_eq!(replace_section(&kac, "v1.1.2", text).unwrap(), kac);

    let edited = "## [1.1.2] - 2024-09-27\n\n### Fixed\n\n- Edited by a person.";
    let out = replace_section(&kac, "1.1.2", edited).unwrap();
    assert_eq!(
        section_text(&out, "1.1.2"),
        Some(format!("{edited}\n").as_str())
    );
    assert_eq!(out.replace(&format!("{edited}\n"), text), kac);

    // The last section stops before the link references.
    let last = section_text(&kac, "0.0.1").unwrap();
    assert!(!last.contains("]: http"), "{last}");
    assert!(section_text(&kac, "Unreleased").is_some());
    assert_eq!(section_text(&kac, "9.9.9"), None);
    assert_eq!(
        replace_section(&kac, "9.9.9", "x"),
        Err(ChangelogError::NoSuchVersion {
            version: "9.9.9".into()
        })
    );

    // CRLF: the replacement takes the document's line ending.
    let crlf = kac.replace('\n', "\r\n");
    let out = replace_section(&crlf, "1.1.2", edited).unwrap();
    assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());

    // Every section of every fixture reads back and replaces to the same document.
    for name in FILES {
        let doc = fixture(name);
        let versions: Vec<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("## "))
            .map(|t| {
                t.trim_start_matches('[')
                    .split([']', ' '])
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        for v in versions.iter().take(30) {
            let text = section_text(&doc, v).unwrap_or_else(|| panic!("{name}: {v}"));
            assert_eq!(replace_section(&doc, v, text).unwrap(), doc, "{name}: {v}");
        }
    }
}

fn doc_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("# Changelog".to_owned()),
        Just("## [Unreleased]".to_owned()),
        "[0-9]\\.[0-9]\\.[0-9]".prop_map(|v| format!("## [{v}] - 2020-01-01")),
        "[0-9]\\.[0-9]\\.[0-9]".prop_map(|v| format!("## v{v}")),
        Just("### Added".to_owned()),
        "[ -~]{0,20}".prop_map(|t| format!("- {t}")),
        "[0-9]\\.[0-9]\\.[0-9]".prop_map(|v| format!("[{v}]: https://x/compare/v0...v{v}")),
        Just("[unreleased]: https://x/compare/v1.0.0...HEAD".to_owned()),
        Just("```".to_owned()),
        "[ -~]{0,30}",
        "\\PC{0,10}",
    ]
}

fn generated_doc() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(doc_line(), 0..30),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut doc = lines.join(eol);
            if final_newline && !doc.is_empty() {
                doc.push_str(eol);
            }
            doc
        })
}

proptest! {
    #[test]
    fn insert_release_never_loses_bytes(doc in generated_doc()) {
        let section = release("99.1.0");
        let out = insert_release(&doc, &section, None).unwrap();
        prop_assert!(only_inserted(&doc, &out, &section), "{:?}\n---\n{:?}", doc, out);

        // With links, every original line is still there, in order, but the
        // [unreleased] one.
        let linked = insert_release(&doc, &section, Some(&links())).unwrap();
        let kept: Vec<&str> = linked
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("[99.1.0]: "))
            .collect();
        let plain: Vec<&str> = out.split_inclusive('\n').collect();
        prop_assert_eq!(kept.len(), plain.len());
        for (a, b) in kept.iter().zip(&plain) {
            if a != b {
                let label = link_label(a);
                prop_assert_eq!(label.as_deref(), Some("unreleased"));
            }
        }
        prop_assert!(changelog::section_text(&out, "99.1.0").is_some());
    }
}
