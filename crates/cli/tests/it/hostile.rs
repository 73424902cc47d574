//! What a hostile user tries against a real `sluice serve`: links that run
//! script, a sign-in that sends the browser elsewhere, a sign-in forced from
//! another site, pages without security headers. Over HTTP on both backends,
//! and in a real headless Chromium for what only a browser does (following
//! a redirect, running a link, posting a cross-site form).

use std::io::{Read, Write};
use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{chrome, each, wait_for};
use crate::harness::{ALICE, BOB, Backend, DAVE, Repo};
use crate::http::Http;

const SCRIPT_LINKS: &[&str] = &[
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/x",
];

/// A release that is in dev (so incidents in dev are about it).
fn release_in_dev(backend: Backend) -> (Repo, String) {
    let mut repo = Repo::new(backend);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.through_local(&v);
    repo.through_dev(&v);
    repo.serve();
    (repo, v)
}

fn links_are_http_only(backend: Backend) {
    let (repo, v) = release_in_dev(backend);
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    // Any token holder may open an incident; none may store a script link.
    let nobody = repo.token("nobody@example.com");
    for bad in SCRIPT_LINKS {
        let r = http.post(
            "/api/v1/incidents",
            &nobody,
            json!({"env": "dev", "title": "x", "url": bad}),
        );
        assert_eq!(r.status, 422, "incident url {bad:?}: {:?}", r.body);
        assert!(r.message().contains("http:// or https://"), "{:?}", r.body);
        let r = http.post(
            &format!("/api/v1/releases/{v}/tests"),
            &repo.token(ALICE),
            json!({"env": "dev", "suite": "integration", "passed": true, "url": bad}),
        );
        assert_eq!(r.status, 422, "test url {bad:?}: {:?}", r.body);
    }
    // The refusals wrote nothing; real links are kept and shown.
    let r = http.post(
        "/api/v1/incidents",
        &nobody,
        json!({"env": "dev", "title": "Errors up", "url": "https://alerts.example/1"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let list = http.get("/api/v1/incidents", &nobody);
    assert_eq!(
        list.body.as_array().map(Vec::len),
        Some(1),
        "{:?}",
        list.body
    );
    let shown = repo.json(DAVE, &["release", "show", &v]);
    assert!(
        !shown.to_string().contains("javascript"),
        "no script link was recorded: {shown}"
    );
}
crate::both!(links_are_http_only_on, links_are_http_only);

/// An HTTP client that shows redirects instead of following them.
fn raw_client() -> (tokio::runtime::Runtime, reqwest::Client) {
    let _ = sluice_app::deliver::http_client(); // installs the TLS provider
    (
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    )
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn sign_in_redirects_only_within_the_site_and_refuses_other_sites() {
    let (repo, _v) = release_in_dev(Backend::Sqlite);
    let base = repo.server.as_ref().unwrap().url.clone();
    let token = repo.token(ALICE);
    let (rt, client) = raw_client();
    let login = |next: &str, headers: &[(&str, &str)]| {
        let mut req = client
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("token", &token), ("next", next)]));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        rt.block_on(async {
            let r = req.send().await.unwrap();
            let h = |n: &str| {
                r.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            (r.status().as_u16(), h("location"), h("set-cookie"))
        })
    };
    // Open redirect: every form a browser would read as another host goes to the board.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "evil.example",
        "",
    ] {
        let (status, location, _) = login(next, &[]);
        assert_eq!(status, 303, "next={next:?}");
        assert_eq!(location, "/inbox", "next={next:?} must not leave the site");
    }
    for next in ["/releases/1.2.4?x=1", "/patches", "/"] {
        let (_, location, _) = login(next, &[]);
        assert_eq!(location, next);
    }
    // Login CSRF: a form posted from another site signs nobody in.
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "http://evil.example")],
        &[("origin", "null")],
    ] {
        let (status, _, cookie) = login("/board", headers);
        assert_eq!(status, 403, "{headers:?}");
        assert!(!cookie.contains("sluice_session="), "{headers:?}: {cookie}");
    }
    let host = base.trim_start_matches("http://");
    let own = format!("http://{host}");
    for headers in [
        &[("sec-fetch-site", "same-origin")][..],
        &[("sec-fetch-site", "none")],
        &[("origin", own.as_str())],
    ] {
        let (status, _, cookie) = login("/board", headers);
        assert_eq!(status, 303, "{headers:?}");
        assert!(cookie.contains("sluice_session="), "{headers:?}");
    }
}

