//! `changelog` and `version`: commit mode, for any repository with
//! Conventional Commits and SemVer tags, with or without a process file.
//!
//! Neither command opens a database or needs a sluice.toml: a process file only
//! supplies the tag template (`[project] tag`) when one is found.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_app::commit_mode::{self, CommitModeError, DEFAULT_TAG_TEMPLATE, TagView, Want};
use sluice_app::{ProcessError, find_root, load_process};
use sluice_core::process::Process;
use sluice_git::{Repo, TagTemplate};

use crate::Cli;
use crate::output::{self, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the Unreleased section (as a whole document).
    #[arg(long)]
    pub unreleased: bool,
    /// Show the unreleased commits as the next version (as `version --next` computes
    /// it), dated today (UTC).
    #[arg(long)]
    pub bump: bool,
    /// Write the document to FILE (atomically: a temporary file, then a rename)
    /// instead of printing it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub tags: TagArgs,
    /// Report on stderr how many commits were read and how many were not conventional.
    #[arg(short, long)]
    pub verbose: bool,
    /// A compare URL template with {previous_tag} and {tag}, for link reference
    /// definitions under the version headings, e.g.
    /// "https://github.com/org/repo/compare/{previous_tag}...{tag}"
    /// [default: `[changelog] compare_url` of sluice.toml if there is one, else none].
    #[arg(long, value_name = "TEMPLATE")]
    pub compare_url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Print the next version: the latest stable version raised by the highest bump
    /// the unreleased Conventional Commits ask for (breaking: major, or minor before
    /// 1.0.0; feat: minor; fix, perf, ...: patch). With nothing to release, the
    /// current version is printed and a note goes to stderr. No tags: 0.1.0.
    #[arg(long)]
    pub next: bool,
    #[command(flatten)]
    pub tags: TagArgs,
}

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// How release tags are named, e.g. "v{version}" or "release-{major}.{minor}.{patch}"
    /// [default: `[project] tag` of sluice.toml if there is one, else the shape most of
    /// the repository's tags have ("v{version}", "{version}", "pkg@{version}", ...), else
    /// "v{version}"]. Only tags reachable from HEAD count as releases.
    #[arg(long, value_name = "TEMPLATE")]
    pub tag_template: Option<String>,
}

/// The release tags at `HEAD`: named by the flag's template, else the process file's,
/// else by the shape the repository's own tags have (said once on stderr when it is not
/// the default "v{version}").
fn tags(a: &TagArgs, process: Option<&Process>, repo: &Repo) -> Result<TagView, Failure> {
    let text = match &a.tag_template {
        Some(t) => Some(t.clone()),
        None => process.map(|p| p.project.tag.clone()),
    };
    let explicit = text
        .map(|t| TagTemplate::parse(&t).map_err(|e| Failure::usage(e.to_string())))
        .transpose()?;
    let view = commit_mode::release_tags(repo, explicit).map_err(failure)?;
    if let Some(note) = &view.note {
        eprintln!("{note}");
    }
    Ok(view)
}

/// The process file (`--config`, else sluice.toml upwards), if any, for its tag template
/// and compare URL. An unreadable or invalid process file is reported and passed over:
/// commit mode does not depend on it.
fn process_file(cli: &Cli) -> Option<Process> {
    let path = match &cli.config {
        Some(p) => p.clone(),
        None => find_root(&std::env::current_dir().ok()?)?.join("sluice.toml"),
    };
    match load_process(&path) {
        Ok(p) => Some(p),
        Err(e) => {
            let why = match e {
                ProcessError::Io(m) => m,
                ProcessError::Invalid(_) => format!("{} is not valid", path.display()),
            };
            eprintln!(
                "note: {why}; reading the tag shape from the repository's own tags, else \"{DEFAULT_TAG_TEMPLATE}\" (pass --tag-template to choose)"
            );
            None
        }
    }
}

