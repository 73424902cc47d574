//! The options of the benchmarks over a large seeded history (`ui`,
//! `metrics`): the backends, the sizes of the history and the samples per
//! measurement, each subcommand with its own defaults.

use anyhow::{Context, Result, bail};
use sluice_store::Backend;

/// `--flag=value` as `(--flag, Some(value))`; anything else as itself, its value (if it
/// takes one) being the next argument.
pub(crate) fn split_flag(arg: &str) -> (String, Option<String>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
        _ => (arg.to_string(), None),
    }
}

/// The value of `--backend`: `sqlite`, `postgres` or `both`.
pub(crate) fn backends(value: &str) -> Result<Vec<Backend>> {
    Ok(match value {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => bail!("--backend must be sqlite, postgres or both, not `{other}`"),
    })
}

/// What to seed and how often to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryArgs {
    pub(crate) backends: Vec<Backend>,
    pub(crate) releases: usize,
    pub(crate) patches: usize,
    pub(crate) events: usize,
    pub(crate) samples: usize,
}

impl HistoryArgs {
    /// Parses `--backend`, `--releases`, `--patches`, `--events` and
    /// `--samples` over `defaults`; `--help` prints `usage` and exits.
    pub(crate) fn parse(
        mut args: impl Iterator<Item = String>,
        defaults: HistoryArgs,
        usage: &str,
    ) -> Result<HistoryArgs> {
        let mut c = defaults;
        while let Some(a) = args.next() {
            let (flag, inline) = split_flag(&a);
            let mut value = |what: &str| -> Result<String> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => args
                        .next()
                        .with_context(|| format!("{what} needs a value\nusage: {usage}")),
                }
            };
            let mut num = |what: &str| -> Result<usize> {
                let v = value(what)?;
                v.parse()
                    .with_context(|| format!("{what} needs a number, not `{v}`"))
            };
            match flag.as_str() {
                "--backend" => c.backends = backends(&value("--backend")?)?,
                "--releases" => c.releases = num("--releases")?,
                "--patches" => c.patches = num("--patches")?,
                "--events" => c.events = num("--events")?,
                "--samples" => c.samples = num("--samples")?.max(1),
                "-h" | "--help" => {
                    println!("usage: {usage}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`\nusage: {usage}"),
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> HistoryArgs {
        HistoryArgs {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            releases: 1,
            patches: 2,
            events: 3,
            samples: 4,
        }
    }

    fn parse(args: &[&str]) -> Result<HistoryArgs> {
        HistoryArgs::parse(args.iter().map(|s| s.to_string()), defaults(), "usage")
    }

    #[test]
    fn values_replace_the_defaults() {
        assert_eq!(parse(&[]).unwrap(), defaults());
        let c = parse(&["--backend", "postgres", "--releases=10", "--samples", "0"]).unwrap();
        assert_eq!(c.backends, [Backend::Postgres]);
        assert_eq!((c.releases, c.patches, c.samples), (10, 2, 1));
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            &["--backend", "mysql"][..],
            &["--events"][..],
            &["--events", "many"][..],
            &["--events=-1"][..],
            &["--frobnicate"][..],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
