//! Patch keys (`SHOP-12`) in commit messages and branch names.
//!
//! A key is the project prefix, `-`, and digits, bounded on both sides by a
//! non-word character (word = ASCII letter, digit or `_`): `SHOP-12` matches in
//! `fix: SHOP-12 login` and `hotfix/SHOP-12-login`, not in `XSHOP-12` or
//! `SHOP-12a`. The prefix matches case-insensitively (branch names are often
//! lower-case); keys are returned spelled with the given prefix.

/// The patch keys a commit message links to, de-duplicated, in order of
/// appearance: keys in the subject line (first non-blank line), then keys in
/// `Patch:` trailers (token case-insensitive; several trailers, and several
/// keys per trailer separated by commas or spaces, are allowed). Works on any
/// message, conventional or not.
pub fn patch_keys(message: &str, prefix: &str) -> Vec<String> {
    let prefix = normalize_prefix(prefix);
    let mut keys = Vec::new();
    if prefix.is_empty() {
        return keys;
    }
    let mut add = |key: String| {
        if !keys.contains(&key) {
            keys.push(key);
        }
    };
    let mut lines = message.lines().map(|l| l.trim_end());
    if let Some(subject) = lines.by_ref().find(|l| !l.trim().is_empty()) {
        find_keys(subject, prefix, &mut add);
    }
    for line in lines {
        let Some(value) = patch_trailer(line) else {
            continue;
        };
        for item in value.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
            if let Some(digits) = key_digits(item, prefix)
                && digits.len() == item.len() - prefix.len() - 1
            {
                add(format!("{prefix}-{digits}"));
            }
        }
    }
    keys
}

/// The first key in a branch name such as `hotfix/SHOP-12-login-fails`.
pub fn key_in_branch(branch: &str, prefix: &str) -> Option<String> {
    let prefix = normalize_prefix(prefix);
    if prefix.is_empty() {
        return None;
    }
    let mut found = None;
    find_keys(branch, prefix, &mut |key| {
        found.get_or_insert(key);
    });
    found
}

fn normalize_prefix(prefix: &str) -> &str {
    prefix.trim().trim_end_matches('-')
}

/// `Patch: SHOP-1, SHOP-2` → `SHOP-1, SHOP-2`.
fn patch_trailer(line: &str) -> Option<&str> {
    let (token, value) = line.split_once(':')?;
    token.eq_ignore_ascii_case("patch").then_some(value)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// If `text` starts with `PREFIX-digits` followed by a non-word character or
/// the end, returns the digits.
fn key_digits<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let b = text.as_bytes();
    let p = prefix.len();
    if b.len() < p + 2 || !b[..p].eq_ignore_ascii_case(prefix.as_bytes()) || b[p] != b'-' {
        return None;
    }
    let digits_len = b[p + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let end = p + 1 + digits_len;
    if digits_len == 0 || b.get(end).is_some_and(|&c| is_word(c)) {
        return None;
    }
    Some(&text[p + 1..end])
}

fn find_keys(text: &str, prefix: &str, add: &mut dyn FnMut(String)) {
    let b = text.as_bytes();
    let first = prefix.as_bytes()[0];
    for i in 0..b.len() {
        if !b[i].eq_ignore_ascii_case(&first) || (i > 0 && is_word(b[i - 1])) {
            continue;
        }
        // `i` is at an ASCII byte, so a char boundary.
        if let Some(digits) = key_digits(&text[i..], prefix) {
            add(format!("{prefix}-{digits}"));
        }
    }
}
