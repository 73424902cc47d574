//! The harness: a temporary repository with its own process file, deploy
//! scripts and database (a SQLite file or a fresh PostgreSQL database), and
//! helpers that run the real `sluice` binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tempfile::TempDir;

pub const ALICE: &str = "alice@example.com"; // qa
pub const BOB: &str = "bob@example.com"; // dev_lead, release_manager
pub const CAROL: &str = "carol@example.com"; // product_owner
pub const DAVE: &str = "dave@example.com"; // devops, qa; owns (writes) the patches

/// Which database the binary talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one test body on both backends: `both!(name, body)` defines
/// `name_sqlite` and `name_postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$body($crate::harness::Backend::Sqlite);
            }
            #[test]
            fn postgres() {
                super::$body($crate::harness::Backend::Postgres);
            }
        }
    };
}

/// The process file a test runs under: the default process, trimmed to the
/// roles above, with time rules and deploy commands the test controls.
#[derive(Debug, Clone)]
pub struct Proc {
    /// `windows` of prod, e.g. "wed 10:00-12:00"; empty: any time.
    pub prod_windows: Vec<String>,
    /// `freezes` of prod as (from, to) dates.
    pub prod_freezes: Vec<(String, String)>,
    /// The program that deploys to dev (`./deploy.sh`, `./fail.sh`, `./slow.sh`).
    pub dev_deployer: String,
}

impl Default for Proc {
    fn default() -> Proc {
        Proc {
            prod_windows: Vec::new(),
            prod_freezes: Vec::new(),
            dev_deployer: "./deploy.sh".into(),
        }
    }
}

const PROCESS: &str = r#"# sluice.toml written by the CLI integration tests.
[project]
name = "shop"
key = "SHOP"
tag = "v{version}"
release_branch = "release/{major}.{minor}"
patch_branch = "hotfix/{key}-{slug}"
maintained_lines = ["1.2", "1.3"]

[kinds]
fix = { bump = "patch", section = "Fixed" }
security = { bump = "patch", section = "Security" }
perf = { bump = "patch", section = "Changed" }
feature = { bump = "minor", section = "Added", patch_release = false }
breaking = { bump = "major", section = "Changed", patch_release = false }

[severities]
critical = { fix_within = "24h", emergency = true, retrospective = true, block_promotion = true }
major = { fix_within = "5d" }
minor = { fix_within = "30d" }

[roles]
qa = ["alice@example.com", "dave@example.com"]
dev_lead = ["bob@example.com"]
product_owner = ["carol@example.com"]
release_manager = ["bob@example.com"]
devops = ["dave@example.com"]

[responsibilities]
identify = "dev_lead"
develop = ["dev_lead", "devops"]
review = "dev_lead"
test = "qa"
approve = "product_owner"
release = "release_manager"
communicate = "release_manager"
monitor = "devops"

[review]
min_approvals = 1
author_may_approve = false

[cadence]
kind = "on-demand"
timezone = "UTC"

[[environments]]
name = "local"
tests = ["unit"]

[[environments]]
name = "dev"
tests = ["unit", "integration"]
deploy = "@DEV_DEPLOYER@ {version} dev"
rollback = "./deploy.sh rollback {previous} dev"

[[environments]]
name = "test"
tests = ["regression"]
approvals = ["qa"]
deploy = "./deploy.sh {version} test"
rollback = "./deploy.sh rollback {previous} test"

[[environments]]
name = "prod"
approvals = ["product_owner"]
quorum = 1
windows = [@WINDOWS@]
freezes = [@FREEZES@]
emergency_approvals = ["dev_lead"]
deploy = "./deploy.sh {version} prod"
rollback = "./deploy.sh rollback {previous} prod"
deploy_timeout = "1m"
after_deploy_tests = ["smoke"]

[[checklist]]
id = "notes"
text = "Release notes reviewed"
by = "release_manager"
before = "prod"
"#;

