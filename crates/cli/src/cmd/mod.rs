//! One module per subcommand group, each with its arguments and `run`.

pub mod audit;
pub mod calendar;
pub mod changelog;
pub mod demo;
pub mod docs;
pub mod gate;
pub mod incident;
pub mod init;
pub mod metrics;
pub mod notify;
pub mod patch;
pub mod release;
pub mod retro;
pub mod serve;
pub mod token;
pub mod verify;

use crate::output::{self, Failure};
use crate::{Cli, Command, context};

/// Runs a command and returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    let json = cli.json;
    let res = dispatch(&cli).await;
    match res {
        Ok(()) => 0,
        Err(f) => {
            output::print_failure(&f, json);
            // A refusal says who it refused, and why Sluice thought so.
            if f.code == 1
                && !json
                && let Some(who) = context::acting_as()
            {
                eprintln!("  {who}");
            }
            f.code
        }
    }
}

async fn dispatch(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Init(a) => return init::init(cli, a),
        Command::Check(a) => return init::check(cli, a),
        Command::Process(c) => return init::process(cli, c),
        Command::Calendar(a) => return calendar::run(cli, a),
        Command::Completions(a) => return docs::completions(a),
        Command::Man(a) => return docs::man(a),
        Command::Notify(c @ notify::NotifyCmd::Preview { .. }) => return notify::run(cli, c),
        Command::Changelog(a) => return changelog::changelog(cli, a).await,
        Command::Version(a) => return changelog::version(cli, a).await,
        Command::Verify(a) => return verify::run(cli, a).await,
        Command::Serve(a) => return serve::run(cli, a).await,
        Command::Token(c) => return token::run(cli, c).await,
        _ => {}
    }
    let app = context::backend(cli).await?;
    let now = jiff::Timestamp::now();
    let r = match &cli.command {
        Command::Patch(c) => patch::run(cli, &app, now, c).await,
        Command::Release(c) => release::run(cli, &app, now, c).await,
        Command::Test(c) => gate::test(cli, &app, now, c).await,
        Command::Approve(a) => gate::approve(cli, &app, now, a).await,
        Command::Checklist(a) => gate::checklist(cli, &app, now, a).await,
        Command::Promote(a) => gate::promote(cli, &app, now, a).await,
        Command::Rollback(a) => gate::rollback(cli, &app, now, a).await,
        Command::Status => gate::status(cli, &app).await,
        Command::Tick => gate::tick(cli, &app, now).await,
        Command::Inbox => gate::inbox(cli, &app, now).await,
        Command::Metrics(a) => metrics::run(cli, &app, now, a).await,
        Command::Incident(c) => incident::run(cli, &app, now, c).await,
        Command::Retro(c) => retro::run(cli, &app, now, c).await,
        Command::Audit(a) => audit::run(cli, &app, a).await,
        Command::Notify(c) => notify::run_db(cli, &app, now, c).await,
        Command::Init(_)
        | Command::Check(_)
        | Command::Process(_)
        | Command::Calendar(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Changelog(_)
        | Command::Version(_)
        | Command::Verify(_)
        | Command::Serve(_)
        | Command::Token(_) => unreachable!("handled above"),
    };
    app.close().await;
    r
}
