//! `sluice-bench`: the performance benchmark of Sluice, kept in the repository.
//!
//! Three measurements, on SQLite and/or PostgreSQL, printed as Markdown:
//! 1. the durable-insert floor (`BEGIN; INSERT; COMMIT` on a scratch table, same
//!    pool and durability settings) against one command (`App::report_patch`),
//!    interleaved in alternating batches in the same run;
//! 2. full patch lifecycles per second, report to verified in production, through
//!    a bench process whose environments run no deploy command;
//! 3. `patch list` over 100,000 seeded patches, through `App::list_patches` and
//!    through the whole `sluice` binary.
//!
//! 4. with `--notify`, only the notification benchmark (`notify.rs`).
//!
//! Usage: `sluice-bench [--quick] [--notify] [--backend sqlite|postgres|both]`.
//! `sluice-bench load ...` measures `sluice serve` under concurrent clients
//! instead (see [`load`]), `sluice-bench ui ...` the web pages over a large
//! history ([`ui`]), `sluice-bench metrics ...` `sluice metrics` and `GET
//! /metrics` over a large history ([`metrics`]).
//! Only a loopback PostgreSQL is used (`SLUICE_TEST_POSTGRES`, else
//! postgres://postgres@127.0.0.1:5432/postgres); every database it creates is a
//! fresh one and is dropped at the end.
//!
//! This file only parses the arguments and dispatches. [`suite`] runs 1–4;
//! [`floor`], [`lifecycle`], [`list`], [`notify`], [`ui`], [`metrics`] and
//! [`load`] are the benchmarks; [`fixture`] (the bench process and the report
//! input), [`seed`] (bulk patches), [`history`] (a real release, chained
//! events, batched inserts), [`args`] (the options of `ui` and `metrics`),
//! [`db`] (scratch databases) and [`stats`] are shared.

use std::future::Future;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sluice_store::Backend;

mod args;
mod db;
mod fixture;
mod floor;
mod history;
mod lifecycle;
mod list;
mod load;
mod metrics;
mod metrics_events;
mod metrics_experiment;
mod metrics_plan;
mod metrics_probe;
mod metrics_report;
mod metrics_seed;
mod notify;
mod seed;
mod stats;
mod suite;
mod ui;

/// The arguments: the default run's options, or one of the subcommands with
/// its own options.
#[derive(Parser)]
#[command(
    name = "sluice-bench",
    about = "The Sluice performance benchmark, printed as Markdown on stdout (progress on stderr)",
    args_conflicts_with_subcommands = true,
    args_override_self = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A small smoke run (seconds, 5,000 patches), not for figures
    #[arg(long)]
    quick: bool,
    /// Only the notification benchmark
    #[arg(long)]
    notify: bool,
    /// The database(s) to measure
    #[arg(long, value_enum, default_value_t = BackendArg::Both)]
    backend: BackendArg,
}

#[derive(Subcommand)]
enum Command {
    /// Every web page of `sluice serve` over a large history (options: `sluice-bench ui --help`)
    #[command(disable_help_flag = true)]
    Ui(Rest),
    /// `sluice serve` under concurrent clients (options: `sluice-bench load --help`)
    #[command(disable_help_flag = true)]
    Load(Rest),
    /// `sluice metrics` and `GET /metrics` over a large history (options: `sluice-bench metrics --help`)
    #[command(disable_help_flag = true)]
    Metrics(Rest),
}

