//! `retro list|show|edit|complete`: the retrospectives releases owe.

use jiff::Timestamp;
use sluice_app::wire;

use crate::backend::Backend;
use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Subcommand)]
pub enum RetroCmd {
    /// Retrospectives, newest first.
    List {
        /// Only open ones.
        #[arg(long)]
        open: bool,
    },
    /// One retrospective's document: the team's text, or the one Sluice writes from the audit log.
    Show {
        /// The retrospective, e.g. 1.4.2-r1.
        id: String,
    },
    /// Write the retrospective (Markdown) in $VISUAL or $EDITOR, or take it from a file.
    Edit {
        /// The retrospective, e.g. 1.4.2-r1.
        id: String,
        /// Take the text from a file (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        from: Option<std::path::PathBuf>,
    },
    /// Complete a retrospective (its owner role, once the team has written it).
    Complete {
        /// The retrospective, e.g. 1.4.2-r1.
        id: String,
    },
}

pub async fn run(cli: &Cli, app: &Backend, now: Timestamp, c: &RetroCmd) -> Result<(), Failure> {
    match c {
        RetroCmd::List { open } => {
            let list = app
                .run("", now, &[], wire::RetroFilter { open: *open })
                .await?;
            if cli.json {
                output::json(&list);
                return Ok(());
            }
            if list.is_empty() {
                outln!("no retrospectives{}", if *open { " open" } else { "" });
                return Ok(());
            }
            let mut t = output::table(&["id", "state", "cause", "owner", "due", "what happened"]);
            for x in &list {
                let state = match (x.is_open(), x.due < now) {
                    (false, _) => "complete",
                    (true, true) => "OVERDUE",
                    (true, false) => "open",
                };
                t.add_row(vec![
                    x.id.clone(),
                    state.to_string(),
                    x.cause.clone(),
                    x.owner.clone(),
                    output::when(Some(x.due)),
                    x.reason.clone(),
                ]);
            }
            output::print_table(&t);
            Ok(())
        }
        RetroCmd::Show { id } => {
            let v = app.run("", now, &[id], wire::ShowRetro {}).await?;
            if cli.json {
                output::json(&v);
            } else {
                out!("{}", v.document);
            }
            Ok(())
        }
        RetroCmd::Edit { id, from } => {
            let actor = context::actor(cli, app)?;
            let current = app.run("", now, &[id], wire::ShowRetro {}).await?;
            let text = match from {
                Some(p) if p.as_os_str() == "-" => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
                    s
                }
                Some(p) => std::fs::read_to_string(p)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", p.display())))?,
                None => crate::cmd::release::edit_in_editor(&current.document)?,
            };
            if text.trim_end() == current.document.trim_end() && current.edited {
                outln!("retrospective {id} unchanged");
                return Ok(());
            }
            let r = app
                .run(&actor, now, &[id], wire::RetroText { text })
                .await?;
            if cli.json {
                output::json(&r);
            } else {
                output::ok(&format!("saved the text of retrospective {}", r.id));
            }
            Ok(())
        }
        RetroCmd::Complete { id } => {
            let actor = context::actor(cli, app)?;
            let r = app.run(&actor, now, &[id], wire::CompleteRetro {}).await?;
            if cli.json {
                output::json(&r);
            } else {
                output::ok(&format!("retrospective {} complete", r.id));
            }
            Ok(())
        }
    }
}
