//! The web UI: sign-in, sessions, CSRF and the actions over real HTTP, the
//! iCalendar feed checked by a real parser (Python's icalendar) across a DST
//! change, and the whole journey in a real headless Chromium.

use serde_json::Value;

use crate::both;
use crate::harness::{ALICE, BOB, Backend, Repo};

/// A client that does not follow redirects, with one cookie jar of our own.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
    /// The one-time banner cookie the server sets on a redirect.
    flash: Option<String>,
}

struct Page {
    status: u16,
    location: String,
    set_cookie: String,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let _ = sluice_app::deliver::http_client(); // installs the TLS provider
        Browser {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookie: None,
            flash: None,
        }
    }

    fn go(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        );
        let cookies: Vec<&String> = self.cookie.iter().chain(&self.flash).collect();
        if !cookies.is_empty() {
            let joined: Vec<&str> = cookies.iter().map(|c| c.as_str()).collect();
            req = req.header("cookie", joined.join("; "));
        }
        if method == "POST" {
            let body: Vec<String> = form
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"));
        }
        let page = self.rt.block_on(async {
            let r = req.send().await.unwrap();
            let h = |n: &str| {
                r.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let (status, location, set_cookie) =
                (r.status().as_u16(), h("location"), h("set-cookie"));
            Page {
                status,
                location,
                set_cookie,
                body: r.text().await.unwrap(),
            }
        });
        if let Some(kv) = page.set_cookie.split(';').next() {
            if kv.starts_with("sluice_session=") {
                self.cookie = Some(kv.to_string());
            } else if kv.starts_with("sluice_flash=") {
                // Max-Age=0 spends it.
                self.flash = (!page.set_cookie.contains("Max-Age=0")).then(|| kv.to_string());
            }
        }
        page
    }

    /// The CSRF token of the signed-in session, as the pages carry it.
    fn csrf(&mut self) -> String {
        let p = self.go("GET", "/board", &[]);
        let at = p
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &p.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A repository whose release waits in dev for qa's approval into test.
fn release_in_dev() -> (Repo, String) {
    let mut repo = Repo::new(Backend::Sqlite);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.through_local(&v);
    repo.through_dev(&v);
    repo.serve();
    (repo, v)
}

#[test]
fn sign_in_sessions_csrf_and_actions() {
    let (repo, v) = release_in_dev();
    let url = repo.server.as_ref().unwrap().url.clone();
    let mut b = Browser::new(&url);

    // Not signed in: every page sends you to sign in, and back afterwards.
    let p = b.go("GET", &format!("/releases/{v}"), &[]);
    assert_eq!(p.status, 303);
    assert_eq!(p.location, format!("/login?next=/releases/{v}"));
    let p = b.go(
        "POST",
        "/login",
        &[("token", "sluice_wrong"), ("next", "/board")],
    );
    assert_eq!(p.status, 401);
    assert!(p.body.contains("not known"), "{}", p.body);
    // Never redirected off-site after sign-in.
    let tk = repo.token(ALICE);
    let p = b.go(
        "POST",
        "/login",
        &[("token", &tk), ("next", "//evil.example.com/")],
    );
    assert_eq!((p.status, p.location.as_str()), (303, "/inbox"));
    assert!(
        p.set_cookie.contains("HttpOnly") && p.set_cookie.contains("SameSite=Strict"),
        "{}",
        p.set_cookie
    );
    assert!(
        !p.set_cookie.contains(&tk),
        "the cookie is a session id, not the token"
    );

    // Reading.
    for path in [
        "/board",
        "/patches",
        &format!("/releases/{v}"),
        "/calendar",
        "/audit",
    ] {
        let p = b.go("GET", path, &[]);
        assert_eq!(p.status, 200, "{path}: {}", p.body);
        assert!(
            p.body.contains("<main id=\"main\">") && p.body.contains("lang=\"en\""),
            "{path}"
        );
    }
    let board = b.go("GET", "/board", &[]).body;
    // The board is a grid: a row per release in flight, a cell per
    // environment; the next gate's needs name the people who can meet them.
    assert!(board.contains(&format!("id=\"row-{v}\"")), "{board}");
    assert!(
        board.contains("approval by qa for test (0 of 1)")
            && board.contains("— alice@example.com</span>"),
        "{board}"
    );
    assert!(
        board.contains("<td class=\"cell running\"><span class=\"state\">running</span>"),
        "{board}"
    );
    let audit = b.go("GET", "/audit", &[]).body;
    assert!(audit.contains("Chain intact"), "{audit}");

    // An action without the CSRF token is refused and changes nothing.
    let p = b.go(
        "POST",
        &format!("/releases/{v}/approve"),
        &[("env", "test")],
    );
    assert_eq!(p.status, 403);
    let shown = repo.json(BOB, &["release", "show", &v]);
    assert!(
        shown["release"]["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["env"] != "test")
    );

    // With it, Alice (qa) approves into test through the application layer.
    let csrf = b.csrf();
    let p = b.go(
        "POST",
        &format!("/releases/{v}/approve"),
        &[("csrf", &csrf), ("env", "test")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    // The outcome travels in a cookie the server set, shown once on the page.
    assert_eq!(p.location, format!("/releases/{v}"));
    assert!(
        p.set_cookie.starts_with("sluice_flash=ok:"),
        "{}",
        p.set_cookie
    );
    let shown = b.go("GET", &p.location, &[]);
    assert!(shown.body.contains("Approved"), "{}", shown.body);
    assert!(
        shown.set_cookie.contains("Max-Age=0"),
        "spent: {}",
        shown.set_cookie
    );
    let again = b.go("GET", &p.location, &[]);
    assert!(
        !again.body.contains("class=\"flash"),
        "shown once: {}",
        again.body
    );
    // A link cannot put words in the server's mouth.
    let forged = b.go("GET", "/board?ok=Your+account+is+verified&err=x", &[]);
    assert!(
        !forged.body.contains("Your account is verified"),
        "{}",
        forged.body
    );
    let shown = repo.json(BOB, &["release", "show", &v]);
    assert!(
        shown["release"]["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["env"] == "test" && a["approver"] == ALICE)
    );

    // Alice may not promote: the refusal shows on the page it came from,
    // naming the rule, once.
    let p = b.go(
        "POST",
        &format!("/releases/{v}/promote"),
        &[("csrf", &csrf), ("env", "test")],
    );
    assert_eq!(
        (p.status, p.location.as_str()),
        (303, format!("/releases/{v}").as_str()),
        "{}",
        p.body
    );
    let page = b.go("GET", &format!("/releases/{v}"), &[]);
    assert!(
        page.body.contains("class=\"flash bad\"") && page.body.contains("may not promote releases"),
        "{}",
        page.body
    );
    let again = b.go("GET", &format!("/releases/{v}"), &[]);
    assert!(
        !again.body.contains("may not promote releases"),
        "shown once"
    );

    // Signing out ends the session; revoking the token ends the others.
    let p = b.go("POST", "/logout", &[("csrf", &csrf)]);
    assert_eq!(p.status, 303);
    assert_eq!(b.go("GET", "/board", &[]).status, 303);
    let tk_bob = repo.token(BOB);
    b.go("POST", "/login", &[("token", &tk_bob), ("next", "/board")]);
    assert_eq!(b.go("GET", "/board", &[]).status, 200);
    // The board's rollback form reaches the same rule as `sluice rollback`:
    // nothing ran in dev before this release, so there is nothing to return to.
    let csrf = b.csrf();
    let p = b.go(
        "POST",
        "/environments/dev/rollback",
        &[("csrf", &csrf), ("to", "")],
    );
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("Refused"), "{}", p.body);
    let list = repo
        .local_command(None, &["token", "list", "--json"])
        .output()
        .unwrap();
    let tokens: Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == BOB)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        repo.local_command(Some(BOB), &["token", "revoke", &id])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        b.go("GET", "/board", &[]).status,
        303,
        "a revoked token's session ends"
    );
}

/// The feed, parsed by Python's icalendar and expanded with dateutil across
/// the DST change: the train stays at 10:00 in Oslo while its UTC offset moves.
#[test]
fn calendar_feed_is_valid_icalendar_across_dst() {
    let mut repo = Repo::new(Backend::Sqlite);
    let text = std::fs::read_to_string(repo.path().join("sluice.toml"))
        .unwrap()
        .replace(
            "[cadence]\nkind = \"on-demand\"\ntimezone = \"UTC\"",
            "[cadence]\nkind = \"weekly\"\nday = \"tue\"\ntime = \"10:00\"\ntimezone = \"Europe/Oslo\"",
        )
        .replace(
            "windows = []",
            "windows = [\"tue,thu 10:00-12:00\"]",
        )
        .replace(
            "freezes = []",
            "freezes = [{ from = \"2026-12-21\", to = \"2027-01-03\", reason = \"holidays\" }]",
        );
    assert!(
        text.contains("Europe/Oslo") && text.contains("tue,thu"),
        "the test process changed"
    );
    std::fs::write(repo.path().join("sluice.toml"), &text).unwrap();
    repo.serve();
    let url = repo.server.as_ref().unwrap().url.clone();
    let mut b = Browser::new(&url);
    let p = b.go("GET", "/calendar.ics", &[]);
    assert_eq!(p.status, 200);
    let file = repo.path().join("feed.ics");
    std::fs::write(&file, &p.body).unwrap();
    for line in p.body.split("\r\n") {
        assert!(line.len() <= 75, "folded at 75 octets: {line}");
    }

    let script = r#"
import json, sys, datetime
from icalendar import Calendar
from dateutil.rrule import rrulestr
cal = Calendar.from_ical(open(sys.argv[1], 'rb').read())
out = {"timezones": [], "events": []}
for c in cal.walk():
    if c.name == "VTIMEZONE":
        out["timezones"].append(str(c["TZID"]))
    if c.name == "VEVENT":
        ev = {"uid": str(c["UID"]), "summary": str(c["SUMMARY"]), "stamp": "DTSTAMP" in c}
        start = c.decoded("DTSTART")
        if "RRULE" in c:
            rule = rrulestr(c["RRULE"].to_ical().decode(), dtstart=start)
            occ = list(rule.between(start, start + datetime.timedelta(days=400), inc=True))
            ev["local"] = sorted({o.strftime("%H:%M") for o in occ})
            ev["offsets"] = sorted({o.utcoffset().total_seconds() / 3600 for o in occ})
            ev["weekdays"] = sorted({o.strftime("%a") for o in occ})
            ev["count"] = len(occ)
        else:
            ev["all_day"] = isinstance(start, datetime.date) and not isinstance(start, datetime.datetime)
        out["events"].append(ev)
print(json.dumps(out))
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs (scripts/test provides it with its packages)");
    assert!(
        o.status.success(),
        "the feed must parse with Python's icalendar (pip install icalendar; scripts/test installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["timezones"], serde_json::json!(["Europe/Oslo"]), "{v}");
    let events = v["events"].as_array().unwrap();
    let train = events
        .iter()
        .find(|e| e["uid"].as_str().unwrap().starts_with("train@"))
        .expect("a train");
    assert_eq!(train["local"], serde_json::json!(["10:00"]), "{train}");
    assert_eq!(train["weekdays"], serde_json::json!(["Tue"]), "{train}");
    assert_eq!(
        train["offsets"],
        serde_json::json!([1.0, 2.0]),
        "both sides of a DST change: {train}"
    );
    let window = events
        .iter()
        .find(|e| e["uid"].as_str().unwrap().starts_with("window-prod"))
        .expect("a window");
    assert_eq!(
        window["weekdays"],
        serde_json::json!(["Thu", "Tue"]),
        "{window}"
    );
    assert_eq!(window["local"], serde_json::json!(["10:00"]), "{window}");

    // A second implementation, vobject, which reads the offsets from the
    // feed's own VTIMEZONE: a train two years out, in summer, is at 10:00
    // +02:00 there too; and the feed describes no occurrence its rules miss.
    let script = r#"
import json, sys, datetime, vobject
cal = vobject.readOne(open(sys.argv[1]).read())
train = [e for e in cal.vevent_list if e.uid.value.startswith("train@")][0]
occ = list(train.getrruleset(addRDate=True))
later = [o for o in occ if o.year >= datetime.date.today().year + 2 and o.month in (6, 7)]
print(json.dumps({
  "count": len(occ),
  "later": [[o.strftime("%H:%M"), o.utcoffset().total_seconds() / 3600] for o in later],
}))
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "the feed must parse with vobject (scripts/test installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let later = v["later"].as_array().unwrap();
    assert!(!later.is_empty(), "trains two years out: {v}");
    for t in later {
        assert_eq!(t, &serde_json::json!(["10:00", 2.0]), "{v}");
    }
    // Bounded: about three years of weekly trains, not an endless rule.
    let n = v["count"].as_u64().unwrap();
    assert!((150..=160).contains(&n), "{v}");
    let freeze = events
        .iter()
        .find(|e| e["uid"].as_str().unwrap().starts_with("freeze-prod"))
        .expect("a freeze");
    assert_eq!(freeze["all_day"], true);
    assert!(events.iter().all(|e| e["stamp"] == true));
}

/// A proxy on 127.0.0.1 that hands each new connection to the next backend in
/// turn, as a load balancer would. Serves at most `conns` connections.
fn round_robin(backends: Vec<String>, conns: usize) -> String {
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for i in 0..conns {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            let Ok(server) = TcpStream::connect(&backends[i % backends.len()]) else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    addr
}

/// Two servers on one PostgreSQL database behind a round-robin proxy: a
/// session opened through one is known to the other, and signing out through
/// either ends it everywhere.
#[test]
fn sessions_are_shared_by_servers_on_one_database() {
    let (mut repo, v) = {
        let mut repo = Repo::new(Backend::Postgres);
        repo.fix("Checkout total is wrong");
        let v = repo.cut();
        repo.serve();
        (repo, v)
    };
    let mut second = repo.spawn_server(&[]);
    let hosts: Vec<String> = [&repo.server.as_ref().unwrap().url, &second.url]
        .iter()
        .map(|u| u.trim_start_matches("http://").to_string())
        .collect();
    let proxy = round_robin(hosts.clone(), 40);
    let token = repo.token(ALICE);
    let mut b = Browser::new(&format!("http://{proxy}"));
    // No connection is reused: each request goes to the next server.
    b.client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let p = b.go("POST", "/login", &[("token", &token), ("next", "/board")]);
    assert_eq!(p.status, 303, "{}", p.body);
    for _ in 0..4 {
        let p = b.go("GET", &format!("/releases/{v}"), &[]);
        assert_eq!(p.status, 200, "signed in on every server: {}", p.location);
    }
    // And on each server directly, with the same cookie.
    for host in &hosts {
        let mut direct = Browser::new(&format!("http://{host}"));
        direct.cookie = b.cookie.clone();
        assert_eq!(direct.go("GET", "/board", &[]).status, 200, "{host}");
    }
    // A form's CSRF token, read through one server, is good on the other.
    let csrf = b.csrf();
    let p = b.go(
        "POST",
        &format!("/releases/{v}/tick"),
        &[("csrf", &csrf), ("item", "notes")],
    );
    assert_ne!(p.status, 403, "the CSRF token is the session's: {}", p.body);
    // Signing out through the proxy ends the session on both (the old cookie
    // is sent again, as a stolen one would be).
    let signed_in = b.cookie.clone();
    let csrf = b.csrf();
    let p = b.go("POST", "/logout", &[("csrf", &csrf)]);
    assert_eq!(p.status, 303);
    for host in &hosts {
        let mut direct = Browser::new(&format!("http://{host}"));
        direct.cookie = signed_in.clone();
        let p = direct.go("GET", "/board", &[]);
        assert_eq!(p.status, 303, "{host}: signed out");
        assert!(p.location.starts_with("/login"), "{}", p.location);
    }
    second.stop();
    repo.server.as_mut().unwrap().stop();
}

#[test]
fn unknown_pages_say_where_to_go() {
    let (repo, _v) = release_in_dev();
    let mut b = Browser::new(&repo.server.as_ref().unwrap().url);
    let p = b.go("GET", "/no/such/<page>", &[]);
    assert_eq!(p.status, 404);
    assert!(p.body.contains("There is no page at"), "{}", p.body);
    assert!(
        !p.body.contains("<page>"),
        "the path is never markup: {}",
        p.body
    );
    assert!(p.body.contains("href=\"/board\""), "{}", p.body);
}

/// The board's rollback panel offers what the environment ran before (its
/// history, as `sluice rollback` plans from it), never the current release
/// nor one rolled back, and only to those the rollback rule allows.
#[test]
fn the_board_offers_rollback_to_what_the_environment_ran() {
    let mut repo = Repo::new(Backend::Sqlite);
    repo.fix("First fix");
    let v1 = repo.cut();
    repo.through_local(&v1);
    repo.fix("Second fix");
    let v2 = repo.cut();
    repo.through_local(&v2);
    repo.serve();
    let url = repo.server.as_ref().unwrap().url.clone();
    let panel = |user: &str| {
        let mut b = Browser::new(&url);
        let token = repo.token(user);
        b.go("POST", "/login", &[("token", &token), ("next", "/board")]);
        let body = b.go("GET", "/board", &[]).body;
        let start = body.find("action=\"/environments/local/rollback\"");
        start.map(|i| {
            body[i..]
                .split("</select>")
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    let bob = panel(BOB).expect("the release manager may roll local back");
    assert!(
        bob.contains(&format!("<option value=\"{v1}\">")) && !bob.contains(&format!("\"{v2}\"")),
        "{bob}"
    );
    assert!(
        panel(ALICE).is_none(),
        "qa holds neither the release nor the monitor role"
    );
    // Rolled back to v1: v2 is out of the history, and v1 runs: nothing to offer.
    repo.ok(BOB, &["rollback", "--env", "local", "--to", &v1, "--yes"]);
    assert!(panel(BOB).is_none(), "nothing left to roll back to");
}

both!(retrospective_pages, retrospective_pages);

/// The retrospective a rollback opened, through the pages: listed, drafted
/// from the audit log, written by the team (CSRF-checked), completed by its
/// owner role only.
fn retrospective_pages(backend: Backend) {
    let mut repo = Repo::new(backend);
    let _ = repo.fix("Checkout total is wrong");
    let v1 = repo.cut();
    repo.ship(&v1);
    let _ = repo.fix("Coupon applied twice");
    let v2 = repo.cut();
    repo.ship(&v2);
    repo.ok(
        crate::harness::DAVE,
        &["rollback", "--env", "prod", "--yes"],
    );
    repo.serve();
    let url = repo.server.as_ref().unwrap().url.clone();
    let id = format!("{v2}-r1");
    let mut bob = Browser::new(&url);
    let token = repo.token(BOB);
    assert_eq!(
        bob.go("POST", "/login", &[("token", &token), ("next", "/retros")])
            .status,
        303
    );
    let list = bob.go("GET", "/retros", &[]);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("href=\"/retros/{id}\"")),
        "{}",
        list.body
    );
    let page = bob.go("GET", &format!("/retros/{id}"), &[]);
    assert!(
        page.body.contains("Drafted from the audit log"),
        "{}",
        page.body
    );
    assert!(page.body.contains("rolled back to"), "{}", page.body);
    // A form post without the CSRF token is refused.
    let p = bob.go(
        "POST",
        &format!("/retros/{id}/edit"),
        &[("text", "## Causes\r\nforged\r\n")],
    );
    assert_eq!(p.status, 403);
    let csrf = bob.csrf();
    let p = bob.go(
        "POST",
        &format!("/retros/{id}/edit"),
        &[
            ("csrf", &csrf),
            ("text", "## Causes\r\nThe coupon cache was shared.\r\n"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = bob.go("GET", &format!("/retros/{id}"), &[]);
    assert!(
        page.body.contains("The team&#x27;s document") || page.body.contains("The team's document"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("The coupon cache was shared."),
        "{}",
        page.body
    );
    // Bob is not in the owner role.
    let p = bob.go(
        "POST",
        &format!("/retros/{id}/complete"),
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("owner role"), "{}", p.body);
    let mut dave = Browser::new(&url);
    let token = repo.token(crate::harness::DAVE);
    dave.go("POST", "/login", &[("token", &token), ("next", "/retros")]);
    let csrf = dave.csrf();
    let p = dave.go(
        "POST",
        &format!("/retros/{id}/complete"),
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = dave.go("GET", &format!("/retros/{id}"), &[]);
    assert!(page.body.contains("completed by"), "{}", page.body);
    // The stored document keeps LF line ends.
    let shown = repo.json(BOB, &["retro", "show", &id]);
    assert_eq!(
        shown["document"],
        "## Causes\nThe coupon cache was shared.\n"
    );
}

both!(incident_pages, incident_pages);

/// The board marks the environment an open incident is in, with severity
/// and age; the incidents page lists open ones first and filters.
fn incident_pages(backend: Backend) {
    let mut repo = Repo::new(backend);
    let _ = repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.ok(BOB, &["promote", &v, "--to", "local"]);
    for (title, severity) in [("Slow cart", "major"), ("Checkout 500s", "critical")] {
        repo.ok(
            ALICE,
            &[
                "incident",
                "open",
                "--env",
                "local",
                "--title",
                title,
                "--severity",
                severity,
            ],
        );
    }
    repo.ok(crate::harness::DAVE, &["incident", "resolve", "1"]);
    repo.serve();
    let mut b = Browser::new(&repo.server.as_ref().unwrap().url);
    let token = repo.token(BOB);
    b.go("POST", "/login", &[("token", &token), ("next", "/board")]);
    let board = b.go("GET", "/board", &[]);
    assert!(
        board
            .body
            .contains("incident 2</a> (critical), open under a minute: Checkout 500s"),
        "{}",
        board.body
    );
    assert!(
        !board.body.contains("Slow cart"),
        "resolved: {}",
        board.body
    );
    let page = b.go("GET", "/incidents", &[]);
    assert_eq!(page.status, 200);
    let (open, resolved) = (
        page.body.find("Checkout 500s").unwrap(),
        page.body.find("Slow cart").unwrap(),
    );
    assert!(open < resolved, "open first: {}", page.body);
    let only_open = b.go("GET", "/incidents?open=1&env=local", &[]);
    assert!(!only_open.body.contains("Slow cart"), "{}", only_open.body);
    let other = b.go("GET", "/incidents?release=9.9.9", &[]);
    assert!(other.body.contains("No incidents"), "{}", other.body);
}
