//! A receiver of webhooks on 127.0.0.1 for the notification tests: a tiny
//! HTTP/1.1 server that records what it is sent, and the Standard Webhooks
//! signature check of what it got.

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP/1.1 server: records every request and answers with the
/// status scripted for its path (then 200), closing each connection.
pub struct Receiver {
    pub port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Request>>>,
}

impl Receiver {
    pub fn start(script: &[(&str, u16)]) -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Request>::new()));
        let script = std::sync::Arc::new(std::sync::Mutex::new(
            script
                .iter()
                .map(|(p, s)| (p.to_string(), *s))
                .collect::<Vec<_>>(),
        ));
        let rec = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                let status = {
                    let mut s = script.lock().unwrap();
                    match s.iter().position(|(p, _)| *p == path) {
                        Some(i) => s.remove(i).1,
                        None => 200,
                    }
                };
                rec.lock().unwrap().push(Request {
                    method,
                    path,
                    headers,
                    body: String::from_utf8(body).unwrap(),
                });
                let reason = if status == 200 { "OK" } else { "Error" };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} {reason}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        Receiver { port, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// The signing key, as a Standard Webhooks `whsec_` secret.
const KEY: &[u8] = b"a signing key of 24 byte";

pub fn whsec() -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(KEY)
    )
}

/// Checks a Standard Webhooks signature with an HMAC computed here.
pub fn assert_signed(r: &Request) {
    use base64::Engine;
    use hmac::{KeyInit, Mac};
    let id = r.header("webhook-id").expect("webhook-id");
    let ts = r.header("webhook-timestamp").expect("webhook-timestamp");
    let sig = r.header("webhook-signature").expect("webhook-signature");
    let now = jiff::Timestamp::now().as_second();
    let t: i64 = ts.parse().unwrap();
    assert!((now - t).abs() < 300, "timestamp {t} is not now ({now})");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(KEY).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(sig, want, "bad signature on {}", r.body);
}
