//! `sluice`: the command line. Parses arguments, finds the repository, the
//! process file, the database and the actor, calls the application layer, and
//! prints the result. Exit codes: 0 ok, 1 refused by the process, 2 usage,
//! configuration or I/O error.

/// `print!` that ends the command quietly, with success, when the reader
/// closed the pipe (`sluice audit | head -1`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), false) };
}

/// `println!`, the same way as [`out!`].
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), true) };
}

mod backend;
mod cmd;
mod context;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sluice carries each patch from report to production through every gate of
/// your team's process (sluice.toml), and keeps a tamper-evident record of it.
#[derive(Debug, Parser)]
#[command(name = "sluice", version)]
pub struct Cli {
    /// Act as this user (email or name); else SLUICE_USER, else git's user.email.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub actor: Option<String>,
    /// Database URL: sqlite://PATH or postgres://... [default: .sluice/sluice.db at the repository root]
    #[arg(
        long,
        global = true,
        env = "SLUICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub db: Option<String>,
    /// The process file [default: sluice.toml in this directory or the nearest parent].
    #[arg(long, global = true, env = "SLUICE_CONFIG", value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,
    /// Talk to this Sluice server instead of the local database (with SLUICE_TOKEN).
    #[arg(long, global = true, env = "SLUICE_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Tables at their full width, one line per row, even on a terminal
    /// (they fit the terminal's width otherwise).
    #[arg(long, global = true)]
    pub wide: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the standard process as a commented sluice.toml.
    Init(cmd::init::Args),
    /// Validate sluice.toml and report every problem at once.
    Check(cmd::init::CheckArgs),
    /// The team's process document.
    #[command(subcommand)]
    Process(cmd::init::ProcessCmd),
    /// The next release trains, deploy windows and freezes, the next train first.
    Calendar(cmd::calendar::Args),
    /// Notifications: preview who is told what (nothing sent), send the due ones, list and retry them.
    #[command(subcommand)]
    Notify(cmd::notify::NotifyCmd),
    /// Report, triage and move patches.
    #[command(subcommand)]
    Patch(cmd::patch::PatchCmd),
    /// Plan, cut and inspect releases.
    #[command(subcommand)]
    Release(cmd::release::ReleaseCmd),
    /// Record test results.
    #[command(subcommand)]
    Test(cmd::gate::TestCmd),
    /// Approve a release into an environment, as a member of a role.
    Approve(cmd::gate::ApproveArgs),
    /// Show a release's checklist, or tick an item.
    Checklist(cmd::gate::ChecklistArgs),
    /// Move a release into the next environment through its gate, running its deploy command.
    Promote(cmd::gate::PromoteArgs),
    /// Return an environment to an earlier release, running its rollback command.
    Rollback(cmd::gate::RollbackArgs),
    /// What every environment holds and what waits to enter it.
    Status,
    /// What waits on you: approvals, tests, checklist items, reviews, overdue patches, follow-ups, retrospectives.
    Inbox,
    /// The four DORA keys, deployment rework, patch success, deadlines met by severity and where releases wait, over a period (default: the last 30 days of the last environment).
    Metrics(cmd::metrics::Args),
    /// Record what time has made true (overdue patches, releases waiting at a gate,
    /// freezes about to start, overdue follow-up reviews), each once, and notify;
    /// `sluice serve` does this every 30 s, run it from cron without a server.
    Tick,
    /// Open, resolve and list incidents (alerts open them through webhooks).
    #[command(subcommand)]
    Incident(cmd::incident::IncidentCmd),
    /// Retrospectives: list, show (generated from the audit log until the team writes it), edit, complete.
    #[command(subcommand)]
    Retro(cmd::retro::RetroCmd),
    /// The audit log; `audit verify` recomputes its hash chain.
    Audit(cmd::audit::Args),
    /// Check a release offline from its tag and the evidence attached to it in git.
    Verify(cmd::verify::Args),
    /// Serve the web UI (/board, sign in with a token), the HTTP API (/api/v1) and inbound webhooks, with the notification dispatcher, on this repository's database.
    Serve(cmd::serve::Args),
    /// Create, list and revoke API tokens (on the server's database).
    #[command(subcommand)]
    Token(cmd::token::TokenCmd),
    /// Print the completion script for a shell (bash, zsh, fish, powershell, elvish).
    Completions(cmd::docs::CompletionArgs),
    /// Print the manual page sluice(1), or write one per command with --dir.
    Man(cmd::docs::ManArgs),
    /// Build a Keep a Changelog document from Conventional Commits and SemVer tags (any repository).
    Changelog(cmd::changelog::Args),
    /// The version of this repository from its tags; `--next` computes the next one from the commits since.
    Version(cmd::changelog::VersionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::set_wide(cli.wide);
    // A command is one short sequence of calls: one thread. The server
    // answers many clients at once: a worker per core.
    let mut builder = if matches!(cli.command, Command::Serve(_)) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let code = rt.block_on(cmd::run(cli));
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// `--help` says what every command and every option is for: walks the
    /// whole command tree and names each one that says nothing.
    #[test]
    fn every_command_and_option_says_what_it_is_for() {
        fn walk(cmd: &clap::Command, path: &str, silent: &mut Vec<String>, seen: &mut usize) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if a.is_hide_set()
                    || a.is_global_set() && path != "sluice"
                    || id == "help"
                    || id == "version"
                {
                    continue;
                }
                *seen += 1;
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    silent.push(format!("{path} <{id}>"));
                }
            }
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_name() != "help" && sub.get_about().is_none() {
                    silent.push(format!("{p} (the command)"));
                }
                walk(sub, &p, silent, seen);
            }
        }
        let mut cmd = super::Cli::command();
        cmd.build();
        let (mut silent, mut seen) = (Vec::new(), 0);
        walk(&cmd, "sluice", &mut silent, &mut seen);
        assert!(seen > 100, "the walk saw only {seen} options");
        assert!(
            silent.is_empty(),
            "these say nothing in --help:\n{}",
            silent.join("\n")
        );
    }
}
