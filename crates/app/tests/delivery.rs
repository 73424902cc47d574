//! The outbox against real receivers on 127.0.0.1: an HTTP server that
//! records requests (Slack and CloudEvents webhooks) and a real SMTP server
//! (aiosmtpd, writing every message it accepts to a Maildir). The clock is
//! the test's: every pass of the dispatcher gets its `now`.
//!
//! The fault test: both receivers down while 200 commands notify, then
//! back; every message arrives, none is lost, none twice. Then receivers
//! down for longer than the maximum age: the messages die, are listed,
//! revived under their ids, and delivered.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sluice_app::App;
use sluice_app::deliver::Outbound;
use sluice_app::dispatch::{Backoff, Dispatcher, FlushReport};
use sluice_app::messages::Templates;
use sluice_core::decide::ReportInput;
use sluice_store::OutboxStatus;

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (bounded) until something accepts connections on `port`.
fn wait_listening(port: u16, what: &str) {
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            if what == "smtp" {
                // Ready means the greeting, not just the socket.
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut b = [0u8; 3];
                if s.read_exact(&mut b).is_ok() && &b == b"220" {
                    let _ = s.write_all(b"QUIT\r\n");
                    return;
                }
            } else {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the {what} receiver on port {port} never came up");
}

/// One request the HTTP receiver got.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    webhook_id: Option<String>,
    body: String,
}

/// An HTTP/1.1 receiver on a fixed port that answers 200 to everything
/// and records it; `stop` closes the port (connections are then refused).
struct HttpReceiver {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpReceiver {
    fn start(port: u16, seen: Arc<Mutex<Vec<Request>>>) -> HttpReceiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, halt) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (mut len, mut webhook_id) = (0usize, None);
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 {
                        break;
                    }
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "content-length" => len = v.trim().parse().unwrap(),
                            "webhook-id" => webhook_id = Some(v.trim().to_string()),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    continue;
                }
                rec.lock().unwrap().push(Request {
                    path,
                    webhook_id,
                    body: String::from_utf8(body).unwrap(),
                });
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        wait_listening(port, "http");
        HttpReceiver {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        self.thread.take().unwrap().join().unwrap();
    }
}

/// aiosmtpd on a fixed port, every accepted message written to a Maildir.
struct SmtpReceiver {
    child: Child,
}

