//! The UI in a real headless Chromium (Debian's chromium and chromium-driver):
//! sign in, read the board, approve as QA, be refused as a developer,
//! promote, and see the deployment on the board. Screenshots of every page
//! are kept under the test's target directory.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::harness::{ALICE, BOB, Backend, Repo};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shots() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

pub async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/board")).await.unwrap();
    // Redirected to the sign-in form; the label names the field.
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    let field = c.find(Locator::Css("input#token")).await.unwrap();
    field.send_keys(token).await.unwrap();
    click(c, "form button[type=submit]").await;
    wait_for(c, "Pipeline").await;
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn choose(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

pub async fn text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `property` of every element matching `css`, in document order, as text.
pub async fn each(c: &Client, css: &str, property: &str) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => String(e[arguments[1]]))",
            vec![serde_json::json!(css), serde_json::json!(property)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// How long a page may take to show what a step waits for. Generous: the
/// browser shares two cores with the rest of the suite, and every wait returns
/// as soon as the page is ready.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Waits (bounded) until the main content shows `needle`.
pub async fn wait_for(c: &Client, needle: &str) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if let Ok(m) = c.find(Locator::Css("main")).await
            && let Ok(t) = m.text().await
            && t.contains(needle)
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {needle:?}:\n{}", text(c).await)
}

pub async fn sign_out(c: &Client) {
    click(c, "form.who button").await;
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if c.current_url().await.unwrap().path() == "/login" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "signing out never reached the sign-in page:\n{}",
        text(c).await
    )
}

/// The Inbox page of the signed-in `who` lists the items `sluice inbox --json` gives
/// for them, each once, and nothing else; returns how many.
async fn inbox_is_the_cli_s(c: &Client, base: &str, repo: &Repo, who: &str) -> usize {
    let plain = |s: &str| s.replace('`', "");
    let cli = repo.json(who, &["inbox"]);
    let items = cli["items"].as_array().unwrap();
    c.goto(&format!("{base}/inbox")).await.unwrap();
    wait_for(c, "What waits on you").await;
    let shown = each(c, "ul.inbox li", "innerText").await;
    assert_eq!(shown.len(), items.len(), "{who}: page {shown:?}, cli {cli}");
    for i in items {
        let what = plain(i["what"].as_str().unwrap_or_default());
        assert!(
            shown.iter().any(|l| plain(l).contains(&what)),
            "{who}: {what:?} missing from {shown:?}"
        );
    }
    items.len()
}

/// A headless Chromium driven through chromedriver on a free loopback port;
/// both stop when this is dropped.
pub struct Chrome {
    pub c: Client,
    _driver: Driver,
}

/// Starts Debian's chromium under chromedriver (bounded wait for the driver).
pub async fn chrome() -> Chrome {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    let driver = std::path::Path::new("/usr/bin/chromedriver");
    assert!(
        chromium.exists() && driver.exists(),
        "the browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); scripts/test installs them"
    );
    let port = free_port();
    let driver = Driver(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--window-size=1400,1000"],
        }),
    );
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Chrome { c, _driver: driver },
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not answer on port {port}")
}

