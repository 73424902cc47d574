//! The process file: loading (`sluice.toml` -> [`Process`]), the embedded default,
//! and the rendered process document.
//!
//! Loading is two-stage: the text is parsed into raw, span-carrying values
//! (unknown keys are errors), then validated across fields. Every problem is
//! reported at once, each with line, column, the offending text and a hint.
//! Loading never touches the file system: the caller passes the text.

mod diag;
mod doc;
mod duration;
mod model;
mod raw;
mod raw_hooks;
mod show;
mod template;
mod validate;
mod validate_env;
mod validate_hooks;
mod validate_notify;
mod walk;
mod window;

pub use diag::{Diagnostic, Diagnostics, Position};
pub use duration::{format_duration, parse_duration};
pub use model::*;
pub use validate_env::EVENTS;

/// The standard process of SPEC §2/§4, written by `sluice init`; every key
/// is documented in place.
pub const DEFAULT_PROCESS: &str = include_str!("default.toml");

/// Every table of the process file with the keys it accepts (the schema the
/// loader enforces), for documentation and its tests.
pub fn schema() -> &'static [(&'static str, &'static [&'static str])] {
    raw::SCHEMA
}

/// The largest process file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// The longest string value or key accepted anywhere in the process file, in
/// characters. Names, members, paths and time zones are far shorter; the
/// bound keeps one pasted blob from costing seconds or breaking a layout.
pub const MAX_STRING_CHARS: usize = 1024;

/// Load and validate a process file. `file` is the label used in diagnostics.
pub fn load(file: &str, text: &str) -> Result<Process, Diagnostics> {
    let src = diag::Source::new(file, text);
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostics(vec![src.diagnostic(
            0..0,
            format!(
                "the process file is {} bytes; the most accepted is {MAX_FILE_BYTES}",
                text.len()
            ),
            Some("a process file describes a process: move long texts into template files".into()),
        )]));
    }
    let root = match toml::de::DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = format!("invalid TOML: {}", e.message().trim_end());
            let hint = "fix the syntax here; see the TOML spec at https://toml.io".to_string();
            return Err(Diagnostics(vec![src.diagnostic(span, message, Some(hint))]));
        }
    };
    let mut sink = diag::Sink::new(src);
    too_long(&mut sink, root.get_ref());
    if sink.has_errors() {
        return Err(sink.finish());
    }
    let raw = raw::walk(&mut sink, &root);
    let process = validate::validate(&mut sink, raw);
    if sink.has_errors() {
        Err(sink.finish())
    } else {
        Ok(process)
    }
}

/// Reports every key and string value longer than [`MAX_STRING_CHARS`].
fn too_long(sink: &mut diag::Sink<'_>, t: &toml::de::DeTable<'_>) {
    use toml::de::DeValue;
    fn value(sink: &mut diag::Sink<'_>, v: &toml::Spanned<DeValue<'_>>) {
        match v.get_ref() {
            DeValue::String(s) => check(sink, s, v.span(), "a value"),
            DeValue::Array(a) => a.iter().for_each(|x| value(sink, x)),
            DeValue::Table(t) => too_long(sink, t),
            _ => {}
        }
    }
    fn check(sink: &mut diag::Sink<'_>, s: &str, span: diag::Span, what: &str) {
        let n = s.chars().count();
        if n > MAX_STRING_CHARS {
            sink.error(
                span,
                format!("{what} of {n} characters; the most accepted is {MAX_STRING_CHARS}"),
                Some("shorten it: names, members, paths and time zones are short".into()),
            );
        }
    }
    for (k, v) in t.iter() {
        check(sink, k.get_ref(), k.span(), "a key");
        value(sink, v);
    }
}

/// Output format of the process document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Markdown,
    Text,
}

/// Render the team's process document.
pub fn render(p: &Process, format: DocFormat) -> String {
    let blocks = show::document(p);
    match format {
        DocFormat::Markdown => doc::markdown(&blocks),
        DocFormat::Text => doc::text(&blocks),
    }
}
