//! Runs an environment's deploy or rollback command. The template was split into
//! arguments when the process file was loaded; values are substituted inside
//! single arguments afterwards, and the program is executed directly, never
//! through a shell, so no value can change the command's shape.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use sluice_core::model::Outcome;
use sluice_core::process::CommandTemplate;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Where util-linux's `setpriv` is looked for.
const PDEATHSIG_WRAPPER: &[&str] = &["/usr/bin/setpriv", "/bin/setpriv"];

/// Captured output is cut to its last this-many bytes.
pub const MAX_OUTPUT: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CommandRun {
    pub argv: Vec<String>,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    /// Standard output and error, interleaved by arrival, at most `MAX_OUTPUT` bytes (the end is kept).
    pub output: String,
}

/// Substitutes `{name}` placeholders argument by argument.
pub fn expand(t: &CommandTemplate, vars: &[(&str, &str)]) -> Vec<String> {
    t.argv
        .iter()
        .map(|a| sluice_core::decide::fill(a, vars))
        .collect()
}

async fn pump<R: AsyncRead + Unpin>(mut r: R, tx: tokio::sync::mpsc::UnboundedSender<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        }
    }
}

fn keep_tail(out: &mut Vec<u8>, chunk: &[u8], cut: &mut bool) {
    out.extend_from_slice(chunk);
    if out.len() > MAX_OUTPUT {
        let drop = out.len() - MAX_OUTPUT;
        out.drain(..drop);
        *cut = true;
    }
}

/// The variables a deploy or rollback command starts with: none of the
/// server's own (its database URL, tokens, webhook secrets) unless the
/// environment's `env = [...]` names them, only `PATH`, `HOME`, `LANG` and
/// `TZ` when set, those named, and `vars` (Sluice's own `SLUICE_*`).
pub fn command_env(pass: &[String], vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = ["PATH", "HOME", "LANG", "TZ"]
        .iter()
        .map(|k| k.to_string())
        .chain(pass.iter().cloned())
        .filter_map(|k| std::env::var(&k).ok().map(|v| (k, v)))
        .collect();
    out.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

/// This process as the runner of a deployment: `host/pid/start`, where
/// `start` is when the process started (so a reused pid is not mistaken for
/// it). `None` where the system does not say (then only the heartbeat tells).
pub fn this_runner() -> Option<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let pid = std::process::id();
    Some(format!("{}/{pid}/{}", host.trim(), process_start(pid)?))
}

/// When process `pid` started (clock ticks since boot), from `/proc`.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the runner a deployment names is certainly gone: it ran on this
/// host and its process is no longer there (or the pid now belongs to
/// another process). A runner on another host is never judged from here.
pub fn runner_gone(runner: &str) -> bool {
    let Some(me) = this_runner() else {
        return false;
    };
    let mut it = runner.split('/');
    let (Some(host), Some(pid), Some(start)) = (it.next(), it.next(), it.next()) else {
        return false;
    };
    if me.split('/').next() != Some(host) {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    process_start(pid).is_none_or(|s| s.to_string() != start)
}

/// Kills what is left of a deployment's command on this host: every process
/// whose environment holds `SLUICE_DEPLOYMENT=<id>` (the command and all it
/// started, whatever their process group). Returns how many were killed.
pub fn kill_leftovers(deployment: &str) -> usize {
    let marker = format!("SLUICE_DEPLOYMENT={deployment}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|v| v == marker.as_bytes())
            && std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        {
            killed += 1;
        }
    }
    killed
}

/// What receives a running command's output as it is written.
pub type Follow = dyn Fn(&[u8]) + Send + Sync;

/// Runs `argv` in `dir` with exactly the environment `env` (see
/// [`command_env`]), killing it (and its process group) after `timeout`. Its
/// output (stdout and stderr, as they come) also goes to `follow` as it is
/// written, when there is one.
pub async fn run_command(
    argv: Vec<String>,
    dir: &Path,
    env: &[(String, String)],
    timeout: Duration,
    follow: Option<&Follow>,
) -> CommandRun {
    let tail = |out: &mut Vec<u8>, chunk: &[u8], cut: &mut bool| {
        if let Some(f) = follow {
            f(chunk);
        }
        keep_tail(out, chunk, cut);
    };
    let Some(program) = argv.first() else {
        return CommandRun {
            argv,
            outcome: Outcome::Failed,
            exit_code: None,
            output: "empty command".into(),
        };
    };
    // A relative program path is taken from the repository root, whatever the caller's directory.
    let program_path = if program.contains('/') && !program.starts_with('/') {
        dir.join(program)
    } else {
        program.into()
    };
    if program.contains('/') && !program_path.is_file() {
        return CommandRun {
            argv: argv.clone(),
            outcome: Outcome::Failed,
            exit_code: None,
            output: format!("cannot start `{}`: no such file", program_path.display()),
        };
    }
    // The command dies with the process that runs it: under util-linux's
    // `setpriv --pdeathsig KILL` where there is one (the signal comes when this
    // process ends, even by `kill -9`). What it started in turn is found and
    // killed by the next server through its SLUICE_DEPLOYMENT variable
    // ([`kill_leftovers`]).
    let mut cmd = match PDEATHSIG_WRAPPER.iter().find(|p| Path::new(p).is_file()) {
        Some(wrapper) => {
            let mut c = tokio::process::Command::new(wrapper);
            c.args(["--pdeathsig", "KILL", "--"]).arg(&program_path);
            c
        }
        None => tokio::process::Command::new(&program_path),
    };
    cmd.args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return CommandRun {
                argv: argv.clone(),
                outcome: Outcome::Failed,
                exit_code: None,
                output: format!("cannot start `{}`: {e}", program_path.display()),
            };
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    if let Some(o) = child.stdout.take() {
        tokio::spawn(pump(o, tx.clone()));
    }
    if let Some(e) = child.stderr.take() {
        tokio::spawn(pump(e, tx.clone()));
    }
    drop(tx);
    let mut out = Vec::new();
    let mut cut = false;
    let deadline = tokio::time::Instant::now() + timeout;
    let status = loop {
        tokio::select! {
            chunk = rx.recv() => match chunk {
                Some(c) => tail(&mut out, &c, &mut cut),
                None => break tokio::time::timeout_at(deadline, child.wait()).await.ok().and_then(Result::ok),
            },
            st = child.wait() => {
                // Drain what is already buffered, bounded in time: a background child
                // that keeps the pipe open must not hold the deployment.
                let grace = tokio::time::Instant::now() + Duration::from_millis(500);
                while let Ok(Some(c)) = tokio::time::timeout_at(grace, rx.recv()).await {
                    tail(&mut out, &c, &mut cut);
                }
                break st.ok();
            }
            _ = tokio::time::sleep_until(deadline) => break None,
        }
    };
    let (outcome, code) = match status {
        Some(s) if s.success() => (Outcome::Succeeded, s.code()),
        Some(s) => (Outcome::Failed, s.code()),
        None => {
            if let Some(pid) = child.id() {
                // The whole group: scripts often start children of their own.
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
            let _ = child.kill().await;
            let note = format!("\n[sluice: killed after {}s timeout]\n", timeout.as_secs());
            tail(&mut out, note.as_bytes(), &mut cut);
            (Outcome::TimedOut, None)
        }
    };
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if cut {
        text.insert_str(0, "[sluice: earlier output cut]\n");
    }
    CommandRun {
        argv,
        outcome,
        exit_code: code,
        output: text,
    }
}