/// A subcommand's own arguments, handed as they are to its parser.
#[derive(Args)]
struct Rest {
    /// The subcommand's options
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

impl BackendArg {
    fn backends(self) -> Vec<Backend> {
        match self {
            BackendArg::Sqlite => vec![Backend::Sqlite],
            BackendArg::Postgres => vec![Backend::Postgres],
            BackendArg::Both => vec![Backend::Sqlite, Backend::Postgres],
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Ui(rest)) => match ui::parse(rest.args.into_iter()) {
            Ok(cfg) => block_on_threads(ui::run(cfg)),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Some(Command::Metrics(rest)) => match metrics::parse(rest.args.into_iter()) {
            Ok(cfg) => block_on_threads(metrics::run(cfg)),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Some(Command::Load(rest)) => {
            let cfg = match load::LoadConfig::parse(rest.args.into_iter()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return ExitCode::from(2);
                }
            };
            block_on(load::run(cfg))
        }
        None => block_on(suite::run(suite::Config::new(
            cli.quick,
            cli.notify,
            cli.backend.backends(),
        ))),
    }
}

/// Runs `f` on a multi-threaded runtime: the server and the client share the
/// process, a worker per core.
fn block_on_threads(f: impl Future<Output = Result<()>>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => match rt.block_on(f) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::from(2)
        }
    }
}

fn block_on(f: impl Future<Output = Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("sluice-bench").chain(args.iter().copied()))
    }

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn documented_invocations_parse() {
        let c = parse(&["--backend", "both"]).unwrap();
        assert!(c.command.is_none() && !c.quick && !c.notify);
        assert_eq!(c.backend.backends(), [Backend::Sqlite, Backend::Postgres]);
        let c = parse(&["--notify", "--backend=sqlite", "--quick"]).unwrap();
        assert!(c.quick && c.notify);
        assert_eq!(c.backend.backends(), [Backend::Sqlite]);
        let c = parse(&[]).unwrap();
        assert_eq!(c.backend.backends(), [Backend::Sqlite, Backend::Postgres]);
        // A subcommand's options reach its own parser as they were given.
        let rest = [
            "--backend",
            "both",
            "--clients",
            "1,16,64",
            "--requests=400",
        ];
        let c = parse(&[&["load"][..], &rest[..]].concat()).unwrap();
        assert!(matches!(c.command, Some(Command::Load(r)) if r.args == rest));
        let c = parse(&["ui", "--help"]).unwrap();
        assert!(matches!(c.command, Some(Command::Ui(r)) if r.args == ["--help"]));
    }

    #[test]
    fn metrics_arguments_parse() {
        let rest = ["--backend", "postgres", "--events=1000", "--samples", "5"];
        let c = parse(&[&["metrics"][..], &rest[..]].concat()).unwrap();
        let Some(Command::Metrics(r)) = c.command else {
            panic!("not the metrics subcommand");
        };
        assert_eq!(r.args, rest);
        let m = metrics::parse(r.args.into_iter()).unwrap();
        assert_eq!(m.backends, [Backend::Postgres]);
        assert_eq!(
            (m.releases, m.patches, m.events, m.samples),
            (10_000, 100_000, 1_000, 5)
        );
        // The defaults are the sizes, on both backends.
        let m = metrics::parse(std::iter::empty()).unwrap();
        assert_eq!(m.backends, [Backend::Sqlite, Backend::Postgres]);
        assert_eq!(
            (m.releases, m.patches, m.events, m.samples),
            (10_000, 100_000, 1_000_000, 30)
        );
        let m = metrics::parse(
            [
                "--backend",
                "sqlite",
                "--releases",
                "240",
                "--patches",
                "2400",
            ]
            .map(String::from)
            .into_iter(),
        )
        .unwrap();
        assert_eq!((m.backends.len(), m.releases, m.patches), (1, 240, 2_400));
        for bad in [
            &["--backend", "both", "--releases"][..],
            &["--backend", "oracle"][..],
            &["--samples", "x"][..],
            &["--quick"][..],
        ] {
            assert!(
                metrics::parse(bad.iter().map(|s| s.to_string())).is_err(),
                "{bad:?} must be refused"
            );
        }
        // Options before the subcommand are the default run's, not its own.
        assert!(parse(&["--quick", "metrics"]).is_err());
    }

    #[test]
    fn ui_keeps_its_defaults() {
        let u = ui::parse(std::iter::empty()).unwrap();
        assert_eq!(
            (u.releases, u.patches, u.events, u.samples),
            (10_000, 100_000, 100_000, 50)
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            &["--frobnicate"][..],
            &["--backend"][..],
            &["--backend", "mysql"][..],
            &["--quick", "load"][..],
            &["bench"][..],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
