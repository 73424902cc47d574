//! Text templates of the process file: `{name}` placeholders in tag and
//! branch names and in deploy/rollback commands, and the splitting of a
//! command into arguments with shell-words quoting rules (no shell ever
//! parses a substituted value).

/// The placeholders of `template`, or a message for an unclosed or empty `{`.
pub(crate) fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("`{{` without a closing `}}` in `{template}`"))?;
        let name = &after[..close];
        if name.is_empty() || name.contains('{') {
            return Err(format!("`{{` without a placeholder name in `{template}`"));
        }
        out.push(name);
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// Placeholders used in `template` that are not in `allowed`.
pub(crate) fn unknown_placeholders<'t>(
    template: &'t str,
    allowed: &[&str],
) -> Result<Vec<&'t str>, String> {
    Ok(placeholders(template)?
        .into_iter()
        .filter(|p| !allowed.contains(p))
        .collect())
}

/// Split a command line into arguments like a POSIX shell would, without
/// expanding anything (the `shell-words` rules: whitespace separates words,
/// single quotes keep text literally, double quotes keep it but for `\`
/// escapes, `\` outside quotes escapes the next character, and a `#` that
/// starts a word begins a comment).
pub(crate) fn split_command(text: &str) -> Result<Vec<String>, String> {
    shell_words::split(text).map_err(|_| "a quote (' or \") is never closed".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command("./deploy.sh {version}  dev").unwrap(),
            ["./deploy.sh", "{version}", "dev"]
        );
        assert_eq!(
            split_command(r#"run 'a b' "c \"d\" \x" e\ f ''"#).unwrap(),
            ["run", "a b", r#"c "d" \x"#, "e f", ""]
        );
        assert!(split_command("run 'a").is_err());
        assert!(split_command("run \"a").is_err());
        assert_eq!(
            split_command("deploy.sh #{version}").unwrap(),
            ["deploy.sh"]
        );
        assert!(split_command("   ").unwrap().is_empty());
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders("v{version}-{env}").unwrap(),
            ["version", "env"]
        );
        assert!(placeholders("v{version").is_err());
        assert!(placeholders("v{}").is_err());
        assert_eq!(
            unknown_placeholders("{a}{version}", &["version"]).unwrap(),
            ["a"]
        );
    }
}
