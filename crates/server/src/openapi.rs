//! The OpenAPI 3.1 document, built from the operation table in [`crate::api`]
//! and the JSON Schemas derived from the request types.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::Op;
use crate::error::Envelope;

/// The document served at `/api/v1/openapi.json`.
pub fn document(ops: &[Op]) -> Value {
    // OpenAPI 3.1 is JSON Schema 2020-12, with shared definitions under components.
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    let mut paths: Map<String, Value> = Map::new();
    let envelope = generator.subschema_for::<Envelope>();
    for op in ops {
        let mut params: Vec<Value> = path_params(op.path)
            .into_iter()
            .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(q) = op.query {
            let schema = q(&mut generator);
            let v = schema.as_value();
            let required: Vec<&str> = v
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = v.get("properties").and_then(Value::as_object) {
                for (name, s) in props {
                    let mut s = s.clone();
                    let description = s
                        .as_object_mut()
                        .and_then(|o| o.remove("description"))
                        .unwrap_or(Value::Null);
                    let mut p = json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": s});
                    if !description.is_null() {
                        p["description"] = description;
                    }
                    params.push(p);
                }
            }
        }
        let ok = if op.created { "201" } else { "200" };
        let answer = (op.response)(&mut generator).to_value();
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "security": [{"bearer": []}],
            "responses": {
                ok: {
                    "description": if op.created { "Created" } else { "OK" },
                    "content": {"application/json": {"schema": answer}},
                },
                "default": {
                    "description": "The error envelope: 401 no or bad token, 404 unknown patch or release, 409 refused by the process or changed concurrently, 413 body too large, 422 invalid request.",
                    "content": {"application/json": {"schema": envelope.clone()}},
                },
            },
        });
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        if let Some(b) = op.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": b(&mut generator)}},
            });
        }
        if op.method != axum::http::Method::GET {
            let p = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut p = p;
            p.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "A repeated key returns the first answer and changes nothing.",
                "schema": {"type": "string", "maxLength": 255},
            }));
            operation["parameters"] = Value::Array(p);
        }
        let entry = paths
            .entry(format!("/api/v1{}", op.path))
            .or_insert_with(|| json!({}));
        entry[op.method.as_str().to_ascii_lowercase()] = operation;
    }
    let defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sluice API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every command of the sluice CLI, over HTTP. Writes accept an Idempotency-Key header.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `sluice token create --user EMAIL`."}},
        },
    })
}

pub use sluice_app::wire::command::path_params;

/// A release version as the API takes it: SemVer, with an optional `v`.
/// (Numbers of at most 16 digits: SemVer's must fit in 64 bits.)
const SEMVER: &str = r"^v?(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})(-(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]{0,15}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$";
/// A release line: `main` or `MAJOR.MINOR`.
const LINE: &str = r"^(main|(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))$";
/// A link people, CI and alerts may hand in: absolute http(s) with a host, no
/// space or control character (`sluice_core::link`); empty means none.
const LINK: &str = r"^$|^[hH][tT][tT][pP][sS]?://([^\s\x00-\x20\x7f-\x9f/?#\\@]*@)?[^\s\x00-\x20\x7f-\x9f/?#\\@:][^\s\x00-\x20\x7f-\x9f/?#\\@]*([/?#][^\s\x00-\x20\x7f-\x9f]*)?$";
/// Text that must say something: at least one character that is not a space.
const SAYS_SOMETHING: &str = r"\S";

