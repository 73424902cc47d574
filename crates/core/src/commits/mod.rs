//! Conventional Commits 1.0.0: parsing commit messages, the patch keys they
//! carry, and what a commit means for the version and the changelog.
//!
//! Invariants:
//! - Parsing never panics and never allocates for the header, body or footer
//!   values: [`Conventional`] borrows from the message. The only allocation is
//!   the `footers` vector, and only when the message has footers.
//! - A message that is not conventional is a [`NotConventional`] value with a
//!   short reason.
//! - `breaking` is true exactly when the header has `!` before the `:`, or a
//!   line after the header starts with `BREAKING CHANGE:` / `BREAKING-CHANGE:`.
//!
//! See [`parse`] for how the body and the footer block are told apart.

mod keys;
mod kind;
mod parse;

use std::fmt;

pub use keys::{key_in_branch, patch_keys};
pub use kind::{bump, changelog_entry, section};
pub use parse::parse;

/// A commit message that follows Conventional Commits, borrowed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conventional<'a> {
    /// The type (`feat`, `fix`, ...), as written (case kept).
    pub kind: &'a str,
    /// The scope between the parentheses, trimmed; `None` when absent or empty.
    pub scope: Option<&'a str>,
    /// The header has `!` before the `:`.
    pub bang: bool,
    /// `bang`, or a `BREAKING CHANGE` / `BREAKING-CHANGE` footer.
    pub breaking: bool,
    /// The value of the first `BREAKING CHANGE` footer (it may span several lines).
    pub breaking_description: Option<&'a str>,
    /// The header text after `: `, trimmed.
    pub description: &'a str,
    /// Everything between the header and the footer block, trimmed of
    /// surrounding blank lines; `None` when empty.
    pub body: Option<&'a str>,
    /// The footers, in order. `BREAKING CHANGE` footers are included.
    pub footers: Vec<Footer<'a>>,
}

/// One footer (git trailer): `Token: value` or `Token #value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer<'a> {
    /// The token as written, e.g. `Co-authored-by`, `BREAKING CHANGE`.
    pub token: &'a str,
    pub separator: Separator,
    /// The value, trimmed; it may span several lines. With [`Separator::Hash`]
    /// the value keeps its `#`, so `Fixes #12` and `Fixes: #12` both give `#12`.
    pub value: &'a str,
}

/// How a footer's token is separated from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// `Token: value`
    Colon,
    /// `Token #value`
    Hash,
}

/// Why a message is not a conventional commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotConventional {
    #[error("the message is empty")]
    Empty,
    #[error("the header does not start with a type (a letter, then letters, digits, `-` or `_`)")]
    NoType,
    #[error("the scope's `(` is never closed")]
    UnclosedScope,
    #[error("the type is not followed by `:`")]
    MissingColon,
    #[error("the `:` after the type is not followed by a space")]
    MissingSpace,
    #[error("the description after `: ` is empty")]
    EmptyDescription,
}

impl<'a> Conventional<'a> {
    /// A `revert` commit (type compared case-insensitively).
    pub fn is_revert(&self) -> bool {
        self.kind.eq_ignore_ascii_case("revert")
    }

    /// The type, compared case-insensitively.
    pub fn is_kind(&self, kind: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind)
    }

    /// Footers whose token matches `token` case-insensitively (`-` and space
    /// are the same, as for `BREAKING CHANGE` / `BREAKING-CHANGE`).
    pub fn footers_named<'s>(&'s self, token: &'s str) -> impl Iterator<Item = &'s Footer<'a>> {
        self.footers
            .iter()
            .filter(move |f| same_token(f.token, token))
    }
}

fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            let norm = |c: u8| {
                if c == b' ' {
                    b'-'
                } else {
                    c.to_ascii_lowercase()
                }
            };
            norm(x) == norm(y)
        })
}

/// Renders the message back: header, blank line, body, blank line, footers.
/// `parse` of the output gives back an equal value for messages whose body
/// does not itself look like a footer block.
impl fmt::Display for Conventional<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)?;
        if let Some(scope) = self.scope {
            write!(f, "({scope})")?;
        }
        if self.bang {
            f.write_str("!")?;
        }
        write!(f, ": {}", self.description)?;
        if let Some(body) = self.body {
            write!(f, "\n\n{body}")?;
        }
        for (i, footer) in self.footers.iter().enumerate() {
            f.write_str(if i == 0 { "\n\n" } else { "\n" })?;
            match footer.separator {
                Separator::Colon => write!(f, "{}: {}", footer.token, footer.value)?,
                Separator::Hash => write!(f, "{} {}", footer.token, footer.value)?,
            }
        }
        Ok(())
    }
}