#[test]
fn journey_in_headless_chromium() {
    let mut repo = Repo::new(Backend::Sqlite);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.through_local(&v);
    repo.through_dev(&v);
    repo.serve();
    let base = repo.server.as_ref().unwrap().url.clone();
    let (qa, dev) = (repo.token(ALICE), repo.token(BOB));
    let po = repo.token(crate::harness::CAROL);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let chrome = chrome().await;
        let c = &chrome.c;

        // QA signs in and reads the board: the release waits in dev on qa.
        c.goto(&format!("{base}/board")).await.unwrap();
        shot(c, "01-sign-in").await;
        sign_in(c, &base, &qa).await;
        let board = wait_for(c, &v).await;
        // The gate waits on QA's people, without Dave, who wrote the patch
        // and so may not approve it; Alice gets the button that meets it.
        assert!(
            board.contains("— alice@example.com Approve as qa"),
            "{board}"
        );
        assert!(board.contains("Approve as qa"), "{board}");
        shot(c, "02-board").await;

        // Her inbox (the page after sign-in) lists the approval her role
        // gives, with the command that gives it.
        c.goto(&format!("{base}/inbox")).await.unwrap();
        let inbox = wait_for(c, "What waits on you").await;
        assert!(
            inbox.contains(&format!("{v} into `test`: approval by `qa`"))
                || inbox.contains(&format!("{v} into test: approval by qa")),
            "{inbox}"
        );
        shot(c, "02-inbox").await;
        c.goto(&format!("{base}/board")).await.unwrap();
        wait_for(c, &v).await;

        // The release page; QA approves into test.
        c.find(Locator::LinkText(&v))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(c, "Gates").await;
        shot(c, "03-release").await;
        choose(c, "select#a-env", "test").await;
        click(c, "form[action$='/approve'] button").await;
        let page = wait_for(c, "Approved").await;
        assert!(
            page.contains(&format!("Approved {v} for test as qa")),
            "{page}"
        );
        shot(c, "04-approved").await;
        sign_out(c).await;

        // The release manager's page offers what he may do: approval only
        // into prod (as dev_lead, its emergency approver; no role of his
        // approves into test), no test results, and the promotion into the
        // next environment only.
        sign_in(c, &base, &dev).await;
        c.goto(&format!("{base}/releases/{v}")).await.unwrap();
        wait_for(c, "Gates").await;
        let envs = each(c, "#a-env option", "value").await;
        assert_eq!(envs, ["prod"], "approve choices of {BOB}");
        assert!(c.find(Locator::Css("form[action$='/test']")).await.is_err());
        click(c, "form[action$='/promote'] button").await;
        let page = wait_for(c, "entered test").await;
        assert!(
            page.contains("deploy test"),
            "the deployment is on the timeline: {page}"
        );
        shot(c, "05-promoted").await;

        // Promoting on into prod is refused: the refusal shows on the release
        // page itself, with what is missing and who can meet it.
        click(c, "form[action$='/promote'] button").await;
        let refused = wait_for(c, "Refused").await;
        assert!(
            c.current_url()
                .await
                .unwrap()
                .path()
                .ends_with(&format!("/releases/{v}")),
            "the refusal stays on the release page"
        );
        assert!(
            refused.contains("approval by product_owner for prod (0 of 1)")
                && refused.contains("(product_owner)"),
            "{refused}"
        );
        shot(c, "06-refused").await;
        c.goto(&format!("{base}/board")).await.unwrap();
        wait_for(c, "Pipeline").await;
        let col = c
            .find(Locator::Css("section[aria-labelledby='env-test']"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(col.contains(&v), "the test column holds {v}: {col}");
        shot(c, "07-board-after").await;

        // The live refresh swaps in only what changed: QA records the
        // regression suite; the release's row is replaced, the environments'
        // cards (unchanged) are the same elements as before.
        let mark = "document.getElementById('env-card-test').__kept = 1; \
                    document.getElementById('row-' + arguments[0]).__kept = 1; return true";
        c.execute(mark, vec![serde_json::json!(v)]).await.unwrap();
        let before = c
            .find(Locator::Css(&format!("#row-{}", v.replace('.', "\\."))))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(before.contains("regression"), "{before}");
        repo.ok(
            ALICE,
            &[
                "test",
                "report",
                &v,
                "--env",
                "test",
                "--suite",
                "regression",
                "--pass",
            ],
        );
        let probe = "var r = document.getElementById('row-' + arguments[0]); \
                     return [r.innerText.indexOf('regression') < 0, !r.__kept, \
                             document.getElementById('env-card-test').__kept === 1];";
        let mut state = serde_json::json!([false, false, false]);
        for _ in 0..30 {
            state = c.execute(probe, vec![serde_json::json!(v)]).await.unwrap();
            if state[0] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        assert_eq!(
            state,
            serde_json::json!([true, true, true]),
            "[row refreshed, row replaced, env card kept]"
        );

        // The other pages, for the record.
        for (path, name, needle) in [
            ("/patches", "08-patches", "Patch queue"),
            ("/calendar", "09-calendar", "Calendar"),
            ("/audit", "10-audit", "Chain intact"),
        ] {
            c.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(c, needle).await;
            shot(c, name).await;
        }
        // The metrics page: numbers linking to what they count, SVG charts
        // drawn by the server (no script), the four keys week by week.
        c.goto(&format!("{base}/insights?env=test")).await.unwrap();
        let page = wait_for(c, "Deployment frequency").await;
        assert!(page.contains("1 deployment,"), "{page}");
        assert!(page.contains("The last 12 weeks"), "{page}");
        let charts = c
            .execute(
                "return document.querySelectorAll('svg.chart').length",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            charts.as_u64().unwrap() >= 5,
            "the charts are drawn: {charts}"
        );
        let deployed = c
            .find(Locator::Css(&format!(
                "#deployed + p a[href='/releases/{v}']"
            )))
            .await;
        assert!(deployed.is_ok(), "the deployment links to its release");
        shot(c, "11-metrics").await;

        // Keyboard: the skip link is the first thing Tab reaches.
        let first = c
            .execute(
                "return document.querySelector('a.skip').getAttribute('href')",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(first, serde_json::json!("#main"));

        // The release manager sees no approval he may not give on the board.
        c.goto(&format!("{base}/board")).await.unwrap();
        let board = wait_for(c, "Releases in flight").await;
        assert!(!board.contains("Approve as"), "{board}");
        sign_out(c).await;

        // An open incident shows on the board; the product owner approves
        // into prod from the board in one click.
        repo.ok(
            crate::harness::DAVE,
            &[
                "incident",
                "open",
                "--env",
                "test",
                "--title",
                "Search is slow",
                "--severity",
                "minor",
            ],
        );
        // Each role's Inbox lists exactly what `sluice inbox` lists for that
        // person: the same items, no more.
        let ops = repo.token(crate::harness::DAVE);
        let mut listed = Vec::new();
        for (token, who) in [
            (&qa, ALICE),
            (&dev, BOB),
            (&po, crate::harness::CAROL),
            (&ops, crate::harness::DAVE),
        ] {
            sign_in(c, &base, token).await;
            listed.push(inbox_is_the_cli_s(c, &base, &repo, who).await);
            sign_out(c).await;
        }
        assert!(
            listed[2] >= 1,
            "the product owner's approval into prod waits on her: {listed:?}"
        );
        sign_in(c, &base, &po).await;
        c.goto(&format!("{base}/board")).await.unwrap();
        let board = wait_for(c, "Releases in flight").await;
        assert!(board.contains("Search is slow"), "{board}");
        assert!(
            board.contains("incident 1 minor"),
            "the row is marked: {board}"
        );
        click(
            c,
            &format!("#row-{} form.act button", v.replace('.', "\\.")),
        )
        .await;
        let board = wait_for(c, "Approved").await;
        assert!(
            board.contains(&format!("Approved {v} for prod as product_owner")),
            "{board}"
        );
        assert_eq!(c.current_url().await.unwrap().path(), "/board");
        shot(c, "12-board-approved").await;

        // A half-typed field in a row survives the live refresh: the row
        // changes (the checklist item is ticked) but is left alone while the
        // field holds input, and refreshed once it does not.
        let typed = "var r = document.getElementById('row-' + arguments[0]); \
                     var i = document.createElement('input'); i.id = 'half'; \
                     r.querySelector('td.next').appendChild(i); i.value = 'half-typ'; return 1";
        c.execute(typed, vec![serde_json::json!(v)]).await.unwrap();
        repo.ok(BOB, &["checklist", &v, "--tick", "notes"]);
        tokio::time::sleep(Duration::from_secs(12)).await;
        let kept = c
            .execute(
                "var i = document.getElementById('half'); return i ? i.value : null",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            kept,
            serde_json::json!("half-typ"),
            "the field survived a refresh"
        );
        c.execute(
            "document.getElementById('half').value = ''; return 1",
            vec![],
        )
        .await
        .unwrap();
        let mut refreshed = false;
        for _ in 0..25 {
            let row = c
                .execute(
                    "return document.getElementById('row-' + arguments[0]).innerText",
                    vec![serde_json::json!(v)],
                )
                .await
                .unwrap();
            if !row.as_str().unwrap_or_default().contains("checklist notes") {
                refreshed = true;
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(refreshed, "the row refreshed once the field was empty");
        // The same board on a phone's width.
        c.set_window_size(390, 844).await.unwrap();
        c.refresh().await.unwrap();
        wait_for(c, "Releases in flight").await;
        shot(c, "13-board-390px").await;
        c.goto(&format!("{base}/inbox")).await.unwrap();
        wait_for(c, "What waits on you").await;
        shot(c, "14-inbox-390px").await;
        c.clone().close().await.unwrap();
    });
}