impl SmtpReceiver {
    fn start(port: u16, maildir: &Path) -> SmtpReceiver {
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is needed for the SMTP receiver (pip install aiosmtpd)");
        let mut r = SmtpReceiver { child };
        for _ in 0..200 {
            if let Some(status) = r.child.try_wait().unwrap() {
                panic!(
                    "the SMTP receiver exited ({status}); install it with `pip install aiosmtpd` (scripts/test does)"
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        wait_listening(port, "smtp");
        r
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails early, with the fix, when aiosmtpd is not installed.
fn require_aiosmtpd() {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the SMTP tests need a real SMTP server: `pip install aiosmtpd` (scripts/test installs it)"
    );
}

/// One message from the Maildir, with the headers the test reads.
#[derive(Debug)]
struct Mail {
    message_id: String,
    subject: String,
    to: String,
    raw: String,
}

fn header(raw: &str, name: &str) -> Option<String> {
    // Headers end at the first blank line; folded lines start with space.
    let head = raw.split("\n\n").next().unwrap_or("");
    let mut out: Option<String> = None;
    for line in head.lines() {
        if let Some(v) = &mut out {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            out = Some(v.trim().to_string());
        }
    }
    out
}

fn mails(maildir: &Path) -> Vec<Mail> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for e in rd {
            let raw = std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .replace("\r\n", "\n");
            out.push(Mail {
                message_id: header(&raw, "Message-ID").unwrap_or_default(),
                subject: header(&raw, "Subject").unwrap_or_default(),
                to: header(&raw, "To").unwrap_or_default(),
                raw,
            });
        }
    }
    out
}

const PROCESS: &str = r#"
[project]
name = "shop"
key = "SHOP"

[kinds]
fix = { bump = "patch", section = "Fixed" }

[severities]
critical = { fix_within = "24h" }
minor = {}

[roles]
dev = ["dev@example.com"]

[[environments]]
name = "prod"

[channels]
ops = { webhook = "${OPS_HOOK}", secret = "${OPS_SECRET}", email = ["ops@example.com"] }
chat = { slack = "${CHAT_SLACK}" }

[delivery]
max_age = "24h"

[[notify]]
on = ["patch.reported"]
to = ["ops", "chat"]
"#;

struct World {
    app: App,
    dispatcher: Dispatcher<Outbound>,
    http_port: u16,
    smtp_port: u16,
    maildir: PathBuf,
    seen: Arc<Mutex<Vec<Request>>>,
    _dir: tempfile::TempDir,
}

/// A dispatcher as a server makes one, sending to the test's receivers.
fn dispatcher_for(
    p: &sluice_core::process::Process,
    dir: &std::path::Path,
    http_port: u16,
    seed: u64,
) -> Dispatcher<Outbound> {
    // Secrets come from this map, never from the process environment.
    let vars: HashMap<&str, String> = HashMap::from([
        ("OPS_HOOK", format!("http://127.0.0.1:{http_port}/ops")),
        ("OPS_SECRET", "a-signing-key".to_string()),
        ("CHAT_SLACK", format!("http://127.0.0.1:{http_port}/slack")),
    ]);
    let env = Box::new(move |k: &str| vars.get(k).cloned());
    let t = Outbound::with_env(p, Arc::new(Templates::load(p, dir).unwrap()), env);
    Dispatcher::new(t, Backoff::for_process(p), seed)
}

async fn world(db_url: Option<String>) -> World {
    require_aiosmtpd();
    let dir = tempfile::tempdir().unwrap();
    let (http_port, smtp_port) = (free_port(), free_port());
    let text = format!(
        "{PROCESS}\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nfrom = \"Sluice <sluice@example.com>\"\n"
    );
    std::fs::write(dir.path().join("sluice.toml"), &text).unwrap();
    let p = sluice_app::load_process(&dir.path().join("sluice.toml")).unwrap();
    let url = db_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("s.db").display()));
    let app = App::open(p.clone(), &url, dir.path().to_path_buf())
        .await
        .unwrap();
    let dispatcher = dispatcher_for(&p, dir.path(), http_port, 7);
    let maildir = dir.path().join("maildir");
    World {
        app,
        dispatcher,
        http_port,
        smtp_port,
        maildir,
        seen: Arc::new(Mutex::new(Vec::new())),
        _dir: dir,
    }
}

impl World {
    fn receivers(&self) -> (HttpReceiver, SmtpReceiver) {
        (
            HttpReceiver::start(self.http_port, self.seen.clone()),
            SmtpReceiver::start(self.smtp_port, &self.maildir),
        )
    }

    async fn report(&self, n: usize, at: Timestamp) -> Vec<String> {
        let mut keys = Vec::new();
        for i in 0..n {
            let input = ReportInput {
                title: format!("Checkout fails for basket {i}"),
                description: None,
                kind: Some("fix".into()),
                severity: Some("minor".into()),
                source: None,
                targets: vec![],
            };
            let now = at + SignedDuration::from_millis(i as i64);
            let p = self
                .app
                .report_patch("dev@example.com", now, input)
                .await
                .unwrap();
            keys.push(p.key);
        }
        keys
    }

    async fn pass(&mut self, now: Timestamp) -> FlushReport {
        self.app
            .dispatch_once(&mut self.dispatcher, now, 10_000)
            .await
            .unwrap()
    }

    async fn ids(&self, status: OutboxStatus) -> BTreeMap<String, (String, String)> {
        self.app
            .notifications(Some(status), 100_000)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.id, (m.transport, m.address)))
            .collect()
    }
}

fn t0() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