fn repo() -> Result<Repo, Failure> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::usage(format!("cannot read the current directory: {e}")))?;
    Repo::discover(&cwd).map_err(|e| Failure::usage(e.to_string()))
}

fn failure(e: CommitModeError) -> Failure {
    Failure::usage(e.to_string())
}

/// Commits read before a progress bar appears: short histories finish before it would.
const PROGRESS_AFTER: u64 = 50_000;

/// A spinner on stderr with the count of commits read, shown only on a terminal and only
/// once the history turns out to be long.
struct Progress {
    enabled: bool,
    read: AtomicU64,
    bar: OnceLock<ProgressBar>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            read: AtomicU64::new(0),
            bar: OnceLock::new(),
        }
    }

    fn tick(&self, n: u64) {
        let read = self.read.fetch_add(n, Ordering::Relaxed) + n;
        if !self.enabled || read < PROGRESS_AFTER {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} reading history: {human_pos} commits ({elapsed})",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_position(read);
    }

    fn done(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

pub async fn changelog(cli: &Cli, a: &Args) -> Result<(), Failure> {
    let repo = repo()?;
    let process = process_file(cli);
    let tags = tags(&a.tags, process.as_ref(), &repo)?;
    let template = tags.template.clone();
    let compare = a.compare_url.clone().or_else(|| {
        process
            .as_ref()
            .and_then(|p| p.changelog.compare_url.clone())
    });
    let progress = Progress::new();
    let tick = |n| progress.tick(n);
    let history = commit_mode::history(&repo, &tags, &tick);
    progress.done();
    let mut history = history.map_err(failure)?;
    if a.verbose {
        eprintln!(
            "read {} commits ({} not conventional, skipped) into {} releases{}",
            history.commits(),
            history.skipped(),
            history.releases.len(),
            if history.aliases.is_empty() {
                String::new()
            } else {
                format!(
                    "; tags on the same commit as a higher version: {}",
                    history.aliases.join(", ")
                )
            },
        );
    }
    let mut bumped = false;
    if a.bump {
        if history.unreleased.commits == 0 {
            eprintln!("note: no unreleased commits; nothing to bump");
        } else {
            let v = commit_mode::version(&repo, &tags, Want::Next).map_err(failure)?;
            let today = jiff::Timestamp::now()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            history.bump_unreleased(v.next, &template, today);
            bumped = true;
        }
    }
    let text = if cli.json {
        if a.unreleased {
            history.releases.truncate(usize::from(bumped));
        }
        let mut s = serde_json::to_string_pretty(&history)
            .map_err(|e| Failure::usage(format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        history.document(a.unreleased, bumped, compare.as_deref())
    };
    match &a.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .or_else(|e| {
                    // A closed pipe (`| head`) is the reader's choice, not a failure.
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| Failure::usage(format!("cannot write to stdout: {e}")))
        }
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a
/// reader never sees half a changelog and a failure leaves the old file intact.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::usage(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{} is not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.sluice-{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

pub async fn version(cli: &Cli, a: &VersionArgs) -> Result<(), Failure> {
    let repo = repo()?;
    let process = process_file(cli);
    let tags = tags(&a.tags, process.as_ref(), &repo)?;
    let want = if cli.json {
        Want::Everything
    } else if a.next {
        Want::Next
    } else {
        Want::Current
    };
    let v = commit_mode::version(&repo, &tags, want).map_err(failure)?;
    if cli.json {
        output::json(&v);
        return Ok(());
    }
    if a.next {
        if v.latest_stable.as_ref() == Some(&v.next) {
            eprintln!(
                "note: no unreleased commit asks for a release (feat, fix, perf, ... or a breaking change); the version stays {}",
                v.next
            );
        }
        outln!("{}", v.next);
        return Ok(());
    }
    match &v.current {
        Some(current) => {
            outln!("{current}");
            Ok(())
        }
        None => Err(failure(commit_mode::no_releases(&repo, &tags))),
    }
}
