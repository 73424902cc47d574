//! `sluice token create|list|revoke`: API tokens, managed on the server's
//! own database (local mode only).

use jiff::Timestamp;

use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Subcommand)]
pub enum TokenCmd {
    /// Create a token for a user; its secret is shown once.
    Create {
        /// The user the token acts as (their roles come from the process file).
        #[arg(long)]
        user: String,
        /// How long it stays valid, like 90d or 12h [default: until revoked].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// Every token, without secrets.
    List,
    /// Stop a token from working, at once.
    Revoke {
        /// The token id `token list` shows (not the secret).
        id: String,
    },
}

pub async fn run(cli: &Cli, c: &TokenCmd) -> Result<(), Failure> {
    if cli.server.is_some() {
        return Err(Failure::usage(
            "tokens are managed on the server's machine, against its database; run `sluice token` there without --server",
        ));
    }
    let app = context::open(cli).await?;
    let now = Timestamp::now();
    let r = run_on(cli, &app, now, c).await;
    app.close().await;
    r
}

async fn run_on(
    cli: &Cli,
    app: &sluice_app::App,
    now: Timestamp,
    c: &TokenCmd,
) -> Result<(), Failure> {
    match c {
        TokenCmd::Create { user, expires } => {
            let valid_for = match expires {
                Some(e) => Some(sluice_core::process::parse_duration(e).map_err(|m| {
                    Failure::usage(format!("--expires `{e}`: {m} (for example 90d or 12h)"))
                })?),
                None => None,
            };
            let actor = context::local_actor(cli, app.root())?;
            let t = app.create_token(&actor, now, user, valid_for).await?;
            if cli.json {
                output::json(&t);
                return Ok(());
            }
            output::ok(&format!("created {} for {}", t.token.id, t.token.user));
            if app.process().roles_of(&t.token.user).is_empty() {
                eprintln!(
                    "note: {} holds no role in the process file; the token can read but not act",
                    t.token.user
                );
            }
            outln!("{}", t.secret);
            eprintln!("this is the only time the secret is shown; store it now (SLUICE_TOKEN)");
        }
        TokenCmd::List => {
            let ts = app.tokens().await?;
            if cli.json {
                output::json(&ts);
                return Ok(());
            }
            let mut t = output::table(&["id", "user", "created", "by", "expires", "state"]);
            for k in &ts {
                let at = |ms: i64| output::when(Timestamp::from_millisecond(ms).ok());
                let state = if k.revoked_ms.is_some() {
                    "revoked"
                } else if k.expires_ms.is_some_and(|e| e <= now.as_millisecond()) {
                    "expired"
                } else {
                    "active"
                };
                t.add_row(vec![
                    k.id.clone(),
                    k.user.clone(),
                    at(k.created_ms),
                    k.created_by.clone(),
                    k.expires_ms.map(at).unwrap_or_else(|| "never".into()),
                    state.to_string(),
                ]);
            }
            output::print_table(&t);
        }
        TokenCmd::Revoke { id } => {
            let actor = context::local_actor(cli, app.root())?;
            let t = app.revoke_token(&actor, now, id).await?;
            if cli.json {
                output::json(&t);
            } else {
                output::ok(&format!("revoked {} ({})", t.id, t.user));
            }
        }
    }
    Ok(())
}