async fn fault_run(db_url: Option<String>) {
    let mut w = world(db_url).await;
    let n = 200;

    // Receivers down while 200 commands notify.
    let keys = w.report(n, t0()).await;
    let pending = w.ids(OutboxStatus::Pending).await;
    assert_eq!(pending.len(), 3 * n, "webhook, email and Slack per report");
    let mut now = t0() + SignedDuration::from_secs(1);
    let mut failed = 0;
    for _ in 0..6 {
        let r = w.pass(now).await;
        assert_eq!((r.delivered, r.dead), (0, 0), "nothing gets through: {r:?}");
        failed += r.failed;
        now += SignedDuration::from_mins(5);
    }
    assert!(
        failed >= 2 * n,
        "every webhook and email was tried: {failed}"
    );
    assert!(w.seen.lock().unwrap().is_empty());

    // Back up: passes every 10 minutes of the test's clock until the outbox
    // is empty (bounded: the backoff is at most an hour).
    let (http, smtp) = w.receivers();
    let mut deferred = 0;
    for _ in 0..30 {
        let r = w.pass(now).await;
        deferred += r.deferred;
        assert_eq!(r.dead, 0, "{r:?}");
        if w.ids(OutboxStatus::Pending).await.is_empty() {
            break;
        }
        now += SignedDuration::from_mins(10);
    }
    assert!(
        w.ids(OutboxStatus::Pending).await.is_empty(),
        "all delivered"
    );
    assert!(
        deferred > 0,
        "Slack's one-a-second limit held messages back"
    );
    let delivered = w.ids(OutboxStatus::Delivered).await;
    assert_eq!(delivered.len(), 3 * n);

    // Webhooks: every id exactly once, on its own id.
    let seen = w.seen.lock().unwrap().clone();
    let hook_ids: Vec<String> = seen
        .iter()
        .filter(|r| r.path == "/ops")
        .map(|r| r.webhook_id.clone().expect("webhook-id"))
        .collect();
    let want: BTreeSet<String> = delivered
        .iter()
        .filter(|(_, (t, _))| t == "webhook")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(hook_ids.len(), n, "no duplicates");
    assert_eq!(hook_ids.iter().cloned().collect::<BTreeSet<_>>(), want);
    for r in seen.iter().filter(|r| r.path == "/ops") {
        let ev: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            ev["id"].as_str(),
            r.webhook_id.as_deref(),
            "CloudEvents id = webhook-id"
        );
    }
    // Slack: one message per report.
    let slack: Vec<&Request> = seen.iter().filter(|r| r.path == "/slack").collect();
    assert_eq!(slack.len(), n);
    for k in &keys {
        let hits = slack
            .iter()
            .filter(|r| r.body.contains(&format!("*{k}*")))
            .count();
        assert_eq!(hits, 1, "{k} on Slack");
    }
    // Email: every message once, multipart text + HTML, Message-ID = the id.
    let got = mails(&w.maildir);
    assert_eq!(got.len(), n, "one email per report");
    let want: BTreeSet<String> = delivered
        .iter()
        .filter(|(_, (t, _))| t == "email")
        .map(|(id, _)| format!("<{id}@sluice>"))
        .collect();
    let ids: BTreeSet<String> = got.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids, want);
    for m in &got {
        assert_eq!(m.to, "ops@example.com");
        assert!(m.subject.starts_with("[shop] patch SHOP-"), "{}", m.subject);
        assert!(m.raw.contains("multipart/alternative"), "{}", m.raw);
        assert!(m.raw.contains("text/plain") && m.raw.contains("text/html"));
    }

    // Down for longer than the maximum age: the next messages die.
    http.stop();
    smtp.stop();
    let late = t0() + SignedDuration::from_hours(2);
    w.report(10, late).await;
    let mut now = late;
    let mut dead = 0;
    for _ in 0..30 {
        now += SignedDuration::from_hours(1);
        dead += w.pass(now).await.dead;
    }
    assert_eq!(dead, 30);
    let dead_ids = w.ids(OutboxStatus::Dead).await;
    assert_eq!(dead_ids.len(), 30, "listed as dead");
    for m in w
        .app
        .notifications(Some(OutboxStatus::Dead), 100)
        .await
        .unwrap()
    {
        assert!(m.last_error.is_some_and(|e| e.contains("maximum age")
            || e.contains("refused")
            || e.contains("failed")
            || e.contains("reached")));
    }

    // Revived under the same ids, and delivered once the receivers are back.
    let (http, smtp) = w.receivers();
    for id in dead_ids.keys() {
        assert_eq!(
            w.app
                .retry_notification("dev@example.com", id, now)
                .await
                .unwrap(),
            "dead"
        );
    }
    for _ in 0..5 {
        now += SignedDuration::from_mins(1);
        w.pass(now).await;
    }
    assert!(w.ids(OutboxStatus::Dead).await.is_empty());
    let delivered = w.ids(OutboxStatus::Delivered).await;
    assert_eq!(delivered.len(), 3 * n + 30);
    for id in dead_ids.keys() {
        assert!(delivered.contains_key(id), "{id} delivered under its id");
    }
    let hooks = w
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/ops")
        .count();
    assert_eq!(hooks, n + 10);
    assert_eq!(mails(&w.maildir).len(), n + 10);
    http.stop();
    smtp.stop();
}

