//! A setting that is accepted and does nothing is a defect. This walks every
//! key of the process-file schema and fails for one that is neither read
//! outside the loader (by a decision, the application, the server or the
//! CLI) nor listed below as descriptive only, with the reason. A new key
//! therefore has to act somewhere, or say why it only describes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Keys that describe and decide nothing, and why.
const DESCRIPTIVE: &[(&str, &str, &str)] = &[
    ("[project]", "purpose", "shown in the process document"),
    ("[project]", "scope", "shown in the process document"),
    (
        "environments.freezes",
        "reason",
        "shown in refusals and announcements",
    ),
    ("[[checklist]]", "text", "shown on the checklist"),
];

/// Keys read through a field or model method of another name (table, key,
/// what the code outside the loader calls).
const FIELDS: &[(&str, &str, &str)] = &[
    ("[channels.NAME]", "rate", "rate_for"),
    ("[channels.NAME]", "format", "webhook_sends"),
    ("[webhooks.github]", "workflows", "workflow"),
    ("[webhooks.gitlab]", "workflows", "workflow"),
    ("[webhooks.alertmanager]", "severity_levels", "severity_of"),
    ("[webhooks.grafana]", "severity_levels", "severity_of"),
    ("[webhooks.sentry]", "severity_levels", "severity_of"),
];

/// The loader's own files: reading a field there is not acting on it.
const LOADER: &[&str] = &[
    "raw.rs",
    "raw_hooks.rs",
    "validate.rs",
    "validate_env.rs",
    "validate_hooks.rs",
    "validate_notify.rs",
    "walk.rs",
    "model.rs",
    "diag.rs",
    "show.rs",
    "doc.rs",
    "default.toml",
];

fn sources(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs" || x == "j2")
            && !(p.components().any(|c| c.as_os_str() == "process")
                && LOADER.iter().any(|f| p.ends_with(f)))
        {
            out.insert(p.clone(), std::fs::read_to_string(&p).unwrap());
        }
    }
}

#[test]
fn every_key_acts_or_says_it_describes() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut code = BTreeMap::new();
    for c in ["core", "app", "server", "cli", "store", "git"] {
        sources(&crates.join(c).join("src"), &mut code);
        let templates = crates.join(c).join("templates");
        if templates.is_dir() {
            sources(&templates, &mut code);
        }
    }
    assert!(
        code.len() > 40,
        "the walk found {} source files",
        code.len()
    );
    let mut idle = Vec::new();
    let mut seen = 0;
    for (table, keys) in sluice_core::process::schema() {
        for key in *keys {
            seen += 1;
            if DESCRIPTIVE.iter().any(|(t, k, _)| t == table && k == key) {
                continue;
            }
            let field = FIELDS
                .iter()
                .find(|(t, k, _)| t == table && k == key)
                .map_or(*key, |(_, _, f)| *f);
            let needle = format!(".{field}");
            let read = code.values().any(|text| {
                text.match_indices(&needle).any(|(i, _)| {
                    // `.field` not followed by more of an identifier.
                    !text[i + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            });
            if !read {
                idle.push(format!("{table} {key} (field `{field}`)"));
            }
        }
    }
    assert!(seen > 100, "the schema has only {seen} keys");
    assert!(
        idle.is_empty(),
        "accepted by the loader, read nowhere else and not listed as descriptive:\n{}",
        idle.join("\n")
    );
}

/// Every event a `[[notify]]` rule may name is written somewhere (as the kind
/// of an `Event::new` outside the list itself), so every rule the default
/// file ships, and any a team writes, can fire.
#[test]
fn every_notifiable_event_is_emitted() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut code = BTreeMap::new();
    for c in ["core", "app"] {
        sources(&crates.join(c).join("src"), &mut code);
    }
    let emitted = |kind: &str| {
        let quoted = format!("\"{kind}\"");
        code.iter()
            .filter(|(p, _)| !p.ends_with("event.rs"))
            .any(|(_, text)| {
                text.match_indices("Event::new(").any(|(i, _)| {
                    text[i..]
                        .chars()
                        .take(120)
                        .collect::<String>()
                        .contains(&quoted)
                })
            })
    };
    let silent: Vec<&str> = sluice_core::event::NOTIFIABLE
        .iter()
        .copied()
        .filter(|k| !emitted(k))
        .collect();
    assert!(
        silent.is_empty(),
        "notifiable but never written: {silent:?}"
    );
    // The file `sluice init` writes documents every one of them.
    let text = sluice_core::process::DEFAULT_PROCESS;
    let undocumented: Vec<&str> = sluice_core::event::NOTIFIABLE
        .iter()
        .copied()
        .filter(|k| !text.contains(k))
        .collect();
    assert!(
        undocumented.is_empty(),
        "notifiable but not listed in the default file: {undocumented:?}"
    );
    // The rules of the default file name only notifiable events.
    let p = sluice_core::process::load("sluice.toml", sluice_core::process::DEFAULT_PROCESS)
        .expect("the default file loads");
    for rule in &p.notify {
        for e in &rule.on {
            assert!(sluice_core::event::NOTIFIABLE.contains(&e.as_str()), "{e}");
        }
    }
}