impl Proc {
    pub fn render(&self) -> String {
        let windows: Vec<String> = self
            .prod_windows
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect();
        let freezes: Vec<String> = self
            .prod_freezes
            .iter()
            .map(|(f, t)| format!("{{ from = \"{f}\", to = \"{t}\", reason = \"test freeze\" }}"))
            .collect();
        PROCESS
            .replace("@WINDOWS@", &windows.join(", "))
            .replace("@FREEZES@", &freezes.join(", "))
            .replace("@DEV_DEPLOYER@", &self.dev_deployer)
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Out {
    fn from_output(what: String, o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            what,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}):\n{self}", self.what))
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit code {}\n--- stdout\n{}--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

/// A temporary repository with its own database.
pub struct Repo {
    pub dir: TempDir,
    pub db_url: String,
    pg_name: Option<String>,
    /// In remote mode: the `sluice serve` every command talks to.
    pub server: Option<Served>,
}

/// A real `sluice serve` on 127.0.0.1, and a token per user, made on demand.
pub struct Served {
    child: std::process::Child,
    pub url: String,
    tokens: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

/// A server a test forgot to stop still ends with it, never outlives the run.
impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL, as a crash would, and reaps it.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the server to stop; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return st.code();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..200 {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The PostgreSQL server tests use: `SLUICE_TEST_POSTGRES`, else the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("SLUICE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn psql(url: &str, sql: &str) -> Output {
    Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-X", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql must be installed to run the PostgreSQL tests (apt-get install postgresql-client; scripts/test installs it)")
}

/// Runs SQL on the database at `url`, panicking on failure.
pub fn psql_ok(url: &str, sql: &str) {
    let o = psql(url, sql);
    assert!(
        o.status.success(),
        "psql `{sql}` failed: {} (the PostgreSQL tests need a server at {url}: set SLUICE_TEST_POSTGRES, or run scripts/test, which starts one)",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn fresh_postgres() -> (String, String) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let admin = postgres_admin_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!(
        "sluice_it_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    psql_ok(&admin, &format!("CREATE DATABASE {name}"));
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    (format!("{base}/{name}"), name)
}

impl Repo {
    /// A repository with the default test process.
    pub fn new(backend: Backend) -> Repo {
        Repo::with(backend, &Proc::default())
    }

    pub fn with(backend: Backend, proc_: &Proc) -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("sluice-it-")
            .tempdir()
            .unwrap();
        let (db_url, pg_name) = match backend {
            Backend::Sqlite => (
                format!(
                    "sqlite://{}",
                    dir.path().join("state").join("sluice.db").display()
                ),
                None,
            ),
            Backend::Postgres => {
                let (url, name) = fresh_postgres();
                (url, Some(name))
            }
        };
        if backend == Backend::Sqlite {
            std::fs::create_dir_all(dir.path().join("state")).unwrap();
        }
        let repo = Repo {
            dir,
            db_url,
            pg_name,
            server: None,
        };
        repo.write_process(proc_);
        write_script(
            &repo.path().join("deploy.sh"),
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> deploy.log\necho \"deployed $*\"\n",
        );
        write_script(
            &repo.path().join("slow.sh"),
            "#!/bin/sh\nsleep 1\nprintf '%s\\n' \"$*\" >> deploy.log\necho \"deployed $*\"\n",
        );
        write_script(
            &repo.path().join("fail.sh"),
            "#!/bin/sh\necho \"boom: cannot reach the host for $*\" >&2\nexit 3\n",
        );
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A repository whose commands all go through a real `sluice serve`
    /// started on 127.0.0.1 (remote mode), each user with their own token.
    pub fn remote(backend: Backend) -> Repo {
        let mut repo = Repo::new(backend);
        repo.serve();
        repo
    }

    /// Starts `sluice serve` on a free loopback port for this repository.
    pub fn serve(&mut self) {
        self.serve_with(&[]);
    }

    /// Starts `sluice serve` with extra environment variables (webhook secrets).
    pub fn serve_with(&mut self, env: &[(&str, &str)]) {
        self.server = Some(self.spawn_server(env));
    }

    /// Starts one more `sluice serve` on this repository and database, beside
    /// any other (several servers on one PostgreSQL database).
    pub fn spawn_server(&self, env: &[(&str, &str)]) -> Served {
        use std::io::BufRead;
        // serve.log, then serve-2.log... for servers beside it.
        static SERVERS: AtomicU64 = AtomicU64::new(0);
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let log_name = if self.server.is_none() {
            "serve.log".to_string()
        } else {
            format!("serve-{}.log", n + 2)
        };
        let log = std::fs::File::create(self.path().join(&log_name)).unwrap();
        let mut cmd = self.local_command(
            None,
            &["serve", "--bind", "127.0.0.1:0", "--log-format", "json"],
        );
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("sluice serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
        let url = first
            .strip_prefix("sluice serve: listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "sluice serve did not start: {first:?}\n{}",
                    std::fs::read_to_string(self.path().join(&log_name)).unwrap_or_default()
                )
            })
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Served {
            child,
            url,
            tokens: Default::default(),
        }
    }

    /// The token of `user` on this repository's server, created on first use.
    pub fn token(&self, user: &str) -> String {
        let s = self.server.as_ref().expect("remote mode");
        if let Some(t) = s.tokens.borrow().get(user) {
            return t.clone();
        }
        let o = self
            .local_command(Some(BOB), &["token", "create", "--user", user, "--json"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let t = v["secret"].as_str().unwrap().to_string();
        s.tokens.borrow_mut().insert(user.to_string(), t.clone());
        t
    }

    /// A `sluice` command on the local database, even in remote mode.
    pub fn local_command(&self, actor: Option<&str>, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
        c.current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("SLUICE_USER")
            .env_remove("SLUICE_CONFIG")
            .env_remove("SLUICE_SERVER")
            .env_remove("SLUICE_TOKEN")
            .env("SLUICE_DATABASE_URL", &self.db_url);
        if let Some(a) = actor {
            c.args(["--as", a]);
        }
        c.args(args);
        c
    }

    /// The SQLite database file (SQLite backend only).
    pub fn sqlite_file(&self) -> PathBuf {
        self.path().join("state").join("sluice.db")
    }

    pub fn write_process(&self, p: &Proc) {
        std::fs::write(self.path().join("sluice.toml"), p.render()).unwrap();
    }

    /// A `sluice` command in the repository, with a clean environment of our own.
    /// In remote mode the command talks to the server with `actor`'s token.
    pub fn command(&self, actor: Option<&str>, args: &[&str]) -> Command {
        let mut c = self.local_command(actor, args);
        if let Some(s) = &self.server {
            c.env("SLUICE_SERVER", &s.url);
            if let Some(a) = actor {
                c.env("SLUICE_TOKEN", self.token(a));
            }
        }
        c
    }

    pub fn run(&self, actor: &str, args: &[&str]) -> Out {
        let what = format!("sluice --as {actor} {}", args.join(" "));
        Out::from_output(what, self.command(Some(actor), args).output().unwrap())
    }

    /// Runs and asserts exit code 0.
    pub fn ok(&self, actor: &str, args: &[&str]) -> Out {
        let o = self.run(actor, args);
        assert_eq!(o.code, 0, "expected success:\n{o}");
        o
    }

    /// Runs with `--json`, asserts success and parses stdout.
    pub fn json(&self, actor: &str, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        self.ok(actor, &a).json()
    }

    /// Runs and asserts a refusal by the process: exit code 1, a `refused:` line
    /// first on stderr, and every `needle` somewhere in stderr.
    pub fn refused(&self, actor: &str, args: &[&str], needles: &[&str]) -> Out {
        let o = self.run(actor, args);
        assert_eq!(o.code, 1, "expected a refusal (exit 1):\n{o}");
        assert!(
            o.stderr.starts_with("refused:"),
            "stderr must start with `refused:`:\n{o}"
        );
        for n in needles {
            assert!(o.stderr.contains(n), "stderr must mention {n:?}:\n{o}");
        }
        o
    }

    /// Runs and asserts a usage/config/IO error: exit code 2 and every `needle` in stderr.
    pub fn error(&self, actor: &str, args: &[&str], needles: &[&str]) -> Out {
        let o = self.run(actor, args);
        assert_eq!(o.code, 2, "expected an error (exit 2):\n{o}");
        for n in needles {
            assert!(o.stderr.contains(n), "stderr must mention {n:?}:\n{o}");
        }
        o
    }

    /// Lines the deploy scripts wrote, in order.
    pub fn deploy_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("deploy.log"))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    // ----- the process, step by step -----

    /// Reports a patch and carries it to `ready`: triaged by bob with dave as
    /// owner (so dave is its author), started by bob, reviewed by bob.
    pub fn ready_patch(
        &self,
        title: &str,
        kind: &str,
        severity: &str,
        line: Option<&str>,
    ) -> String {
        let p = self.json(
            ALICE,
            &[
                "patch", "report", title, "--source", "bug", "--ref", "BUG-1",
            ],
        );
        let key = p["key"]
            .as_str()
            .unwrap_or_else(|| panic!("no key in {p}"))
            .to_string();
        assert_eq!(p["status"], "reported", "{p}");
        let mut triage = vec![
            "patch",
            "triage",
            &key,
            "--severity",
            severity,
            "--kind",
            kind,
            "--owner",
            DAVE,
        ];
        if let Some(l) = line {
            triage.extend(["--line", l]);
        }
        let p = self.json(BOB, &triage);
        assert_eq!(p["status"], "triaged", "{p}");
        let p = self.json(DAVE, &["patch", "start", &key]);
        assert_eq!(p["status"], "in_progress", "{p}");
        assert_eq!(p["owner"], DAVE, "{p}");
        self.ok(DAVE, &["patch", "review", &key]);
        self.ok(BOB, &["patch", "review", &key, "--approve"]);
        let p = self.json(DAVE, &["patch", "ready", &key]);
        assert_eq!(p["status"], "ready", "{p}");
        key
    }

    /// A ready `fix` patch of severity `major` on main.
    pub fn fix(&self, title: &str) -> String {
        self.ready_patch(title, "fix", "major", None)
    }

    /// Cuts the planned release on main and returns its version.
    pub fn cut(&self) -> String {
        let r = self.json(BOB, &["release", "cut"]);
        r["version"]
            .as_str()
            .unwrap_or_else(|| panic!("no version in {r}"))
            .to_string()
    }

    pub fn pass(&self, v: &str, env: &str, suite: &str) {
        self.ok(
            ALICE,
            &[
                "test", "report", v, "--env", env, "--suite", suite, "--pass",
            ],
        );
    }

    /// Enters local and passes its suites: the gate into dev is open.
    pub fn through_local(&self, v: &str) {
        self.ok(BOB, &["promote", v, "--to", "local"]);
        self.pass(v, "local", "unit");
    }

    /// Enters dev and passes its suites: the gate into test needs only qa.
    pub fn through_dev(&self, v: &str) {
        self.ok(BOB, &["promote", v, "--to", "dev"]);
        self.pass(v, "dev", "unit");
        self.pass(v, "dev", "integration");
    }

    /// Approved by qa, enters test and passes its suites.
    pub fn through_test(&self, v: &str) {
        self.ok(ALICE, &["approve", v, "--env", "test"]);
        self.ok(BOB, &["promote", v, "--to", "test"]);
        self.pass(v, "test", "regression");
    }

    /// Everything the gate into prod asks except time: the product owner's
    /// approval and the checklist.
    pub fn prod_paperwork(&self, v: &str) {
        self.ok(CAROL, &["approve", v, "--env", "prod"]);
        self.ok(BOB, &["checklist", v, "--tick", "notes"]);
    }

    /// From a cut release all the way to prod.
    pub fn ship(&self, v: &str) {
        self.through_local(v);
        self.through_dev(v);
        self.through_test(v);
        self.prod_paperwork(v);
        self.ok(BOB, &["promote", v, "--to", "prod"]);
    }

    pub fn patch_status(&self, key: &str) -> String {
        let v = self.json(BOB, &["patch", "show", key]);
        v["patch"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// What `status --json` says `env` holds.
    pub fn holds(&self, env: &str) -> Option<String> {
        let s = self.json(BOB, &["status"]);
        let e = s
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["env"] == env)
            .unwrap_or_else(|| panic!("no `{env}` in {s}"));
        e["release"].as_str().map(str::to_string)
    }

    pub fn show(&self, v: &str) -> Value {
        self.json(BOB, &["release", "show", v])
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        if let Some(s) = &mut self.server {
            s.stop();
        }
        if let Some(name) = &self.pg_name {
            let _ = psql(
                &postgres_admin_url(),
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Today, yesterday and tomorrow in UTC, and a weekday that is none of them.
pub fn utc_days() -> (
    jiff::civil::Date,
    jiff::civil::Date,
    jiff::civil::Date,
    &'static str,
) {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let yesterday = today.yesterday().unwrap();
    let tomorrow = today.tomorrow().unwrap();
    let far = today.checked_add(jiff::Span::new().days(3)).unwrap();
    let name = match far.weekday() {
        jiff::civil::Weekday::Monday => "mon",
        jiff::civil::Weekday::Tuesday => "tue",
        jiff::civil::Weekday::Wednesday => "wed",
        jiff::civil::Weekday::Thursday => "thu",
        jiff::civil::Weekday::Friday => "fri",
        jiff::civil::Weekday::Saturday => "sat",
        jiff::civil::Weekday::Sunday => "sun",
    };
    (yesterday, today, tomorrow, name)
}
