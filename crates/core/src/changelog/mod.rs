//! Keep a Changelog 1.1.0: rendering release sections and whole documents,
//! and editing an existing `CHANGELOG.md` without disturbing it.
//!
//! Invariants:
//! - Editing functions never change a byte they do not own: [`insert_release`]
//!   only adds the new section (plus the blank lines that separate it) and,
//!   with [`Links`], adds one link line and rewrites the base version in the
//!   `[unreleased]` link. The document's line ending (LF or CRLF) is used for
//!   every added line, and a missing final newline stays missing.
//! - Headings inside fenced code blocks are ignored.
//! - Versions compare without brackets and a leading `v`, so `## [v1.2.3]`
//!   already holds `1.2.3`.
//!
//! Human edits survive regeneration through [`section_text`] and
//! [`replace_section`]: the application compares a section's stored text to
//! what it would generate and keeps the human's text when they differ.

mod edit;
mod render;
mod scan;

pub use edit::{insert_release, replace_section, section_text};
pub use render::{document, render_section};

/// The standard section headings, in the order they are rendered.
pub const STANDARD_HEADINGS: [&str; 6] = [
    "Added",
    "Changed",
    "Deprecated",
    "Removed",
    "Fixed",
    "Security",
];

/// One release's section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// As it will appear between the brackets, e.g. `1.2.4`.
    pub version: String,
    pub date: jiff::civil::Date,
    pub groups: Vec<Group>,
    /// Rendered as a `[YANKED]` marker after the date.
    pub yanked: bool,
}

/// The entries under one `### Heading`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub heading: String,
    /// Entry texts without the leading `- `; a multi-line entry's following
    /// lines are indented under its bullet.
    pub entries: Vec<String>,
}

/// How to link versions at the bottom of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// A URL template with `{previous}` and `{version}`, replaced by the
    /// versions as written in the headings, e.g.
    /// `https://example.com/shop/compare/v{previous}...v{version}`.
    pub compare: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangelogError {
    #[error("the changelog already has a section for version {version}")]
    DuplicateVersion { version: String },
    #[error("the changelog has no section for version {version}")]
    NoSuchVersion { version: String },
}
