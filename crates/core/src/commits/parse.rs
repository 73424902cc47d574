//! The hand-written parser. One pass over the lines after the header, no
//! allocation but the footers vector.
//!
//! Where the footer block starts (the spec leaves room; this is our reading,
//! chosen on real histories):
//! - at the first line after the header that starts with `BREAKING CHANGE:`
//!   or `BREAKING-CHANGE:`, wherever it is (squash-merge bodies put them
//!   mid-body; missing a breaking change is worse than a short body);
//! - otherwise at the first of the trailing paragraphs that all start with a
//!   footer token line (`Token: value`, `Token #value`), so a `Fixes #12`
//!   paragraph followed by more prose stays in the body;
//! - otherwise, in the last paragraph, at the trailing run of lines that are
//!   all footer token lines (git trailers written right after the body with
//!   no blank line).
//!
//! Inside the block a footer's value runs over the following lines, blank
//! ones included, until the next footer token line (spec §10).

use super::{Conventional, Footer, NotConventional, Separator};

/// Parses a commit message. Leading blank lines are skipped; the first
/// non-blank line is the header `type(scope)!: description`.
///
/// The type is a letter followed by letters, digits, `-` or `_`; the scope is
/// anything up to the first `)`; the `:` must be followed by a space or tab
/// and a non-empty description. CRLF line endings are accepted.
pub fn parse(message: &str) -> Result<Conventional<'_>, NotConventional> {
    let mut lines = Lines::new(message);
    let header = loop {
        match lines.next() {
            None => return Err(NotConventional::Empty),
            Some(line) if is_blank(line.text) => continue,
            Some(line) => break line.text,
        }
    };
    let rest_start = lines.pos;
    let mut c = parse_header(header)?;
    let (body, block) = split_footer_block(message, rest_start);
    c.body = trimmed(body);
    if let Some(block_start) = block {
        parse_footers(&message[block_start..], &mut c);
    }
    c.breaking = c.bang || c.breaking_description.is_some();
    Ok(c)
}

fn parse_header(header: &str) -> Result<Conventional<'_>, NotConventional> {
    let b = header.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphabetic() {
        return Err(NotConventional::NoType);
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
        i += 1;
    }
    let kind = &header[..i];
    let mut scope = None;
    if b.get(i) == Some(&b'(') {
        let close = header[i + 1..]
            .find(')')
            .ok_or(NotConventional::UnclosedScope)?
            + i
            + 1;
        let s = header[i + 1..close].trim();
        scope = (!s.is_empty()).then_some(s);
        i = close + 1;
    }
    let bang = b.get(i) == Some(&b'!');
    if bang {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return Err(NotConventional::MissingColon);
    }
    i += 1;
    if !matches!(b.get(i), Some(b' ' | b'\t')) {
        return Err(NotConventional::MissingSpace);
    }
    let description = header[i..].trim();
    if description.is_empty() {
        return Err(NotConventional::EmptyDescription);
    }
    Ok(Conventional {
        kind,
        scope,
        bang,
        breaking: bang,
        breaking_description: None,
        description,
        body: None,
        footers: Vec::new(),
    })
}

/// Returns the body text and the byte offset where the footer block starts.
fn split_footer_block(message: &str, rest_start: usize) -> (&str, Option<usize>) {
    let lines = Lines::at(message, rest_start);
    // Start of the current run of paragraphs that all begin with a token line.
    let mut suffix: Option<usize> = None;
    // Start of the current run of token lines inside a paragraph that does not
    // begin with one.
    let mut tail: Option<usize> = None;
    let mut in_paragraph = false;
    let mut paragraph_is_token = false;
    for line in lines {
        if is_blank(line.text) {
            in_paragraph = false;
            continue;
        }
        let token = footer_token(line.text);
        if let Some((t, _, _)) = token
            && is_breaking_token(t)
        {
            let earlier = if in_paragraph && !paragraph_is_token {
                tail
            } else {
                suffix
            };
            let start = earlier.unwrap_or(line.start);
            return (&message[rest_start..start], Some(start));
        }
        if !in_paragraph {
            in_paragraph = true;
            paragraph_is_token = token.is_some();
            tail = None;
            if paragraph_is_token {
                suffix.get_or_insert(line.start);
            } else {
                suffix = None;
            }
        } else if !paragraph_is_token {
            if token.is_some() {
                tail.get_or_insert(line.start);
            } else {
                tail = None;
            }
        }
    }
    match suffix.or(tail) {
        Some(start) => (&message[rest_start..start], Some(start)),
        None => (&message[rest_start..], None),
    }
}

fn parse_footers<'a>(block: &'a str, c: &mut Conventional<'a>) {
    let lines = Lines::new(block);
    // (token, separator, value start, value end)
    let mut current: Option<(&'a str, Separator, usize, usize)> = None;
    let push = |cur: Option<(&'a str, Separator, usize, usize)>, c: &mut Conventional<'a>| {
        if let Some((token, separator, start, end)) = cur {
            let value = block[start..end.max(start)].trim();
            if is_breaking_token(token) && c.breaking_description.is_none() {
                c.breaking_description = Some(value);
            }
            c.footers.push(Footer {
                token,
                separator,
                value,
            });
        }
    };
    for line in lines {
        let line_start = line.start;
        if let Some((token, separator, value_offset)) = footer_token(line.text) {
            push(current.take(), c);
            let end = line_start + line.text.len();
            current = Some((token, separator, line_start + value_offset, end));
        } else if let Some(cur) = current.as_mut()
            && !is_blank(line.text)
        {
            cur.3 = line_start + line.text.len();
        }
    }
    push(current, c);
}

fn is_breaking_token(token: &str) -> bool {
    token == "BREAKING CHANGE" || token == "BREAKING-CHANGE"
}

/// If `line` starts a footer, returns its token, separator and the offset of
/// its value in `line`.
fn footer_token(line: &str) -> Option<(&str, Separator, usize)> {
    let b = line.as_bytes();
    for bc in ["BREAKING CHANGE:", "BREAKING-CHANGE:"] {
        if line.starts_with(bc) {
            return Some((&line[..bc.len() - 1], Separator::Colon, bc.len()));
        }
    }
    if b.is_empty() || !b[0].is_ascii_alphanumeric() {
        return None;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
        i += 1;
    }
    match (b.get(i), b.get(i + 1)) {
        (Some(b':'), Some(b' ' | b'\t')) => Some((&line[..i], Separator::Colon, i + 2)),
        (Some(b' '), Some(b'#')) if b.len() > i + 2 && !b[i + 2].is_ascii_whitespace() => {
            Some((&line[..i], Separator::Hash, i + 1))
        }
        _ => None,
    }
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|c| c.is_ascii_whitespace())
}

/// Drops leading blank lines and trailing whitespace; `None` when nothing is left.
fn trimmed(text: &str) -> Option<&str> {
    let mut lines = Lines::new(text);
    let start = loop {
        match lines.next() {
            None => return None,
            Some(line) if is_blank(line.text) => continue,
            Some(line) => break line.start,
        }
    };
    Some(text[start..].trim_end())
}

struct Line<'a> {
    /// Byte offset of the line in the text being iterated.
    start: usize,
    /// The line without its `\n` or `\r\n`.
    text: &'a str,
}

/// Lines with their offsets; `\r\n` and `\n` endings.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self::at(text, 0)
    }

    fn at(text: &'a str, pos: usize) -> Self {
        Lines { text, pos }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (line, advance) = match rest.find('\n') {
            Some(n) => (&rest[..n], n + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        let text = line.strip_suffix('\r').unwrap_or(line);
        Some(Line { start, text })
    }
}