#[tokio::test]
async fn receivers_down_then_back_nothing_lost_sqlite() {
    fault_run(None).await;
}

#[tokio::test]
async fn receivers_down_then_back_nothing_lost_postgres() {
    let url = sluice_store::testing::fresh_postgres_url().await.unwrap();
    fault_run(Some(url)).await;
}

/// The rate limit: messages over it wait their turn as pending and are not
/// counted as attempts.
#[tokio::test]
async fn slack_rate_limit_defers_without_failing() {
    let mut w = world(None).await;
    let (http, smtp) = w.receivers();
    w.report(5, t0()).await;
    // All five reports are in (each a millisecond after the last).
    let p0 = t0() + SignedDuration::from_millis(10);
    let r = w.pass(p0).await;
    assert_eq!((r.delivered, r.deferred, r.failed), (11, 4, 0), "{r:?}");
    let pending = w
        .app
        .notifications(Some(OutboxStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 4);
    let mut slots: Vec<i64> = pending
        .iter()
        .map(|m| m.next_at_ms - p0.as_millisecond())
        .collect();
    slots.sort();
    assert_eq!(slots, [1000, 2000, 3000, 4000], "one a second");
    assert!(
        pending
            .iter()
            .all(|m| m.attempts == 0 && m.last_error.is_none())
    );
    // Half a second later nothing is due; at +2 s two are.
    assert_eq!(
        w.pass(p0 + SignedDuration::from_millis(500)).await.taken(),
        0
    );
    let r = w.pass(p0 + SignedDuration::from_secs(2)).await;
    assert_eq!((r.delivered, r.deferred), (2, 0), "{r:?}");
    http.stop();
    smtp.stop();
}

/// Two servers on one PostgreSQL database, each with its own dispatcher:
/// together they send to Slack at the channel's rate, not twice it.
#[tokio::test]
async fn slack_rate_limit_holds_across_two_servers_postgres() {
    let url = sluice_store::testing::fresh_postgres_url().await.unwrap();
    let mut w = world(Some(url.clone())).await;
    let (http, smtp) = w.receivers();
    let dir = w._dir.path().to_path_buf();
    let p = sluice_app::load_process(&dir.join("sluice.toml")).unwrap();
    let other = App::open(p.clone(), &url, dir.clone()).await.unwrap();
    let mut other_dispatcher = dispatcher_for(&p, &dir, w.http_port, 11);
    w.report(5, t0()).await;
    let p0 = t0() + SignedDuration::from_millis(10);
    // The first server takes a few messages, the second the rest.
    let a = w.app.dispatch_once(&mut w.dispatcher, p0, 3).await.unwrap();
    let b = other
        .dispatch_once(&mut other_dispatcher, p0, 10_000)
        .await
        .unwrap();
    assert_eq!(
        (
            a.delivered + b.delivered,
            a.deferred + b.deferred,
            a.failed + b.failed
        ),
        (11, 4, 0),
        "as one server would: {a:?} {b:?}"
    );
    let mut slots: Vec<i64> = w
        .app
        .notifications(Some(OutboxStatus::Pending), 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.next_at_ms - p0.as_millisecond())
        .collect();
    slots.sort();
    assert_eq!(slots, [1000, 2000, 3000, 4000], "one a second, across both");
    // At +2 s, whichever server looks first sends the two due; the other none.
    let two = SignedDuration::from_secs(2);
    let b = other
        .dispatch_once(&mut other_dispatcher, p0 + two, 10_000)
        .await
        .unwrap();
    let a = w.pass(p0 + two).await;
    assert_eq!((a.delivered + b.delivered, a.deferred + b.deferred), (2, 0));
    http.stop();
    smtp.stop();
}
