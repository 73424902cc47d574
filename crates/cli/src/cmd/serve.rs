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
        println!("sluice serve: listening on http://{addr}");
    })
    .await;
    server.app.store.close().await;
    res.map_err(|e| Failure::usage(format!("cannot serve on {}: {e}", a.bind)))
}
