//! What a conventional commit means for the version and the changelog, by
//! the patch criteria (SPEC §2). These are the defaults for commit mode; a
//! process file's kinds (`process::KindDef`) take precedence where the
//! application has them. Types compare case-insensitively.

use super::Conventional;
use crate::process::Bump;

/// The SemVer bump a commit asks for:
///
/// | commit | bump |
/// |---|---|
/// | breaking (`!` or `BREAKING CHANGE`) | major |
/// | `feat`, `deprecate` / `deprecation` | minor |
/// | `fix`, `perf`, `security` / `sec`, `ui` | patch |
/// | anything else (`docs`, `chore`, `refactor`, `revert`, `ci`, ...) | none |
///
/// `security`, `deprecate` and `ui` follow the SPEC §2 table; a `revert`
/// gives no bump because what it undoes is not in its message.
pub fn bump(c: &Conventional<'_>) -> Option<Bump> {
    if c.breaking {
        return Some(Bump::Major);
    }
    match lower(c.kind).as_deref() {
        Some("feat" | "feature" | "deprecate" | "deprecation") => Some(Bump::Minor),
        Some("fix" | "perf" | "security" | "sec" | "ui") => Some(Bump::Patch),
        _ => None,
    }
}

/// The Keep a Changelog section a commit belongs in, first match wins:
///
/// 1. type `security` / `sec`, or scope `security` → `Security`
/// 2. type `remove` / `removal` → `Removed`
/// 3. type `deprecate` / `deprecation` → `Deprecated`
/// 4. breaking → `Changed` (SPEC §2: "Changed (marked breaking)"; see
///    [`changelog_entry`] for the marker)
/// 5. `feat` / `feature` → `Added`; `fix` → `Fixed`
/// 6. `perf`, `refactor`, `ui`, `revert` → `Changed` (a revert undoes an
///    earlier change whose kind is not in its message, so it is reported as
///    a change rather than guessed as a removal)
/// 7. anything else (`docs`, `chore`, `test`, `ci`, `build`, `style`, ...) → none
pub fn section(c: &Conventional<'_>) -> Option<&'static str> {
    let kind = lower(c.kind);
    let kind = kind.as_deref().unwrap_or("");
    if matches!(kind, "security" | "sec")
        || c.scope.is_some_and(|s| s.eq_ignore_ascii_case("security"))
    {
        return Some("Security");
    }
    match kind {
        "remove" | "removal" => return Some("Removed"),
        "deprecate" | "deprecation" => return Some("Deprecated"),
        _ => {}
    }
    if c.breaking {
        return Some("Changed");
    }
    match kind {
        "feat" | "feature" => Some("Added"),
        "fix" => Some("Fixed"),
        "perf" | "refactor" | "ui" | "revert" => Some("Changed"),
        _ => None,
    }
}

/// One changelog bullet for a commit (without the `- `): the description,
/// `**scope:** ` before it when there is a scope, and `**BREAKING:** ` first
/// when the commit is breaking.
pub fn changelog_entry(c: &Conventional<'_>) -> String {
    let mut entry = String::with_capacity(c.description.len() + 32);
    if c.breaking {
        entry.push_str("**BREAKING:** ");
    }
    if let Some(scope) = c.scope {
        entry.push_str("**");
        entry.push_str(scope);
        entry.push_str(":** ");
    }
    entry.push_str(c.description);
    entry
}

/// The type in lower case, without allocating in the usual case (types are
/// short and already lower case); `None` for absurdly long types.
fn lower(kind: &str) -> Option<std::borrow::Cow<'_, str>> {
    if kind.len() > 32 {
        return None;
    }
    Some(if kind.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(kind.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(kind)
    })
}
