//! `sluice serve` over real HTTP on 127.0.0.1: authentication, the
//! authorisation matrix, idempotency keys, bad input, the OpenAPI document,
//! health and graceful shutdown.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::both;
use crate::harness::{BOB, Backend, Proc, Repo};
use crate::http::{Http, Resp};

/// One user per role, and one with none.
const USERS: &[(&str, Option<&str>)] = &[
    ("qa@example.com", Some("qa")),
    ("lead@example.com", Some("dev_lead")),
    ("po@example.com", Some("product_owner")),
    ("rm@example.com", Some("release_manager")),
    ("ops@example.com", Some("devops")),
    ("nobody@example.com", None),
];

fn matrix_process() -> String {
    let text = Proc::default().render();
    let start = text.find("[roles]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let mut roles = String::from("[roles]\n");
    for (u, r) in USERS {
        if let Some(r) = r {
            roles.push_str(&format!("{r} = [\"{u}\"]\n"));
        }
    }
    format!("{}{}{}", &text[..start], roles.trim_end(), &text[end..])
}

fn served(backend: Backend, process: Option<String>) -> (Repo, Http) {
    let mut repo = Repo::new(backend);
    if let Some(p) = process {
        std::fs::write(repo.path().join("sluice.toml"), p).unwrap();
    }
    repo.serve();
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    (repo, http)
}

fn event_count(http: &Http, token: &str) -> usize {
    let r = http.get("/api/v1/audit?limit=100000", token);
    assert_eq!(r.status, 200, "{r:?}");
    r.body["events"].as_array().unwrap().len()
}

/// Whether an answer is a refusal because the actor lacks a role (as opposed
/// to a refusal about the state of the patch or release).
fn role_refused(r: &Resp, user: &str) -> bool {
    if r.status != 409 || r.code() != "refused" {
        return false;
    }
    let m = r.message();
    let rest = m.strip_prefix(user).unwrap_or("");
    (rest.starts_with(" may not ") && !rest.contains(':'))
        || rest.starts_with(" is not a member of `")
}

fn ok(r: Resp, what: &str) -> Value {
    assert!(r.status / 100 == 2, "{what}: {r:?}");
    r.body
}

both!(authorisation_matrix, authorisation_matrix);

/// Each role × each write action: allowed or refused as the process file says
/// (`[responsibilities]`, approvals per environment, checklist `by`).
fn authorisation_matrix(backend: Backend) {
    let process = matrix_process();
    let (repo, http) = served(backend, Some(process.clone()));
    let tok: BTreeMap<&str, String> = USERS.iter().map(|(u, _)| (*u, repo.token(u))).collect();
    let t = |u: &str| tok[u].clone();
    let (lead, rm) = ("lead@example.com", "rm@example.com");

    // What the file says, read independently of Sluice.
    let doc: toml::Table = process.parse().unwrap();
    let resp = doc["responsibilities"].as_table().unwrap();
    let step = |s: &str| -> Vec<String> {
        match &resp[s] {
            toml::Value::String(r) => vec![r.clone()],
            toml::Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
            other => panic!("{other:?}"),
        }
    };
    let env_approvals = |env: &str| -> Vec<String> {
        doc["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"].as_str() == Some(env))
            .and_then(|e| e.get("approvals"))
            .map(|a| {
                a.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let checklist_by = doc["checklist"].as_array().unwrap()[0]["by"]
        .as_str()
        .unwrap()
        .to_string();

    // A patch in a given state, made by the users whose job each step is.
    let new_patch = |title: &str| -> String {
        let p = ok(
            http.post(
                "/api/v1/patches",
                &t("nobody@example.com"),
                json!({"title": title, "kind": "fix", "severity": "minor"}),
            ),
            "report",
        );
        p["key"].as_str().unwrap().to_string()
    };
    let triaged = |title: &str| -> String {
        let k = new_patch(title);
        ok(
            http.post(
                &format!("/api/v1/patches/{k}/triage"),
                &t(lead),
                json!({"owner": "ops@example.com"}),
            ),
            "triage",
        );
        k
    };
    let started = |title: &str| -> String {
        let k = triaged(title);
        ok(
            // By its owner: whoever starts a patch may not review it.
            http.post(
                &format!("/api/v1/patches/{k}/start"),
                &t("ops@example.com"),
                json!({}),
            ),
            "start",
        );
        k
    };

    // A release to act on: one ready patch, cut.
    let k = started("Release content");
    ok(
        http.post(
            &format!("/api/v1/patches/{k}/review"),
            &t(lead),
            json!({"approve": true}),
        ),
        "review",
    );
    let _ = http.post(&format!("/api/v1/patches/{k}/ready"), &t(lead), json!({}));
    let rel = ok(
        http.post("/api/v1/releases", &t(rm), json!({"line": "main"})),
        "cut",
    );
    let v = rel["version"].as_str().unwrap().to_string();

    type Action<'a> = (&'a str, Vec<String>, Box<dyn Fn(&str) -> Resp + 'a>);
    let actions: Vec<Action> = vec![
        (
            "patch report",
            vec![],
            Box::new(|tk: &str| http.post("/api/v1/patches", tk, json!({"title": "x"}))),
        ),
        (
            "patch triage",
            step("identify"),
            Box::new(|tk: &str| {
                let k = new_patch("t");
                http.post(
                    &format!("/api/v1/patches/{k}/triage"),
                    tk,
                    json!({"severity": "major"}),
                )
            }),
        ),
        (
            "patch start",
            step("develop"),
            Box::new(|tk: &str| {
                let k = triaged("s");
                http.post(&format!("/api/v1/patches/{k}/start"), tk, json!({}))
            }),
        ),
        (
            "patch review",
            step("review"),
            Box::new(|tk: &str| {
                let k = started("r");
                http.post(
                    &format!("/api/v1/patches/{k}/review"),
                    tk,
                    json!({"approve": true}),
                )
            }),
        ),
        (
            "patch reject",
            step("identify"),
            Box::new(|tk: &str| {
                let k = new_patch("j");
                http.post(
                    &format!("/api/v1/patches/{k}/reject"),
                    tk,
                    json!({"reason": "dup"}),
                )
            }),
        ),
        (
            "patch defer",
            step("identify"),
            Box::new(|tk: &str| {
                let k = new_patch("d");
                http.post(
                    &format!("/api/v1/patches/{k}/defer"),
                    tk,
                    json!({"reason": "later"}),
                )
            }),
        ),
        (
            "approve test",
            env_approvals("test"),
            Box::new(|tk: &str| {
                http.post(
                    &format!("/api/v1/releases/{v}/approvals"),
                    tk,
                    json!({"env": "test", "role": "qa"}),
                )
            }),
        ),
        (
            "approve prod",
            env_approvals("prod"),
            Box::new(|tk: &str| {
                http.post(
                    &format!("/api/v1/releases/{v}/approvals"),
                    tk,
                    json!({"env": "prod", "role": "product_owner"}),
                )
            }),
        ),
        (
            "checklist tick",
            vec![checklist_by.clone()],
            Box::new(|tk: &str| {
                http.post(
                    &format!("/api/v1/releases/{v}/checklist/notes"),
                    tk,
                    json!({}),
                )
            }),
        ),
        (
            "release amend",
            step("release"),
            Box::new(|tk: &str| {
                http.post(
                    &format!("/api/v1/releases/{v}/amend"),
                    tk,
                    json!({"add": [], "remove": []}),
                )
            }),
        ),
        (
            "promote",
            step("release"),
            Box::new(|tk: &str| {
                http.post(
                    &format!("/api/v1/releases/{v}/promotions"),
                    tk,
                    json!({"to": "local"}),
                )
            }),
        ),
        (
            "test report",
            step("test"),
            Box::new(|tk: &str| {
                http.post(
                    &format!("/api/v1/releases/{v}/tests"),
                    tk,
                    json!({"env": "local", "suite": "unit", "passed": true}),
                )
            }),
        ),
        (
            "rollback",
            [step("release"), step("monitor")].concat(),
            Box::new(|tk: &str| http.post("/api/v1/environments/local/rollback", tk, json!({}))),
        ),
        (
            "release cut",
            step("release"),
            Box::new(|tk: &str| http.post("/api/v1/releases", tk, json!({"line": "main"}))),
        ),
    ];

    let mut table = String::new();
    let mut allowed_ok = BTreeMap::new();
    for (name, roles, act) in &actions {
        for (user, role) in USERS {
            let may = roles.is_empty() || role.is_some_and(|r| roles.iter().any(|x| x == r));
            let r = act(&t(user));
            let refused = role_refused(&r, user);
            table.push_str(&format!(
                "{name:15} {user:20} expected {:7} got {} {}\n",
                if may { "allowed" } else { "refused" },
                r.status,
                r.message()
            ));
            assert_eq!(
                refused,
                !may,
                "{name} by {user} ({role:?}): expected {}, got {r:?}",
                if may {
                    "no role refusal"
                } else {
                    "a role refusal"
                }
            );
            assert!(
                r.status != 500 && r.status != 401,
                "{name} by {user}: {r:?}"
            );
            if may && r.status / 100 == 2 {
                *allowed_ok.entry(*name).or_insert(0) += 1;
            }
        }
    }
    // The matrix is not vacuous: the role holders' attempts did succeed.
    for name in [
        "patch report",
        "patch triage",
        "patch start",
        "patch reject",
        "patch defer",
        "test report",
        "approve test",
        "approve prod",
        "checklist tick",
        "promote",
    ] {
        assert!(
            allowed_ok.get(name).copied().unwrap_or(0) >= 1,
            "{name} never succeeded:\n{table}"
        );
    }
}

both!(tokens_refused, tokens_refused);

/// No token, an unknown, a revoked and an expired token are all refused with
/// 401 and the envelope; health answers without one.
fn tokens_refused(backend: Backend) {
    let (repo, http) = served(backend, None);
    assert_eq!(http.call("GET", "/healthz", None, None, &[]).status, 200);
    assert_eq!(http.call("GET", "/readyz", None, None, &[]).status, 200);

    let r = http.call("GET", "/api/v1/status", None, None, &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.code(), "unauthorized");
    assert!(r.headers.contains_key("www-authenticate"));
    let r = http.call("GET", "/api/v1/openapi.json", None, None, &[]);
    assert_eq!(r.status, 401, "the API document needs a token too: {r:?}");
    let r = http.get("/api/v1/status", "sluice_not-a-real-token");
    assert_eq!((r.status, r.code()), (401, "unauthorized"), "{r:?}");

    let good = repo.token(BOB);
    assert_eq!(http.get("/api/v1/status", &good).status, 200);
    let who = http.get("/api/v1/whoami", &good);
    assert_eq!(who.body["user"], BOB);

    // Revoked: at once.
    let created = repo
        .local_command(Some(BOB), &["token", "create", "--user", BOB, "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (id, secret) = (v["id"].as_str().unwrap(), v["secret"].as_str().unwrap());
    assert!(v.get("hash").is_none(), "the hash is never printed: {v}");
    assert_eq!(http.get("/api/v1/status", secret).status, 200);
    let o = repo
        .local_command(Some(BOB), &["token", "revoke", id])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = http.get("/api/v1/status", secret);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.message().contains("revoked"), "{r:?}");
    assert!(!r.message().contains(secret), "the secret is never echoed");

    // The CLI in remote mode with the revoked token: exit 2, a clear reason.
    let o = repo
        .local_command(None, &["status"])
        .env("SLUICE_SERVER", &http.base)
        .env("SLUICE_TOKEN", secret)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refused the token") && err.contains("revoked"),
        "{err}"
    );

    // Expired.
    let created = repo
        .local_command(
            Some(BOB),
            &[
                "token",
                "create",
                "--user",
                BOB,
                "--expires",
                "1s",
                "--json",
            ],
        )
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&created.stdout).unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r = http.get("/api/v1/status", &secret);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.message().contains("expired"), "{r:?}");

    // Listed with their states; creation and revocation are in the audit log.
    let o = repo
        .local_command(None, &["token", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(
        list.contains("revoked") && list.contains("expired") && list.contains("active"),
        "{list}"
    );
    let audit = http.get("/api/v1/audit", &good);
    let kinds: Vec<&str> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"token.created") && kinds.contains(&"token.revoked"),
        "{kinds:?}"
    );
}

both!(idempotency_keys, idempotency_keys);

/// A repeated Idempotency-Key returns the first answer and changes nothing.
fn idempotency_keys(backend: Backend) {
    let (repo, http) = served(backend, None);
    let tk = repo.token("alice@example.com");
    let body = json!({"title": "Login fails", "severity": "major"});
    let key = [("Idempotency-Key", "report-login-1")];
    let first = http.call("POST", "/api/v1/patches", Some(&tk), Some(&body), &key);
    assert_eq!(first.status, 201, "{first:?}");
    let events = event_count(&http, &tk);
    let again = http.call("POST", "/api/v1/patches", Some(&tk), Some(&body), &key);
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the first answer, byte for byte");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(event_count(&http, &tk), events, "a replay writes nothing");
    let list = http.get("/api/v1/patches", &tk);
    assert_eq!(list.body["patches"].as_array().unwrap().len(), 1);

    // The same key for another request is an error, not a silent replay.
    let other = http.call(
        "POST",
        "/api/v1/patches",
        Some(&tk),
        Some(&json!({"title": "Something else"})),
        &key,
    );
    assert_eq!(
        (other.status, other.code()),
        (422, "idempotency_key_reused"),
        "{other:?}"
    );

    // A refusal is an answer too: replayed, not re-decided.
    let bob = repo.token(BOB);
    let k = first.body["key"].as_str().unwrap();
    let key2 = [("Idempotency-Key", "ready-too-early")];
    let r1 = http.call(
        "POST",
        &format!("/api/v1/patches/{k}/ready"),
        Some(&bob),
        Some(&json!({})),
        &key2,
    );
    assert_eq!(r1.status, 409, "{r1:?}");
    let r2 = http.call(
        "POST",
        &format!("/api/v1/patches/{k}/ready"),
        Some(&bob),
        Some(&json!({})),
        &key2,
    );
    assert_eq!((r2.status, &r2.body), (409, &r1.body));

    // Keys are per user: Bob's use of Alice's key is his own request.
    let b = http.call("POST", "/api/v1/patches", Some(&bob), Some(&body), &key);
    assert_eq!(b.status, 201);
    assert_ne!(b.body["key"], first.body["key"]);
}

both!(bad_requests, bad_requests);

/// Malformed, mistyped, oversized and unknown requests get a clear 4xx in the
/// envelope and leave nothing behind; refusals carry their unmet requirements.
fn bad_requests(backend: Backend) {
    let (repo, http) = served(backend, None);
    let tk = repo.token(BOB);
    let before = event_count(&http, &tk);

    let r = http.raw(
        "POST",
        "/api/v1/patches",
        Some(&tk),
        Some(("application/json", b"{\"title\": ")),
        &[],
    );
    assert_eq!((r.status, r.code()), (400, "malformed"), "{r:?}");
    let r = http.raw(
        "POST",
        "/api/v1/patches",
        Some(&tk),
        Some(("text/plain", b"{}")),
        &[],
    );
    assert_eq!(
        (r.status, r.code()),
        (415, "unsupported_media_type"),
        "{r:?}"
    );
    let r = http.post(
        "/api/v1/patches",
        &tk,
        json!({"title": "x", "sevrity": "major"}),
    );
    assert_eq!((r.status, r.code()), (422, "invalid"), "{r:?}");
    assert!(r.message().contains("sevrity"), "{r:?}");
    let r = http.post(
        "/api/v1/patches",
        &tk,
        json!({"title": "x", "lines": ["1.x"]}),
    );
    assert_eq!(r.status, 422, "{r:?}");
    let big = vec![b' '; 2 * 1024 * 1024];
    // The server answers before reading it all and closes the connection.
    let r = http.raw(
        "POST",
        "/api/v1/patches",
        Some(&tk),
        Some(("application/json", &big)),
        &[("connection", "close")],
    );
    assert_eq!((r.status, r.code()), (413, "too_large"), "{r:?}");
    let r = http.get("/api/v1/nothing-here", &tk);
    assert_eq!((r.status, r.code()), (404, "not_found"), "{r:?}");
    let r = http.get("/api/v1/patches/SHOP-999", &tk);
    assert_eq!((r.status, r.code()), (404, "not_found"), "{r:?}");
    let r = http.post(
        "/api/v1/patches",
        &tk,
        json!({"title": "x", "severity": "apocalyptic"}),
    );
    assert_eq!(r.status / 100, 4, "{r:?}");
    let r = http.get("/api/v1/patches?status=bogus", &tk);
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(
        event_count(&http, &tk),
        before,
        "bad requests write nothing"
    );

    // A refusal: 409, with what is missing and who can do it.
    let rel = http.post("/api/v1/releases", &tk, json!({"line": "main"}));
    assert_eq!((rel.status, rel.code()), (409, "refused"), "{rel:?}");
    let r = http.post(
        "/api/v1/releases/9.9.9/promotions",
        &tk,
        json!({"to": "prod"}),
    );
    assert_eq!((r.status, r.code()), (404, "not_found"), "{r:?}");

    // The server is still well.
    assert_eq!(http.call("GET", "/healthz", None, None, &[]).status, 200);
}

#[test]
fn openapi_document_covers_every_operation() {
    let (repo, http) = served(Backend::Sqlite, None);
    let tk = repo.token(BOB);
    let r = http.get("/api/v1/openapi.json", &tk);
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = sluice_server::api::ops();
    assert!(ops.len() >= 30);
    for op in &ops {
        let path = format!("/api/v1{}", op.path);
        let m = op.method.as_str().to_ascii_lowercase();
        let o = &doc["paths"][&path][&m];
        assert_eq!(o["operationId"], op.id, "{path} {m}");
        if op.body.is_some() {
            assert!(
                o["requestBody"]["content"]["application/json"]["schema"].is_object(),
                "{path}"
            );
        }
        for p in sluice_server::openapi::path_params(op.path) {
            assert!(
                o["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["name"] == p && x["in"] == "path"),
                "{path} documents {p}"
            );
        }
    }
    // Request schemas come from the types the server reads: a field added to
    // one cannot be missing here.
    let report = &doc["components"]["schemas"]["ReportPatch"];
    assert!(report["properties"]["title"].is_object(), "{report}");
    assert_eq!(report["required"], json!(["title"]));
    // Answers are described by schemas derived from the application types.
    for op in &ops {
        let path = format!("/api/v1{}", op.path);
        let m = op.method.as_str().to_ascii_lowercase();
        let code = if op.created { "201" } else { "200" };
        let schema =
            &doc["paths"][&path][&m]["responses"][code]["content"]["application/json"]["schema"];
        assert!(
            schema.get("$ref").is_some() || schema.get("type").is_some(),
            "{path} {m}: {schema}"
        );
    }
    let patch = &doc["components"]["schemas"]["Patch"];
    for field in ["key", "status", "targets", "deadline", "reviews"] {
        assert!(
            patch["properties"][field].is_object(),
            "Patch.{field}: {patch}"
        );
    }
    assert!(doc["components"]["schemas"]["Release"]["properties"]["tests"].is_object());
    // Every reference resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "$ref" {
                        out.push(x.as_str().unwrap_or("").to_string());
                    } else {
                        refs(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} resolves"
        );
    }
    // A real validator accepts it as OpenAPI 3.1.
    let file = repo.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let o = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs (scripts/test provides it with its packages)");
    assert!(
        o.status.success(),
        "the document must validate (pip install openapi-spec-validator; scripts/test installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Every operation is reachable: none answers 404 for its route.
    let r = http.get("/api/v1/releases", &tk);
    assert_eq!(r.status, 200);
}

#[test]
fn graceful_shutdown_and_json_logs() {
    let (mut repo, http) = served(Backend::Sqlite, None);
    let tk = repo.token(BOB);
    assert_eq!(http.get("/api/v1/status", &tk).status, 200);
    let code = repo.server.as_mut().unwrap().stop();
    assert_eq!(code, Some(0), "SIGTERM stops the server cleanly");
    let log = std::fs::read_to_string(repo.path().join("serve.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "/api/v1/status" && l["status"] == 200 && l["actor"] == BOB),
        "{log}"
    );
    assert!(!log.contains(&tk), "tokens never reach the log");
    assert!(lines.iter().any(|l| l["message"] == "stopped"), "{log}");
}
