//! Rendering sections and whole documents (always LF; the editing functions
//! convert to the document's line ending).

use super::{Group, STANDARD_HEADINGS, Section};

const DEFAULT_INTRO: &str = "# Changelog

All notable changes to this project are recorded in this file, newest first.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
";

/// Renders one release section:
///
/// ```text
/// ## [1.2.4] - 2026-11-23
///
/// ### Fixed
///
/// - entry
/// ```
///
/// Groups come in the standard order (Added, Changed, Deprecated, Removed,
/// Fixed, Security; headings compared case-insensitively), then unknown
/// headings in the given order. Groups with the same heading are merged;
/// empty groups are left out. The text ends with one `\n`.
pub fn render_section(section: &Section) -> String {
    let mut out = format!("## [{}] - {}", section.version, section.date);
    if section.yanked {
        out.push_str(" [YANKED]");
    }
    out.push('\n');
    push_groups(&mut out, &section.groups);
    out
}

/// A whole new changelog: the title and introduction (`title_and_intro`, or
/// a standard one), an `## [Unreleased]` section (always present, with the
/// groups of `unreleased` if given; its version and date are not used), then
/// `releases` in the given order (newest first, by convention).
pub fn document(
    title_and_intro: Option<&str>,
    unreleased: Option<&Section>,
    releases: &[Section],
) -> String {
    let mut out = String::new();
    match title_and_intro {
        Some(intro) => {
            out.push_str(intro.trim_end());
            out.push('\n');
        }
        None => out.push_str(DEFAULT_INTRO),
    }
    out.push_str("\n## [Unreleased]\n");
    if let Some(unreleased) = unreleased {
        push_groups(&mut out, &unreleased.groups);
    }
    for release in releases {
        out.push('\n');
        out.push_str(&render_section(release));
    }
    out
}

fn rank(heading: &str) -> usize {
    STANDARD_HEADINGS
        .iter()
        .position(|h| h.eq_ignore_ascii_case(heading.trim()))
        .unwrap_or(STANDARD_HEADINGS.len())
}

fn push_groups(out: &mut String, groups: &[Group]) {
    // Merge groups with the same heading, keeping first-seen order.
    let mut merged: Vec<(&str, Vec<&str>)> = Vec::new();
    for group in groups {
        let heading = group.heading.trim();
        let idx = match merged
            .iter()
            .position(|(h, _)| h.eq_ignore_ascii_case(heading))
        {
            Some(i) => i,
            None => {
                merged.push((heading, Vec::new()));
                merged.len() - 1
            }
        };
        merged[idx]
            .1
            .extend(group.entries.iter().map(String::as_str));
    }
    merged.retain(|(_, entries)| !entries.is_empty());
    merged.sort_by_key(|(h, _)| rank(h));
    for (heading, entries) in merged {
        out.push_str("\n### ");
        out.push_str(heading);
        out.push_str("\n\n");
        for entry in entries {
            out.push_str("- ");
            let mut lines = entry.trim().lines();
            out.push_str(lines.next().unwrap_or("").trim_end());
            for line in lines {
                out.push('\n');
                if !line.trim().is_empty() {
                    out.push_str("  ");
                    out.push_str(line.trim_end());
                }
            }
            out.push('\n');
        }
    }
}