/// Makes the document exactly as strict as this server: the names the
/// process defines (environments, suites, roles, kinds, severities, checklist
/// items) become enums, versions and lines get their patterns, required texts
/// a non-blank pattern, and integers the range the server reads. Only request
/// parameters and bodies are tightened; answers keep the general shapes.
pub fn tighten(doc: &mut Value, p: &sluice_core::process::Process) {
    let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
    let envs = strings(p.environments.iter().map(|e| e.name.clone()).collect());
    let mut suites: Vec<String> = p
        .environments
        .iter()
        .flat_map(|e| e.tests.iter().chain(&e.after_deploy_tests).cloned())
        .collect();
    suites.sort();
    suites.dedup();
    let suites = strings(suites);
    let roles = strings(p.roles.keys().cloned().collect());
    let kinds = strings(p.kinds.iter().map(|k| k.name.clone()).collect());
    let severities = strings(p.severities.iter().map(|s| s.name.clone()).collect());
    let items = strings(p.checklist.iter().map(|c| c.id.clone()).collect());
    let statuses = sluice_core::model::PatchStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("|");
    // Empty means the open ones.
    let status_list = format!(r"^(\s*|\s*({statuses})\s*(,\s*({statuses})\s*)*)$");
    let outbox_status = strings(vec!["pending".into(), "delivered".into(), "dead".into()]);
    let formats = strings(["md", "html", "text", "slack"].map(String::from).to_vec());
    let lines = strings(
        std::iter::once("main".to_string())
            .chain(p.project.maintained_lines.iter().map(|l| l.to_string()))
            .collect(),
    );
    let sources = strings(
        sluice_core::model::SourceKind::ALL
            .iter()
            .map(|k| k.to_string())
            .collect(),
    );

    // (component or "" for any, property or parameter name) -> constraints.
    let rule = |owner: &str, name: &str| -> Option<Value> {
        Some(match (owner, name) {
            ("Promote", "to") => json!({"enum": envs}),
            ("Flush", "max") => json!({"minimum": 0, "maximum": sluice_app::wire::MAX_COUNT}),
            ("Rollback", "to") | ("ImportRelease", "version") => json!({"pattern": SEMVER}),
            // Writes name a line the process maintains; a filter any line.
            ("PatchFilter", "line") => json!({"pattern": LINE}),
            ("PortPatch", "to") | (_, "line" | "lines") => json!({"enum": lines}),
            ("CutRelease" | "PlanRelease", "target") => json!({"minLength": 1}),
            ("ReportPatch", "source") => json!({"enum": sources}),
            (_, "url") => json!({"maxLength": 512, "pattern": LINK}),
            ("NotificationQuery", "status") => json!({"enum": outbox_status}),
            ("PatchFilter", "status") => json!({"pattern": status_list}),
            ("PatchFilter", "kind" | "severity") => return None,
            (_, "env") => json!({"enum": envs}),
            (_, "suite") => json!({"enum": suites}),
            (_, "role") => json!({"enum": roles}),
            (_, "kind") => json!({"enum": kinds}),
            (_, "severity") => json!({"enum": severities}),
            (_, "item") => json!({"enum": items}),
            (_, "version") => json!({"pattern": SEMVER}),
            (_, "format") => json!({"enum": formats}),
            (_, "title" | "reason") | ("RetroText", "text") => {
                json!({"minLength": 1, "pattern": SAYS_SOMETHING})
            }
            _ => return None,
        })
    };
    // Path and query parameters.
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, ops) in paths.iter_mut() {
            let Some(ops) = ops.as_object_mut() else {
                continue;
            };
            // Which query type the parameters come from, where a name alone is
            // ambiguous (`status` of patches or of notifications).
            let owner = if path.ends_with("/patches") {
                "PatchFilter"
            } else if path.ends_with("/notifications") {
                "NotificationQuery"
            } else {
                ""
            };
            for op in ops.values_mut() {
                let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                    continue;
                };
                for param in params {
                    let name = param["name"].as_str().unwrap_or("").to_string();
                    if let Some(schema) = param.get_mut("schema") {
                        constrain(schema, rule(owner, &name));
                        integer_range(schema);
                    }
                }
            }
        }
    }
    // Request bodies: the components they name.
    let bodies: Vec<String> = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_object)
        .flat_map(|m| m.values())
        .filter_map(|op| {
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        })
        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
        .map(String::from)
        .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        // A patch reported from a retrospective names it.
        if let Some(report) = schemas
            .get_mut("ReportPatch")
            .and_then(Value::as_object_mut)
        {
            report.insert(
                "if".into(),
                json!({"properties": {"source": {"const": "retro"}}, "required": ["source"]}),
            );
            report.insert(
                "then".into(),
                json!({"required": ["reference"], "properties": {"reference": {"type": "string", "minLength": 1, "pattern": SAYS_SOMETHING}}}),
            );
        }
        for name in bodies {
            let Some(props) = schemas
                .get_mut(&name)
                .and_then(|s| s.get_mut("properties"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (prop, schema) in props.iter_mut() {
                let r = rule(&name, prop);
                match schema.get_mut("items") {
                    // A list of lines: each item.
                    Some(items) if prop == "lines" => constrain(items, r),
                    _ => constrain(schema, r),
                }
                integer_range(schema);
            }
        }
    }
}

/// Merges `extra` into a string schema (also one that allows null).
fn constrain(schema: &mut Value, extra: Option<Value>) {
    let (Some(extra), Some(obj)) = (extra, schema.as_object_mut()) else {
        return;
    };
    let nullable = obj
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|x| x == "null"));
    for (k, v) in extra.as_object().into_iter().flatten() {
        let mut v = v.clone();
        // An optional value may still be null.
        if k == "enum"
            && nullable
            && let Some(a) = v.as_array_mut()
        {
            a.push(Value::Null);
        }
        obj.insert(k.clone(), v);
    }
}

/// The range the server reads an integer into, from its format.
fn integer_range(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let (min, max): (i64, u64) = match obj.get("format").and_then(Value::as_str) {
        Some("uint32") => (0, u64::from(u32::MAX)),
        Some("int64") => (i64::MIN, i64::MAX as u64),
        Some("uint" | "uint64") => (0, i64::MAX as u64),
        _ => return,
    };
    obj.entry("minimum").or_insert(json!(min));
    obj.entry("maximum").or_insert(json!(max));
}
