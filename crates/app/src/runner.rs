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

/// Runs `argv` in `dir` with `env` added, killing it (and its process group) after `timeout`.
pub async fn run_command(
    argv: Vec<String>,
    dir: &Path,
    env: &[(&str, &str)],
    timeout: Duration,
) -> CommandRun {
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
    let mut cmd = tokio::process::Command::new(&program_path);
    cmd.args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
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
                Some(c) => keep_tail(&mut out, &c, &mut cut),
                None => break tokio::time::timeout_at(deadline, child.wait()).await.ok().and_then(Result::ok),
            },
            st = child.wait() => {
                // Drain what is already buffered, bounded in time: a background child
                // that keeps the pipe open must not hold the deployment.
                let grace = tokio::time::Instant::now() + Duration::from_millis(500);
                while let Ok(Some(c)) = tokio::time::timeout_at(grace, rx.recv()).await {
                    keep_tail(&mut out, &c, &mut cut);
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
            keep_tail(&mut out, note.as_bytes(), &mut cut);
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