#[test]
fn every_answer_carries_the_security_headers() {
    let (repo, v) = release_in_dev(Backend::Sqlite);
    let base = repo.server.as_ref().unwrap().url.clone();
    let token = repo.token(ALICE);
    let (rt, client) = raw_client();
    for (path, auth) in [
        ("/login", false),
        ("/board", false),
        (&format!("/releases/{v}")[..], false),
        ("/static/sluice.css", false),
        ("/static/live.js", false),
        ("/calendar.ics", false),
        ("/healthz", false),
        ("/api/v1/status", true),
        ("/api/v1/status", false),
        ("/api/v1/no-such-route", true),
        ("/api/v1/openapi.json", true),
    ] {
        let mut req = client.get(format!("{base}{path}"));
        if auth {
            req = req.bearer_auth(&token);
        }
        let h = rt.block_on(async { req.send().await.unwrap().headers().clone() });
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let csp = get("content-security-policy");
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{path}: CSP {csp:?} lacks {part}");
        }
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
    }
}

/// A one-page site on another origin (`localhost` against the server's
/// `127.0.0.1`) whose page posts a sign-in form to Sluice on load.
fn attacker_site(target: &str, token: &str) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = format!(
        "<!doctype html><title>win a prize</title>\
         <form id=f method=post action=\"{target}/login\">\
         <input name=token value=\"{token}\"><input name=next value=\"/board\"></form>\
         <script>document.getElementById('f').submit()</script>"
    );
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        // Each connection on its own thread: a browser opens speculative
        // connections that send nothing, and one of them must not hold up
        // the page. Bounded: the page, a favicon and a few such connections.
        let mut served = Vec::new();
        for _ in 0..8 {
            let Ok((mut s, _)) = listener.accept() else {
                break;
            };
            let page = page.clone();
            served.push(std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut buf = [0u8; 4096];
                if matches!(s.read(&mut buf), Ok(0) | Err(_)) {
                    return;
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = s.write_all(answer.as_bytes());
            }));
        }
        for t in served {
            let _ = t.join();
        }
    });
    (format!("http://localhost:{port}/"), handle)
}

