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

/// `{name}` segments of a path template.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}
