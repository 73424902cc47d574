//! Release tag templates: how a team spells a version as a tag name.
//!
//! A template is literal text plus either one `{version}` placeholder (a full semver version,
//! pre-release and build metadata included) or all three of `{major}`, `{minor}` and
//! `{patch}` once each; a pre-release (`-rc.1`) directly after `{patch}` is accepted too.
//! Matching a tag name yields the version; rendering a version yields the tag name, and the
//! two round-trip.

use semver::Version;

use crate::GitError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Version,
    Major,
    Minor,
    Patch,
}

/// A parsed release tag template such as `v{version}` or `release-{major}.{minor}.{patch}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTemplate {
    source: String,
    parts: Vec<Part>,
}

impl TagTemplate {
    /// Parses and validates a template.
    pub fn parse(template: &str) -> Result<TagTemplate, GitError> {
        let bad = |reason| GitError::Template {
            template: template.to_owned(),
            reason,
        };
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}').ok_or_else(|| bad("unclosed `{`"))?;
                    parts.push(match &rest[1..end] {
                        "version" => Part::Version,
                        "major" => Part::Major,
                        "minor" => Part::Minor,
                        "patch" => Part::Patch,
                        _ => return Err(bad("unknown placeholder")),
                    });
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    parts.push(Part::Lit(rest[..i].to_owned()));
                    rest = &rest[i..];
                }
                None => {
                    parts.push(Part::Lit(rest.to_owned()));
                    rest = "";
                }
            }
        }
        if parts
            .iter()
            .any(|p| matches!(p, Part::Lit(l) if l.contains('}')))
        {
            return Err(bad("stray `}`"));
        }
        let count = |want: &Part| parts.iter().filter(|p| *p == want).count();
        let components = [
            count(&Part::Major),
            count(&Part::Minor),
            count(&Part::Patch),
        ];
        match count(&Part::Version) {
            1 if components == [0, 0, 0] => {}
            0 if components == [1, 1, 1] => {}
            0 if components == [0, 0, 0] => return Err(bad("it has no version placeholder")),
            _ => {
                return Err(bad(
                    "use either one {version} or each of {major}, {minor}, {patch} once",
                ));
            }
        }
        Ok(TagTemplate {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The version a tag name stands for, or `None` if the name does not fit the template.
    pub fn parse_version(&self, tag_name: &str) -> Option<Version> {
        let mut caps = Captures::default();
        if !match_parts(&self.parts, tag_name, &mut caps) {
            return None;
        }
        caps.version
    }

    /// The tag name for `version`.
    pub fn render(&self, version: &Version) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::Version => out.push_str(&version.to_string()),
                Part::Major => out.push_str(&version.major.to_string()),
                Part::Minor => out.push_str(&version.minor.to_string()),
                Part::Patch => {
                    out.push_str(&version.patch.to_string());
                    if !version.pre.is_empty() {
                        out.push('-');
                        out.push_str(version.pre.as_str());
                    }
                }
            }
        }
        out
    }
}

#[derive(Default, Clone)]
struct Captures<'a> {
    major: Option<&'a str>,
    minor: Option<&'a str>,
    version: Option<Version>,
}

/// Backtracking match; tag names are short, so trying every split is cheap and keeps
/// templates like `{major}.{minor}.{patch}` or `v{version}-final` unambiguous.
fn match_parts<'a>(parts: &[Part], s: &'a str, caps: &mut Captures<'a>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return s.is_empty();
    };
    match first {
        Part::Lit(l) => s
            .strip_prefix(l.as_str())
            .is_some_and(|tail| match_parts(rest, tail, caps)),
        Part::Version => (1..=s.len())
            .rev()
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| {
                let Ok(v) = Version::parse(&s[..i]) else {
                    return false;
                };
                let mut next = caps.clone();
                next.version = Some(v);
                let ok = match_parts(rest, &s[i..], &mut next);
                if ok {
                    *caps = next;
                }
                ok
            }),
        Part::Major | Part::Minor => {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            (1..=digits).rev().any(|i| {
                let mut next = caps.clone();
                if *first == Part::Major {
                    next.major = Some(&s[..i]);
                } else {
                    next.minor = Some(&s[..i]);
                }
                let ok = match_parts(rest, &s[i..], &mut next);
                if ok {
                    *caps = next;
                }
                ok
            })
        }
        Part::Patch => {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            // The patch number, optionally followed by `-pre.release` characters.
            let pre_end = digits
                + if s[digits..].starts_with('-') {
                    s[digits..]
                        .bytes()
                        .skip(1)
                        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
                        .count()
                        + 1
                } else {
                    0
                };
            (1..=pre_end).rev().any(|i| {
                let (Some(major), Some(minor)) = (caps.major, caps.minor) else {
                    return false;
                };
                let Ok(v) = Version::parse(&format!("{major}.{minor}.{}", &s[..i])) else {
                    return false;
                };
                let mut next = caps.clone();
                next.version = Some(v);
                let ok = match_parts(rest, &s[i..], &mut next);
                if ok {
                    *caps = next;
                }
                ok
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn version_placeholder() {
        let t = TagTemplate::parse("v{version}").unwrap();
        assert_eq!(t.parse_version("v1.2.3"), Some(v("1.2.3")));
        assert_eq!(t.parse_version("v1.3.0-rc.1"), Some(v("1.3.0-rc.1")));
        assert_eq!(t.parse_version("1.2.3"), None);
        assert_eq!(t.parse_version("v1.2"), None);
        assert_eq!(t.parse_version("vnext"), None);
        assert_eq!(t.render(&v("1.3.0-rc.1")), "v1.3.0-rc.1");
    }

    #[test]
    fn version_with_suffix() {
        let t = TagTemplate::parse("app-{version}-final").unwrap();
        assert_eq!(t.parse_version("app-2.0.0-final"), Some(v("2.0.0")));
        assert_eq!(
            t.parse_version("app-2.0.0-rc.1-final"),
            Some(v("2.0.0-rc.1"))
        );
        assert_eq!(t.parse_version("app-2.0.0"), None);
    }

    #[test]
    fn component_placeholders() {
        let t = TagTemplate::parse("{major}.{minor}.{patch}").unwrap();
        assert_eq!(t.parse_version("1.2.3"), Some(v("1.2.3")));
        assert_eq!(t.parse_version("1.3.0-rc.1"), Some(v("1.3.0-rc.1")));
        assert_eq!(t.parse_version("v1.2.3"), None);
        assert_eq!(t.parse_version("01.2.3"), None);
        let t = TagTemplate::parse("release/{major}_{minor}_{patch}").unwrap();
        assert_eq!(t.parse_version("release/10_0_12"), Some(v("10.0.12")));
        assert_eq!(t.render(&v("10.0.12")), "release/10_0_12");
    }

    #[test]
    fn bad_templates() {
        for bad in [
            "v",
            "{version}{version}",
            "{major}.{minor}",
            "{major}.{minor}.{patch}-{version}",
            "v{ver}",
            "v{version",
            "v}{version}",
        ] {
            assert!(TagTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
