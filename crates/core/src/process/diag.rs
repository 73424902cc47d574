//! Diagnostics: one problem in a process file, located by line and column,
//! with the offending text and a hint, and their rustc-like rendering.
//!
//! Spans are byte ranges into the source text; they become 1-based line and
//! column (counted in characters) only here, so every other module works
//! with the spans `toml` hands out.

use std::fmt;
use std::ops::Range;

/// A byte range into the process file.
pub(crate) type Span = Range<usize>;

/// One problem in a process file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line of the offending text.
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub column: usize,
    pub message: String,
    /// The offending text as written (a key or a value); may be empty when
    /// something is missing.
    pub snippet: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// The whole source line holding the problem, shown under the message.
    pub source_line: String,
}

/// Every problem found in one process file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "{pad}--> {}:{}:{}", self.file, self.line, self.column)?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{num} | {}", self.source_line)?;
        // Keep tabs so the carets line up with the source line.
        let lead: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = self.snippet.chars().count().max(1);
        write!(f, "{pad} | {lead}{}", "^".repeat(width))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n{pad} = hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
            writeln!(f)?;
        }
        let n = self.0.len();
        let file = self.0.first().map(|d| d.file.as_str()).unwrap_or("");
        write!(f, "{n} problem{} in {file}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

/// The text being loaded, with a line index to turn spans into positions.
pub(crate) struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Source<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            file,
            text,
            line_starts,
        }
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    pub fn diagnostic(&self, span: Span, message: String, hint: Option<String>) -> Diagnostic {
        self.position(span).diagnostic(message, hint)
    }

    /// Where a span is, kept for problems found after loading (a template
    /// file named here that cannot be read, say).
    pub fn position(&self, span: Span) -> Position {
        let start = floor_char(self.text, span.start.min(self.text.len()));
        let end = floor_char(self.text, span.end.clamp(start, self.text.len()));
        let line = self.line_of(start);
        let line_start = self.line_starts[line - 1];
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let source_line = self.text[line_start..line_end].trim_end_matches('\r');
        let column = self.text[line_start..start].chars().count() + 1;
        // A snippet never runs past its line: a table header, not the whole table.
        let snippet = self.text[start..end.min(line_end)].trim_end_matches('\r');
        Position {
            file: self.file.to_string(),
            line,
            column,
            snippet: snippet.to_string(),
            source_line: source_line.to_string(),
        }
    }
}

/// A place in a process file, for diagnostics raised after loading by code
/// that reads what the file names (template files).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub snippet: String,
    pub source_line: String,
}

impl Position {
    /// A problem at this place.
    pub fn diagnostic(&self, message: impl Into<String>, hint: Option<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
            snippet: self.snippet.clone(),
            hint,
            source_line: self.source_line.clone(),
        }
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Collects diagnostics while a file is walked and validated.
pub(crate) struct Sink<'a> {
    pub src: Source<'a>,
    found: Vec<(usize, Diagnostic)>,
}

impl<'a> Sink<'a> {
    pub fn new(src: Source<'a>) -> Sink<'a> {
        Sink {
            src,
            found: Vec::new(),
        }
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>, hint: Option<String>) {
        let start = span.start;
        let d = self.src.diagnostic(span, message.into(), hint);
        self.found.push((start, d));
    }

    pub fn has_errors(&self) -> bool {
        !self.found.is_empty()
    }

    /// All diagnostics in file order (stable for problems at the same place).
    pub fn finish(mut self) -> Diagnostics {
        self.found.sort_by_key(|(start, _)| *start);
        Diagnostics(self.found.into_iter().map(|(_, d)| d).collect())
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known name closest to `word`, if it is close enough to be a typo.
pub(crate) fn closest<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    // A typo is short; comparing a long text with every name costs seconds.
    if word.len() > 128 {
        return None;
    }
    let lower = word.to_lowercase();
    known
        .into_iter()
        .map(|k| (distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(1) + usize::from(k.len() > 8))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `did you mean `x`? <rest>` or just `<rest>`.
pub(crate) fn suggest(word: &str, known: &[&str], rest: String) -> String {
    match closest(word, known.iter().copied()) {
        Some(k) => format!("did you mean `{k}`? {rest}"),
        None => rest,
    }
}

/// `a, b, c`
pub(crate) fn list(items: &[&str]) -> String {
    items.join(", ")
}
