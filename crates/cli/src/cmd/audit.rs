//! `audit [verify]`.

use crate::backend::Backend;

use crate::Cli;
use crate::output::{self, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    verify: Option<AuditCmd>,
    /// Only events about this patch key or release version.
    #[arg(long)]
    subject: Option<String>,
    /// Events after this sequence number.
    #[arg(long, default_value_t = 0)]
    after: i64,
    #[arg(long, default_value_t = 1000)]
    limit: i64,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain and name the first altered event.
    Verify,
}

pub async fn run(cli: &Cli, app: &Backend, a: &Args) -> Result<(), Failure> {
    if a.verify.is_some() {
        let v = app.audit_verify().await?;
        if cli.json {
            output::json(&v);
        }
        return match &v.first_break {
            None => {
                if !cli.json {
                    output::ok(&format!("audit log intact: {} events verified", v.checked));
                }
                Ok(())
            }
            Some(b) => Err(Failure {
                code: 1,
                message: format!(
                    "audit log altered: event {} fails verification: {}",
                    b.seq, b.problem
                ),
                unmet: vec![],
                quiet: cli.json,
            }),
        };
    }
    let r = app.audit(a.subject.as_deref(), a.after, a.limit).await?;
    if cli.json {
        output::json(&r.events);
        return Ok(());
    }
    let mut t = output::table(&["#", "time", "actor", "event", "subject", "details"]);
    for e in &r.events {
        let mut details = e.payload.clone();
        if details.len() > 100 {
            let cut = (0..=100)
                .rev()
                .find(|i| details.is_char_boundary(*i))
                .unwrap_or(0);
            details.truncate(cut);
            details.push('…');
        }
        t.add_row(vec![
            e.seq.to_string(),
            output::when(jiff::Timestamp::from_millisecond(e.at_ms).ok()),
            e.actor.clone(),
            e.kind.clone(),
            e.subject.clone(),
            details,
        ]);
    }
    output::print_table(&t);
    Ok(())
}
