//! Where commands go: the application layer in this process (local mode, on
//! the repository's database), or a `sluice serve` over HTTP (remote mode,
//! `--server` / `SLUICE_SERVER` with `SLUICE_TOKEN`). Both answer with the same
//! types and the same errors, so every command prints the same output and
//! exits with the same code either way.

use std::path::PathBuf;

use jiff::Timestamp;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_app::wire::{self, Command, Input};
use sluice_app::{App, AppError};

type Result<T> = std::result::Result<T, AppError>;

/// A server and the token to reach it with.
pub struct Remote {
    base: String,
    token: String,
    http: reqwest::Client,
    /// The user the token acts for.
    pub user: String,
}

pub enum Kind {
    Local(Box<App>),
    Remote(Remote),
}

/// Where the commands run.
pub struct Backend {
    /// The repository root (local mode); the current directory in remote mode.
    pub root: PathBuf,
    pub kind: Kind,
}

impl Remote {
    /// Connects: asks the server who the token acts for.
    pub async fn connect(base: &str, token: &str) -> Result<Remote> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AppError::Config(format!(
                "the server URL `{base}` must start with http:// or https://"
            )));
        }
        if token.trim().is_empty() {
            return Err(AppError::Config(
                "remote mode needs a token: set SLUICE_TOKEN (the server's admin creates one with `sluice token create --user EMAIL`)".into(),
            ));
        }
        let mut r = Remote {
            base,
            token: token.trim().to_string(),
            http: sluice_app::deliver::http_client(),
            user: String::new(),
        };
        let who: wire::WhoAmI = r.call(Method::GET, "/whoami", None::<&()>).await?;
        r.user = who.user;
        Ok(r)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if method != Method::GET {
            req = req.header("Idempotency-Key", sluice_app::random_hex::<16>()?);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            AppError::Io(format!(
                "cannot reach the server at {}: {}",
                self.base,
                without_url(&e)
            ))
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| {
            AppError::Io(format!(
                "the server's answer broke off: {}",
                without_url(&e)
            ))
        })?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                AppError::Io(format!(
                    "the server's answer to {path} is not what this sluice expects ({e}); are the versions the same?"
                ))
            });
        }
        let Ok(env) = serde_json::from_str::<wire::ErrorEnvelope>(&text) else {
            return Err(AppError::Io(format!(
                "the server answered {status} to {path}: {}",
                text.chars().take(200).collect::<String>()
            )));
        };
        Err(env.error.into_app_error())
    }
}

/// reqwest errors name the URL; the message already does, once.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" for url ({u})"), "");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

impl Remote {
    /// Sends a command to the server.
    async fn send<C: Command>(&self, path: &[&str], req: &C) -> Result<C::Output> {
        let mut url = wire::command::fill_path(C::PATH, path);
        let method = match C::METHOD {
            wire::Method::Get => Method::GET,
            wire::Method::Post => Method::POST,
            wire::Method::Put => Method::PUT,
        };
        match C::INPUT {
            Input::Query => {
                let q = serde_urlencoded::to_string(req).map_err(|e| {
                    AppError::Invalid(format!("cannot write the request for {url}: {e}"))
                })?;
                if !q.is_empty() {
                    url = format!("{url}?{q}");
                }
                self.call(method, &url, None::<&()>).await
            }
            Input::Body => self.call(method, &url, Some(req)).await,
            Input::Nothing if method == Method::GET => self.call(method, &url, None::<&()>).await,
            Input::Nothing => self.call(method, &url, Some(&serde_json::json!({}))).await,
        }
    }
}

impl Backend {
    pub async fn close(&self) {
        if let Kind::Local(app) = &self.kind {
            app.close().await;
        }
    }

    /// Runs a command here, or on the server; `path` fills its path
    /// parameters in order. Either way the answer and the errors are the same.
    pub async fn run<C: Command>(
        &self,
        actor: &str,
        now: Timestamp,
        path: &[&str],
        req: C,
    ) -> Result<C::Output> {
        match &self.kind {
            Kind::Local(app) => {
                let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                req.run(app, actor, now, &path).await
            }
            Kind::Remote(r) => r.send(path, &req).await,
        }
    }
}
