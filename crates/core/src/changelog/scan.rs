//! Reading the structure of an existing changelog without changing it: line
//! offsets, `#`/`##` headings outside fenced code, and the link-reference
//! block at the bottom.

/// A `# ` or `## ` heading line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heading<'a> {
    /// 1 or 2.
    pub level: u8,
    /// Byte offset of the line start.
    pub start: usize,
    /// The version label for `##` headings: the text in the first `[...]`
    /// when the title starts with `[`, else the title's first word.
    pub label: &'a str,
}

impl Heading<'_> {
    pub fn is_unreleased(&self) -> bool {
        self.level == 2 && self.label.eq_ignore_ascii_case("unreleased")
    }

    /// A `##` heading whose label looks like a version (`1.2.3`, `v1.2.3`).
    pub fn is_release(&self) -> bool {
        self.level == 2 && normalize_version(self.label).starts_with(|c: char| c.is_ascii_digit())
    }
}

/// Versions compare without brackets and a leading `v`: `[v1.2.3]` = `1.2.3`.
pub(super) fn normalize_version(v: &str) -> &str {
    let v = v.trim();
    let v = v
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(v)
        .trim();
    v.strip_prefix(['v', 'V']).unwrap_or(v)
}

pub(super) fn same_version(a: &str, b: &str) -> bool {
    normalize_version(a).eq_ignore_ascii_case(normalize_version(b))
}

/// The document's line ending: CRLF when its first line ends with `\r\n`.
pub(super) fn line_ending(doc: &str) -> &'static str {
    match doc.find('\n') {
        Some(n) if doc[..n].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// Lines as (start offset, text without the line ending, end offset after
/// the line ending).
pub(super) fn lines(doc: &str) -> impl Iterator<Item = (usize, &str, usize)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= doc.len() {
            return None;
        }
        let start = pos;
        let rest = &doc[start..];
        let (line, advance) = match rest.find('\n') {
            Some(n) => (&rest[..n], n + 1),
            None => (rest, rest.len()),
        };
        pos += advance;
        Some((start, line.strip_suffix('\r').unwrap_or(line), pos))
    })
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// `#` and `##` headings outside fenced code blocks, in order. A fence that
/// is never closed is taken for a stray marker, not as code to the end.
pub(super) fn headings(doc: &str) -> Vec<Heading<'_>> {
    let mut out = Vec::new();
    // Headings inside the open fence, kept in case it never closes.
    let mut fenced = Vec::new();
    let mut fence: Option<&str> = None;
    for (start, line, _) in lines(doc) {
        let unindented = line.trim_start_matches(' ');
        let indent = line.len() - unindented.len();
        if indent <= 3 {
            let marker = ["```", "~~~"]
                .into_iter()
                .find(|m| unindented.starts_with(m));
            match (fence, marker) {
                (None, Some(m)) => {
                    fence = Some(m);
                    continue;
                }
                (Some(open), Some(m)) if open == m => {
                    fence = None;
                    fenced.clear();
                    continue;
                }
                _ => {}
            }
        }
        let list = if fence.is_some() {
            &mut fenced
        } else {
            &mut out
        };
        if let Some(title) = line.strip_prefix("## ") {
            list.push(Heading {
                level: 2,
                start,
                label: label(title.trim()),
            });
        } else if line.starts_with("# ") || line == "#" {
            list.push(Heading {
                level: 1,
                start,
                label: "",
            });
        }
    }
    out.append(&mut fenced);
    out
}

fn label(title: &str) -> &str {
    if let Some(rest) = title.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        return rest[..end].trim();
    }
    title.split_whitespace().next().unwrap_or("")
}

/// A link reference definition line `[label]: destination`; returns the label.
pub(super) fn link_ref(line: &str) -> Option<&str> {
    let line = line.trim_start_matches(' ');
    let rest = line.strip_prefix('[')?;
    let end = rest.find("]:")?;
    let label = &rest[..end];
    (!label.is_empty() && !label.contains(['[', ']'])).then_some(label)
}

/// The link-reference block at the bottom: the offset of its first
/// definition line, when the document ends with definitions (blank lines
/// allowed between and after them).
pub(super) fn bottom_link_block(doc: &str) -> Option<usize> {
    let mut block = None;
    for (start, line, _) in lines(doc) {
        if is_blank(line) {
            continue;
        }
        if link_ref(line).is_some() {
            block.get_or_insert(start);
        } else {
            block = None;
        }
    }
    block
}
