//! Printing: tables on a terminal, plain aligned columns when piped, JSON on
//! request; colour only on a terminal and never with NO_COLOR set. Failures
//! print once, with their reasons, to stderr.

use std::io::IsTerminal;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use sluice_app::AppError;
use sluice_core::decide::Unmet;

/// A command that did not succeed, ready to print.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub unmet: Vec<Unmet>,
    /// The command already printed its result (a `--json` report): print nothing more.
    pub quiet: bool,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
            unmet: Vec::new(),
            quiet: false,
        }
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Failure {
        let code = e.exit_code() as u8;
        match e {
            AppError::Refused { summary, unmet } => Failure {
                code,
                message: format!("refused: {summary}"),
                unmet,
                quiet: false,
            },
            e => Failure {
                code,
                message: e.to_string(),
                unmet: Vec::new(),
                quiet: false,
            },
        }
    }
}

pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

pub fn paint(code: &str, s: &str) -> String {
    if color() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Prints a failure to stderr, or as JSON to stdout when asked.
pub fn print_failure(f: &Failure, json: bool) {
    if f.quiet {
        return;
    }
    if json {
        let v = serde_json::json!({"error": {"code": if f.code == 1 { "refused" } else { "error" }, "message": f.message, "unmet": f.unmet}});
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    // Process-file diagnostics carry their own `error:` heading.
    let head = if f.code == 1 || f.message.starts_with("error:") {
        paint("1;31", &f.message)
    } else {
        format!("{} {}", paint("1;31", "error:"), f.message)
    };
    eprintln!("{head}");
    for u in &f.unmet {
        let who = if u.responsible.is_empty() {
            String::new()
        } else {
            format!("  [{}]", u.responsible.join(", "))
        };
        eprintln!("  - {}{}", u.requirement, paint("33", &who));
        if let Some(h) = &u.hint {
            eprintln!("    {} {}", paint("2", "run:"), h);
        }
    }
}

pub fn json<T: Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    );
}

/// A table: bordered on a terminal, plain columns when piped.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_style(presets::UTF8_FULL_CONDENSED);
        t.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.load_style(presets::NOTHING);
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t.set_header(header.to_vec());
    t
}

/// Prints a table without the trailing spaces the plain preset leaves.
pub fn print_table(t: &Table) {
    for line in t.to_string().lines() {
        println!("{}", line.trim_end());
    }
}

pub fn ok(msg: &str) {
    println!("{}", paint("32", msg));
}

/// Prints a gate report's unmet requirements, or that it is open.
pub fn gate(g: &sluice_core::decide::GateReport) {
    if g.unmet.is_empty() {
        println!("gate into `{}`: open", g.env);
        return;
    }
    println!("gate into `{}`: {} unmet", g.env, g.unmet.len());
    let mut t = table(&["requirement", "responsible", "command"]);
    for u in &g.unmet {
        t.add_row(vec![
            u.requirement.clone(),
            u.responsible.join(", "),
            u.hint.clone().unwrap_or_default(),
        ]);
    }
    print_table(&t);
}

pub fn when(t: Option<jiff::Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}
