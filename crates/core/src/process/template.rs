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
/// expanding anything: whitespace separates words; single quotes keep text
/// literally; double quotes keep text except that `\` escapes `"`, `\`, `$`
/// and `` ` ``; outside quotes `\` escapes the next character.
pub(crate) fn split_command(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote (') is never closed".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote (\") is never closed".to_string()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote (\") is never closed".to_string()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("the command ends with a lone backslash".to_string()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
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
        assert!(split_command("run a\\").is_err());
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
