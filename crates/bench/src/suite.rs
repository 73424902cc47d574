//! The default run: floor, lifecycles and `patch list` one after the other on
//! each backend (or, with `--notify`, only the notification benchmark), with
//! the sizes of a full or a `--quick` run.

use std::path::PathBuf;

use anyhow::Result;
use jiff::Timestamp;
use sluice_store::Backend;

use crate::db::name;
use crate::fixture::PROCESS;
use crate::floor::{floor, print_floor};
use crate::lifecycle::{lifecycles, print_lifecycles};
use crate::list::{list, print_list};
use crate::notify;

/// What the default run measures, and how much of it.
pub(crate) struct Config {
    pub(crate) quick: bool,
    /// Only the notification benchmark.
    pub(crate) notify: bool,
    pub(crate) backends: Vec<Backend>,
    /// Timed operations per series in the floor comparison.
    pub(crate) floor_ops: usize,
    /// Operations per batch before switching series.
    pub(crate) floor_batch: usize,
    /// (patches per release, releases) for each lifecycle run.
    pub(crate) lifecycle_runs: Vec<(usize, usize)>,
    pub(crate) list_patches: usize,
    pub(crate) list_runs: usize,
    pub(crate) cli_runs: usize,
}

impl Config {
    /// The sizes of a full run, or of a `--quick` smoke run.
    pub(crate) fn new(quick: bool, notify: bool, backends: Vec<Backend>) -> Config {
        if quick {
            Config {
                quick,
                notify,
                backends,
                floor_ops: 100,
                floor_batch: 20,
                lifecycle_runs: vec![(1, 5), (10, 2)],
                list_patches: 5_000,
                list_runs: 5,
                cli_runs: 2,
            }
        } else {
            Config {
                quick,
                notify,
                backends,
                floor_ops: 2_000,
                floor_batch: 50,
                lifecycle_runs: vec![(1, 100), (10, 20)],
                list_patches: 100_000,
                list_runs: 30,
                cli_runs: 5,
            }
        }
    }
}

pub(crate) async fn run(cfg: Config) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("sluice-bench-root")
        .tempdir()?;
    let root: PathBuf = dir.path().to_path_buf();
    std::fs::write(root.join("sluice.toml"), PROCESS)?;
    // Fail early on a bad process file.
    sluice_app::load_process(&root.join("sluice.toml"))
        .map_err(|e| anyhow::anyhow!("bench process: {e}"))?;

    println!(
        "# sluice-bench{}\n\nStarted {} (UTC); temporary files under {}.\n",
        if cfg.quick { " --quick" } else { "" },
        Timestamp::now().round(jiff::Unit::Second)?,
        std::env::temp_dir().display()
    );

    if cfg.notify {
        let mut rs = Vec::new();
        for b in &cfg.backends {
            eprintln!("[bench] {}: notifications", name(*b));
            rs.push(notify::run(&cfg, *b, &root).await?);
        }
        notify::print(&rs, &cfg);
        return Ok(());
    }

    let mut floors = Vec::new();
    for b in &cfg.backends {
        eprintln!("[bench] {}: floor vs command", name(*b));
        floors.push(floor(&cfg, *b, &root).await?);
    }
    print_floor(&floors, &cfg);

    let mut lcs = Vec::new();
    for b in &cfg.backends {
        for (per, n) in &cfg.lifecycle_runs {
            eprintln!("[bench] {}: {n} releases of {per} patch(es)", name(*b));
            lcs.push(lifecycles(*b, &root, *per, *n).await?);
        }
    }
    print_lifecycles(&lcs);

    let mut lists = Vec::new();
    for b in &cfg.backends {
        eprintln!(
            "[bench] {}: seeding {} patches and listing",
            name(*b),
            cfg.list_patches
        );
        lists.push(list(&cfg, *b, &root).await?);
    }
    print_list(&lists, &cfg);
    Ok(())
}