#[test]
fn in_a_browser_script_links_redirects_and_forced_sign_in_go_nowhere() {
    let (repo, v) = release_in_dev(Backend::Sqlite);
    let base = repo.server.as_ref().unwrap().url.clone();
    let http = Http::new(&base);
    let (qa, attacker) = (repo.token(ALICE), repo.token(BOB));
    // An incident with a real link, then one written before links were
    // checked: the database is edited as an old record would be.
    let r = http.post(
        "/api/v1/incidents",
        &qa,
        json!({"env": "dev", "title": "Errors up", "url": "https://alerts.example/1"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = http.post(
        "/api/v1/incidents",
        &qa,
        json!({"env": "dev", "title": "Old record", "url": "https://alerts.example/2"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let sql = format!(
        "UPDATE incidents SET data = json_set(data, '$.url', 'javascript:window.__pwned=1') WHERE id = {id};"
    );
    let o = std::process::Command::new("sqlite3")
        .arg(repo.sqlite_file())
        .arg(sql)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let chrome = chrome().await;
        let c = &chrome.c;

        // 1. The sign-in form, its `next` changed to a tab-smuggled host:
        // the browser ends on the inbox of this server.
        c.goto(&format!("{base}/login")).await.unwrap();
        c.execute(
            "document.querySelector('input[name=next]').value = '/\\t/evil.example'; return 1;",
            vec![],
        )
        .await
        .unwrap();
        c.find(Locator::Css("input#token"))
            .await
            .unwrap()
            .send_keys(&qa)
            .await
            .unwrap();
        c.find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(c, "What waits on").await;
        let at = c.current_url().await.unwrap();
        assert_eq!(at.host_str(), Some("127.0.0.1"), "left the site: {at}");
        assert_eq!(at.path(), "/inbox");

        // 2. The release page: the real link is a link, the script one is
        // not, and following every link on the page runs nothing.
        c.goto(&format!("{base}/releases/{v}")).await.unwrap();
        wait_for(c, "Old record").await;
        let hrefs = each(c, "a", "href").await;
        assert!(
            hrefs.iter().any(|h| h == "https://alerts.example/1"),
            "{hrefs:?}"
        );
        assert!(
            hrefs.iter().all(|h| h.starts_with("http")),
            "every link is http(s): {hrefs:?}"
        );
        // Click each same-page link that is not a navigation away, then check
        // that no script set the marker.
        let clicked = c
            .execute(
                "let n = 0; for (const a of document.querySelectorAll('a')) { \
                   if (!a.href.startsWith('http')) { a.click(); n++; } } \
                 return [n, window.__pwned === 1];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(clicked, json!([0, false]));

        // 3. Forced sign-in: sign out, then visit a page on another site that
        // posts the attacker's token to the sign-in form.
        crate::browser::sign_out(c).await;
        let (site, server) = attacker_site(&base, &attacker);
        c.goto(&site).await.unwrap();
        let mut refused = String::new();
        let deadline = std::time::Instant::now() + crate::browser::PATIENCE;
        while std::time::Instant::now() < deadline {
            if let Ok(b) = c.find(Locator::Css("body")).await {
                refused = b.text().await.unwrap_or_default();
                if refused.contains("another site") {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(refused.contains("another site"), "{refused}");
        // The browser holds no session: the board asks to sign in.
        c.goto(&format!("{base}/board")).await.unwrap();
        let at = c.current_url().await.unwrap();
        assert_eq!(at.path(), "/login", "signed in by another site: {at}");
        c.clone().close().await.unwrap();
        drop(server);
    });
}

/// Open file descriptors of a process.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A thousand half-sent requests neither exhaust the server's descriptors nor
/// stay open: heads and bodies have read timeouts, connections a cap.
#[test]
fn slow_clients_are_bounded() {
    let (repo, _v) = release_in_dev(Backend::Sqlite);
    let served = repo.server.as_ref().unwrap();
    let addr = served.url.trim_start_matches("http://").to_string();
    let pid = served.pid();
    // The baseline after some work: the database pool and the log are open.
    let http = Http::new(&served.url);
    for _ in 0..5 {
        assert_eq!(http.call("GET", "/healthz", None, None, &[]).status, 200);
        http.call("GET", "/login", None, None, &[]);
    }
    let before = fds(pid);
    let mut held = Vec::new();
    for i in 0..1000 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        // Half a request head, or a whole head and half a body.
        let part = if i >= 10 {
            "GET /healthz HTTP/1.1\r\nHost: x\r\n".to_string()
        } else {
            "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"env\"".to_string()
        };
        s.write_all(part.as_bytes()).unwrap();
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let during = fds(pid);
    assert!(
        during <= before + sluice_server::MAX_CONNECTIONS + 16,
        "descriptors: {before} before, {during} with 1000 half-sent requests"
    );
    // Within the timeouts (10 s for a head, 30 s for a body; the connections
    // past the cap are served as slots free) every one of them is answered or
    // closed by the server; reads are bounded.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut closed = 0;
    for s in &mut held {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        let mut buf = Vec::new();
        match s.read_to_end(&mut buf) {
            Ok(_) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            Err(e) => panic!("a half-sent request was held open past its timeout: {e}"),
        }
    }
    assert_eq!(closed, 1000);
    drop(held);
    // And the server still answers (on a new connection: the warm-up's idle
    // keep-alive connections were closed by the header timeout meanwhile).
    drop(http);
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    let r = http.call("GET", "/healthz", None, None, &[]);
    assert_eq!(r.status, 200);
    // Back near the baseline (a few pooled database connections may have
    // opened meanwhile), far from the thousand held before.
    let mut after = fds(pid);
    for _ in 0..50 {
        if after <= before + 16 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        after = fds(pid);
    }
    assert!(
        after <= before + 16,
        "descriptors back to {before}: {after}"
    );
}
