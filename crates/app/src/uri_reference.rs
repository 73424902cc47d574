//! A checker of RFC 3986's `URI-reference` grammar, for tests: the values
//! Sluice puts where a URI reference is required (a CloudEvents or CDEvents
//! `source`) must pass it whatever the project is called.

/// RFC 3986 `URI-reference`, checked against its grammar: a URI
/// (`scheme ":" hier-part`) or a relative reference, each with an
/// optional `?query` and `#fragment`; every character unreserved, a
/// sub-delimiter, one the part allows, or `%` and two hex digits; and a
/// relative path's first segment without `:`. (IP literals in an
/// authority are not needed here and are refused.)
pub(crate) fn is_uri_reference(s: &str) -> bool {
    fn chars_ok(s: &str, extra: &str) -> bool {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'%' {
                if i + 2 >= b.len()
                    || !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
                {
                    return false;
                }
                i += 3;
                continue;
            }
            let ok = c.is_ascii_alphanumeric()
                || b"-._~".contains(&c)
                || b"!$&'()*+,;=".contains(&c)
                || extra.as_bytes().contains(&c);
            if !ok {
                return false;
            }
            i += 1;
        }
        true
    }
    let (rest, fragment) = s.split_once('#').unwrap_or((s, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !chars_ok(fragment, ":@/?") || !chars_ok(query, ":@/?") {
        return false;
    }
    let scheme_end = rest.find(':').filter(|&i| !rest[..i].contains('/'));
    let hier = match scheme_end {
        Some(i) => {
            let scheme = &rest[..i];
            let mut c = scheme.chars();
            if !c.next().is_some_and(|c| c.is_ascii_alphabetic())
                || !c.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                // Not a scheme: a relative path whose first segment has a colon.
                return false;
            }
            &rest[i + 1..]
        }
        None => rest,
    };
    let path = match hier.strip_prefix("//") {
        Some(a) => {
            let (authority, path) = a.split_at(a.find('/').unwrap_or(a.len()));
            if !chars_ok(authority, ":@") {
                return false;
            }
            path
        }
        None => hier,
    };
    chars_ok(path, ":@/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_reference_check_knows_the_grammar() {
        for ok in [
            "sluice/shop",
            "/staging/tekton/",
            "https://example.com/a%20b?x=1#top",
            "urn:ietf:rfc:3986",
            "",
            "a/b:c",
        ] {
            assert!(is_uri_reference(ok), "{ok}");
        }
        for bad in [
            "sluice/my shop",
            "sluice/caf\u{e9}",
            "sluice/100%",
            "sluice/%zz",
            "a:b/c d",
            "my:shop/x y",
            "1x:y",
            "sluice/{shop}",
        ] {
            assert!(!is_uri_reference(bad), "{bad}");
        }
    }
}
