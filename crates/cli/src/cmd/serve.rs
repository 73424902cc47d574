//! `sluice serve`: the HTTP API on this repository's database.

use std::net::SocketAddr;
use std::sync::Arc;

use sluice_app::wire::ProcessFile;
use sluice_server::{LogFormat, Server};

use crate::Cli;
use crate::context;
use crate::output::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR:PORT")]
    bind: SocketAddr,
    /// Start on a new demo: a process file, a git repository and a database
    /// full of patches and releases in a fresh directory; prints sign-in tokens.
    #[arg(long)]
    demo: bool,
    /// Log lines as text or JSON (one object per line), on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormatArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

pub async fn run(cli: &Cli, a: &Args) -> Result<(), Failure> {
    if cli.server.is_some() {
        return Err(Failure::usage(
            "`serve` runs a server; it cannot talk to another one (drop --server / SLUICE_SERVER)",
        ));
    }
    if a.demo {
        return demo(a).await;
    }
    let path = context::process_path(cli)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let app = context::open(cli).await?;
    sluice_server::init_logging(match a.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sluice.toml".into());
    let server = Arc::new(Server::new(app, ProcessFile { label, text }));
    let res = sluice_server::serve(server.clone(), a.bind, |addr| {
        outln!("sluice serve: listening on http://{addr}");
    })
    .await;
    server.app.close().await;
    res.map_err(|e| Failure::usage(format!("cannot serve on {}: {e}", a.bind)))
}

async fn demo(a: &Args) -> Result<(), Failure> {
    use super::demo;
    let dir = demo::demo_dir();
    let now = jiff::Timestamp::now();
    demo::write_repository(&dir, now)?;
    let process = sluice_app::load_process(&dir.join("sluice.toml"))
        .map_err(|e| Failure::usage(format!("the demo process does not load: {e}")))?;
    let url = sluice_app::default_db_url(&dir)
        .map_err(|e| Failure::usage(format!("cannot create the demo database: {e}")))?;
    let app = sluice_app::App::open(process, &url, dir.clone()).await?;
    demo::seed(&app, &dir, now).await?;
    let mut tokens = Vec::new();
    for (user, what) in [
        (demo::CAROL, "product owner: approves into prod"),
        (demo::ALICE, "qa: records tests, approves into test"),
        (demo::BOB, "dev lead and release manager: promotes"),
        (demo::DAVE, "devops: rolls back; wrote the patches"),
    ] {
        let t = app.create_token("demo", now, user, None).await?;
        tokens.push((user, what, t.secret));
    }
    sluice_server::init_logging(match a.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    let text = std::fs::read_to_string(dir.join("sluice.toml")).unwrap_or_default();
    let server = Arc::new(Server::new(
        app,
        ProcessFile {
            label: "sluice.toml".into(),
            text,
        },
    ));
    let res = sluice_server::serve(server.clone(), a.bind, |addr| {
        outln!("sluice serve: listening on http://{addr}");
        outln!("demo repository: {}", dir.display());
        outln!("sign in at http://{addr}/login with one of these tokens:");
        for (user, what, secret) in &tokens {
            outln!("  {user} ({what}):\n    {secret}");
        }
    })
    .await;
    server.app.close().await;
    res.map_err(|e| Failure::usage(format!("cannot serve on {}: {e}", a.bind)))
}
