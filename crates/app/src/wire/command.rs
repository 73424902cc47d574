//! The command contract: each request type of the API names its route, its
//! answer and how it runs in the application layer. The server routes and
//! documents it, and the CLI runs it in this process or sends it to a server,
//! both from this one description, so no interface restates a command.

use std::future::Future;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::App;

/// The HTTP method of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// Where a command's request travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A JSON object in the body.
    Body,
    /// The query string.
    Query,
    /// Nothing beyond the path: the request type has no fields.
    Nothing,
}

/// One command of the application, as every interface sees it.
pub trait Command: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    /// What it answers with.
    type Output: Serialize + DeserializeOwned + JsonSchema + Send + 'static;
    const METHOD: Method;
    /// Under `/api/v1`, with `{name}` path parameters, filled in order.
    const PATH: &'static str;
    /// The OpenAPI operation id.
    const ID: &'static str;
    const SUMMARY: &'static str;
    const INPUT: Input;
    /// It creates something (201 over HTTP).
    const CREATED: bool = false;

    /// Runs the command for `actor` at `now`; `path` holds the path
    /// parameters, in the order [`Command::PATH`] names them.
    fn run(
        self,
        app: &App,
        actor: &str,
        now: Timestamp,
        path: &[String],
    ) -> impl Future<Output = crate::Result<Self::Output>> + Send;
}

/// The names of a path's `{parameters}`, in order.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The path with its parameters filled in order, each percent-encoded as one segment.
pub fn fill_path(path: &str, args: &[&str]) -> String {
    let mut args = args.iter();
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                encode_segment(args.next().copied().unwrap_or_default())
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `s` as one path segment of a URI: every byte but RFC 3986's unreserved
/// characters percent-encoded (UTF-8 first), so `/`, spaces and non-ASCII
/// letters cannot change or break the reference it goes into.
pub(crate) fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Everything but the unreserved characters of RFC 3986.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `i`th path parameter (empty if the route has fewer).
pub(crate) fn at(path: &[String], i: usize) -> &str {
    path.get(i).map_or("", String::as_str)
}

/// One row of the command table: the request type, its answer, its route and
/// how it runs.
macro_rules! command {
    (
        $ty:ty => $out:ty {
            $method:ident $path:literal, $input:ident, $id:literal, $summary:literal $(, created = $created:literal)?;
            |$req:pat_param, $app:ident, $who:pat_param, $now:pat_param, $p:pat_param| $body:expr
        }
    ) => {
        impl $crate::wire::command::Command for $ty {
            type Output = $out;
            const METHOD: $crate::wire::command::Method = $crate::wire::command::Method::$method;
            const PATH: &'static str = $path;
            const ID: &'static str = $id;
            const SUMMARY: &'static str = $summary;
            const INPUT: $crate::wire::command::Input = $crate::wire::command::Input::$input;
            $(const CREATED: bool = $created;)?
            async fn run(
                self,
                $app: &$crate::App,
                who: &str,
                now: jiff::Timestamp,
                path: &[String],
            ) -> $crate::Result<$out> {
                let $req = self;
                let $who = who;
                let $now = now;
                let $p = path;
                $body.await
            }
        }
    };
}
pub(crate) use command;
