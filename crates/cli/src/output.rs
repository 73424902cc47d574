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

/// Writes to stdout. A reader that closed the pipe has all it wanted: the
/// command ends there with success. Any other write failure ends it with 2.
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let res = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = res {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(2);
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

/// A state word, coloured by what it means (on a terminal, without
/// `NO_COLOR`): red for what went wrong or is late, yellow for work under
/// way, green for what is done, plain otherwise.
pub fn state(s: &str) -> String {
    let first = s.split_whitespace().next().unwrap_or(s);
    let code = match first {
        "OVERDUE" | "failed" | "timed_out" | "abandoned" | "rolled_back" | "rejected" | "open"
        | "unmet" => "31",
        "in_progress" | "in_review" | "running" | "candidate" | "triaged" | "reported" => "33",
        "ready" | "released" | "verified" | "succeeded" | "resolved" | "met" => "32",
        _ => return s.to_string(),
    };
    paint(code, s)
}

/// Prints a failure to stderr, or as JSON to stdout when asked.
pub fn print_failure(f: &Failure, json: bool) {
    if f.quiet {
        return;
    }
    if json {
        let v = serde_json::json!({"error": {"code": if f.code == 1 { "refused" } else { "error" }, "message": f.message, "unmet": f.unmet}});
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
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
    outln!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    );
}

static WIDE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--wide`: tables at their full width even on a terminal.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, std::sync::atomic::Ordering::Relaxed);
}

/// A table: bordered on a terminal and fitted to its width (unless
/// `--wide`), plain columns when piped.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_style(presets::UTF8_FULL_CONDENSED);
        if WIDE.load(std::sync::atomic::Ordering::Relaxed) {
            t.set_content_arrangement(ContentArrangement::Disabled);
        } else {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            // Fit the terminal: long cells wrap inside their column.
            if let Some((_, cols)) = console::Term::stdout().size_checked() {
                t.set_width(cols);
            }
        }
    } else {
        t.load_style(presets::NOTHING);
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t.set_header(header.to_vec());
    t
}

/// The most characters a table cell shows; the rest is cut with a note.
/// (The table layout counts widths in 16 bits and cannot lay out more.)
pub const CELL_MAX: usize = 4096;

fn clip(s: String) -> String {
    match s.char_indices().nth(CELL_MAX) {
        None => s,
        Some((at, _)) => {
            let more = s[at..].chars().count();
            format!("{}… ({more} more characters; --json shows all)", &s[..at])
        }
    }
}

/// Prints a table without the trailing spaces the plain preset leaves. A cell
/// longer than [`CELL_MAX`] characters is cut rather than breaking the layout.
pub fn print_table(t: &Table) {
    let long = |r: &comfy_table::Row| r.cell_iter().any(|c| c.content().len() > CELL_MAX);
    let text = if t.header().is_some_and(long) || t.row_iter().any(long) {
        let mut clipped = Table::new();
        clipped.load_style(t.style());
        clipped.set_content_arrangement(t.content_arrangement());
        let cells = |r: &comfy_table::Row| -> Vec<String> {
            r.cell_iter().map(|c| clip(c.content())).collect()
        };
        if let Some(h) = t.header() {
            clipped.set_header(cells(h));
        }
        for r in t.row_iter() {
            clipped.add_row(cells(r));
        }
        clipped.to_string()
    } else {
        t.to_string()
    };
    for line in text.lines() {
        outln!("{}", line.trim_end());
    }
}

pub fn ok(msg: &str) {
    outln!("{}", paint("32", msg));
}

/// Prints a gate report's unmet requirements, or that it is open.
pub fn gate(g: &sluice_core::decide::GateReport) {
    if g.unmet.is_empty() {
        outln!("gate into `{}`: open", g.env);
        return;
    }
    outln!("gate into `{}`: {} unmet", g.env, g.unmet.len());
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

/// A spinner with the elapsed time on stderr while a long command runs
/// (a deploy or rollback), when stderr is a terminal; nothing otherwise.
pub fn spinner(what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// The last lines a deploy or rollback command printed, under a heading.
pub fn command_output(d: &sluice_core::model::Deployment) {
    if let Some(t) = sluice_app::command_output(d, 10, "  ") {
        outln!("{t}");
    }
}
