//! A small HTTP client for talking to a real `sluice serve` from tests.

use serde_json::Value;

pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    pub base: String,
}

/// An answer: status, parsed JSON body (or the text as a JSON string), headers.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// The error envelope's code, if this is an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: sluice_app::deliver::http_client(),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// Sends a request with an optional bearer token, JSON body and extra headers.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        self.raw(
            method,
            path,
            token,
            bytes.as_deref().map(|b| ("application/json", b)),
            headers,
        )
    }

    /// Sends raw bytes with a content type.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            &url,
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b.to_vec());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.rt.block_on(async move {
            let r = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let text = r.text().await.unwrap();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Resp {
                status,
                body,
                headers,
            }
        })
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None, &[])
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(&body), &[])
    }
}
