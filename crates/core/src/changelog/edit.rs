//! Editing an existing changelog: inserting a release, reading and replacing
//! one section. Every edit is a list of (offset, removed length, added text)
//! on the original, so untouched bytes are copied, never re-rendered.

use super::scan::{self, Heading};
use super::{ChangelogError, Links, Section, render_section};

struct Edit {
    at: usize,
    remove: usize,
    text: String,
}

fn apply(doc: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.at, e.remove));
    let added: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(doc.len() + added);
    let mut pos = 0;
    for e in edits {
        out.push_str(&doc[pos..e.at]);
        out.push_str(&e.text);
        pos = e.at + e.remove;
    }
    out.push_str(&doc[pos..]);
    out
}

fn with_line_ending(text: &str, eol: &str) -> String {
    let lf = text.replace("\r\n", "\n");
    if eol == "\n" {
        lf
    } else {
        lf.replace('\n', eol)
    }
}

/// Inserts a release section into an existing changelog.
///
/// Where: below the `## [Unreleased]` section (just before the next `#`/`##`
/// heading after it). Unreleased's own entries stay under Unreleased: they
/// may hold changes that are not part of this release, so moving them is
/// left to people (or to the application, through [`replace_section`]).
/// Without an Unreleased heading, before the first release heading
/// (`## 1.2.3`, `## [v1.2.3] - ...`); without one, before the link-reference
/// block at the bottom, or at the end.
///
/// With `links`, when the document ends with a link-reference block:
/// `[version]: <compare URL from the previous release>` is added (before the
/// previous release's line, else after `[unreleased]`, else first), and the
/// base version of the `[unreleased]` link (`compare/v1.2.3...HEAD`) becomes
/// the new version, in the same tag style. When there is no previous release
/// no version link is added, since the template needs one.
///
/// Refuses a version that already has a section.
pub fn insert_release(
    existing: &str,
    section: &Section,
    links: Option<&Links>,
) -> Result<String, ChangelogError> {
    let headings = scan::headings(existing);
    if headings
        .iter()
        .any(|h| h.level == 2 && scan::same_version(h.label, &section.version))
    {
        return Err(ChangelogError::DuplicateVersion {
            version: section.version.clone(),
        });
    }
    let eol = scan::line_ending(existing);
    let link_block = scan::bottom_link_block(existing);
    let rendered = with_line_ending(&render_section(section), eol);

    let unreleased = headings.iter().position(Heading::is_unreleased);
    let before = match unreleased {
        Some(u) => headings[u + 1..].first().map(|h| h.start),
        None => headings.iter().find(|h| h.is_release()).map(|h| h.start),
    }
    .or(link_block.filter(|&b| unreleased.is_none_or(|u| b > headings[u].start)));

    let mut edits = Vec::new();
    let at = match before {
        Some(at) => {
            let mut text = String::new();
            if at > 0 && !ends_with_blank_line(&existing[..at]) {
                text.push_str(eol);
            }
            text.push_str(&rendered);
            text.push_str(eol);
            edits.push(Edit {
                at,
                remove: 0,
                text,
            });
            at
        }
        None => {
            let text = if existing.is_empty() {
                rendered
            } else if !existing.ends_with('\n') {
                format!(
                    "{eol}{eol}{}",
                    rendered.strip_suffix(eol).unwrap_or(&rendered)
                )
            } else if ends_with_blank_line(existing) {
                rendered
            } else {
                format!("{eol}{rendered}")
            };
            edits.push(Edit {
                at: existing.len(),
                remove: 0,
                text,
            });
            existing.len()
        }
    };

    if let (Some(links), Some(block)) = (links, link_block) {
        let previous = headings
            .iter()
            .find(|h| h.start >= at && h.is_release())
            .map(|h| h.label);
        link_edits(existing, block, eol, section, previous, links, &mut edits);
    }
    Ok(apply(existing, edits))
}

/// Does `text` end with an empty line (or is it empty)?
fn ends_with_blank_line(text: &str) -> bool {
    let Some(body) = text.strip_suffix('\n') else {
        return text.trim().is_empty();
    };
    let body = body.strip_suffix('\r').unwrap_or(body);
    match body.rfind('\n') {
        Some(n) => body[n + 1..].trim().is_empty(),
        None => body.trim().is_empty(),
    }
}

