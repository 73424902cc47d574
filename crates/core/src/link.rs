//! Links that people, CI and alert sources hand to Sluice (a test run, an
//! alert, an incident). They end up as `href`s in the web UI and in messages,
//! so only absolute `http`/`https` addresses are accepted: `javascript:`,
//! `data:` and relative forms never reach a page.

/// The longest link accepted, in bytes.
pub const MAX_LEN: usize = 2048;

/// The link itself when it is an absolute `http` or `https` address with a
/// host; otherwise why not. Control characters and spaces are refused
/// outright, since browsers drop some of them before reading the scheme
/// (`java\tscript:` runs as `javascript:`).
pub fn web_link(raw: &str) -> Result<&str, String> {
    let fail = |why: &str| {
        let shown: String = raw.chars().take(60).collect();
        Err(format!(
            "the link `{}` {why}; give an absolute http:// or https:// address",
            shown.escape_debug()
        ))
    };
    if raw.len() > MAX_LEN {
        return fail(&format!("is longer than {MAX_LEN} bytes"));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return fail("holds a space or a control character");
    }
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &raw[8..]
    } else if lower.starts_with("http://") {
        &raw[7..]
    } else {
        return fail("is not an http or https address");
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || authority.contains('\\') {
        return fail("names no host");
    }
    Ok(raw)
}

/// An optional link, checked: `None` stays `None`, an empty one becomes `None`.
pub fn optional(raw: Option<String>) -> Result<Option<String>, String> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => web_link(s.trim()).map(|l| Some(l.to_string())),
    }
}

/// Whether a stored link may be rendered as an `href` (the same rule as on
/// the way in, for records written before it existed).
pub fn renderable(raw: &str) -> bool {
    web_link(raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_with_a_host() {
        for ok in [
            "https://ci.example/run/1",
            "http://ci.example",
            "HTTPS://CI.EXAMPLE/x?y#z",
            "https://user@host:8443/p",
            "https://[::1]:8080/",
        ] {
            assert_eq!(web_link(ok), Ok(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_scripts_data_relative_and_smuggled_schemes() {
        for bad in [
            "javascript:alert(document.domain)",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "//evil.example/x",
            "/relative",
            "https:evil.example",
            "https:///x",
            "https://:80/x",
            "https://\\evil.example",
            "https://a b",
            "https://ok.example/\u{0}",
            "ftp://files.example",
            "",
        ] {
            assert!(web_link(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("https://x.example/{}", "a".repeat(MAX_LEN));
        assert!(web_link(&long).is_err());
    }

    #[test]
    fn optional_links() {
        assert_eq!(optional(None), Ok(None));
        assert_eq!(optional(Some("  ".into())), Ok(None));
        assert_eq!(
            optional(Some(" https://x.example ".into())),
            Ok(Some("https://x.example".into()))
        );
        let e = optional(Some("javascript:alert(1)".into())).unwrap_err();
        assert!(e.contains("http:// or https://"), "{e}");
    }
}