fn link_edits(
    doc: &str,
    block: usize,
    eol: &str,
    section: &Section,
    previous: Option<&str>,
    links: &Links,
    edits: &mut Vec<Edit>,
) {
    let mut unreleased_line = None;
    let mut previous_line = None;
    let mut first_line = None;
    let mut has_version = false;
    for (start, line, end) in scan::lines(&doc[block..]) {
        let Some(label) = scan::link_ref(line) else {
            continue;
        };
        let (start, end) = (start + block, end + block);
        first_line.get_or_insert(start);
        if label.eq_ignore_ascii_case("unreleased") {
            unreleased_line.get_or_insert((start, line, end));
        } else if scan::same_version(label, &section.version) {
            has_version = true;
        } else if previous.is_some_and(|p| scan::same_version(label, p)) {
            previous_line.get_or_insert(start);
        }
    }
    if let Some(previous) = previous
        && !has_version
    {
        let url = links
            .compare
            .replace("{previous}", previous)
            .replace("{version}", &section.version);
        let text = format!("[{}]: {url}{eol}", section.version);
        let at = previous_line
            .or(unreleased_line.map(|(_, _, end)| end))
            .or(first_line);
        if let Some(at) = at {
            // After a last line with no line ending, the new line goes first.
            let text = if at == doc.len() && !doc.ends_with('\n') {
                format!("{eol}[{}]: {url}", section.version)
            } else {
                text
            };
            edits.push(Edit {
                at,
                remove: 0,
                text,
            });
        }
    }
    if let Some((start, line, _)) = unreleased_line
        && let Some((offset, len, text)) = rebase_unreleased(line, &section.version)
    {
        edits.push(Edit {
            at: start + offset,
            remove: len,
            text,
        });
    }
}

/// In `[unreleased]: https://host/compare/v1.2.3...HEAD`, the base ref
/// `v1.2.3` becomes the new version with the same prefix. Returns the
/// offset and length of the base ref in `line`, and its replacement.
fn rebase_unreleased(line: &str, version: &str) -> Option<(usize, usize, String)> {
    let after = &line[line.find("]:")? + 2..];
    let url_start = line.len() - after.trim_start().len();
    let url = &line[url_start..];
    let url = &url[..url.find(char::is_whitespace).unwrap_or(url.len())];
    let dots = url.rfind("...")?;
    let base_start = url[..dots].rfind('/').map_or(0, |n| n + 1);
    let base = &url[base_start..dots];
    let digit = base.find(|c: char| c.is_ascii_digit())?;
    let prefix = &base[..digit];
    let version = if prefix.ends_with(['v', 'V']) {
        version.strip_prefix(['v', 'V']).unwrap_or(version)
    } else {
        version
    };
    Some((
        url_start + base_start,
        base.len(),
        format!("{prefix}{version}"),
    ))
}

/// The exact text of a version's section (`Unreleased` works too): from its
/// `##` heading to the last non-blank line before the next `#`/`##` heading
/// or the bottom link-reference block, with that line's ending.
pub fn section_text<'d>(doc: &'d str, version: &str) -> Option<&'d str> {
    section_range(doc, version).map(|(start, end)| &doc[start..end])
}

/// Replaces a version's section (the range [`section_text`] returns) with
/// `new_text`, converted to the document's line ending; the section's final
/// line ending is kept as it was.
pub fn replace_section(doc: &str, version: &str, new_text: &str) -> Result<String, ChangelogError> {
    let (start, end) =
        section_range(doc, version).ok_or_else(|| ChangelogError::NoSuchVersion {
            version: version.to_owned(),
        })?;
    let eol = scan::line_ending(doc);
    let mut text = with_line_ending(new_text, eol);
    let had_eol = doc[start..end].ends_with('\n');
    if had_eol && !text.ends_with('\n') {
        text.push_str(eol);
    } else if !had_eol {
        while let Some(t) = text.strip_suffix('\n') {
            text.truncate(t.strip_suffix('\r').unwrap_or(t).len());
        }
    }
    Ok(apply(
        doc,
        vec![Edit {
            at: start,
            remove: end - start,
            text,
        }],
    ))
}

fn section_range(doc: &str, version: &str) -> Option<(usize, usize)> {
    let headings = scan::headings(doc);
    let i = headings
        .iter()
        .position(|h| h.level == 2 && scan::same_version(h.label, version))?;
    let start = headings[i].start;
    let mut limit = headings.get(i + 1).map_or(doc.len(), |h| h.start);
    if let Some(block) = scan::bottom_link_block(doc)
        && block > start
    {
        limit = limit.min(block);
    }
    let mut end = start;
    for (_, line, line_end) in scan::lines(&doc[start..limit]) {
        if !scan::is_blank(line) {
            end = start + line_end;
        }
    }
    Some((start, end))
}
