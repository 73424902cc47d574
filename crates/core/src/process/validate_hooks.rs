//! Stage two for `[webhooks]`: secrets are `${VAR}` references, and every
//! severity, kind, environment and suite a mapping names exists.

use super::diag::{Sink, list, suggest};
use super::model::*;
use super::raw_hooks::*;
use super::validate::Names;
use super::validate_env::is_var_ref;
use super::walk::Sp;

fn secret(s: &mut Sink<'_>, v: &Option<Sp<String>>, key: &str, var: &str) -> String {
    let Some(v) = v else {
        return String::new();
    };
    if !is_var_ref(&v.v) {
        s.error(
            v.span.clone(),
            format!("secrets must be ${{VAR}} references: a webhook {key} is a secret"),
            Some(format!(
                "put it in an environment variable and write {key} = \"${{{var}}}\""
            )),
        );
    }
    v.v.clone()
}

fn mapped(
    s: &mut Sink<'_>,
    pairs: &[(Sp<String>, Sp<String>)],
    known: &[String],
    what: &str,
    defined: &str,
) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(_, name)| Names::check_in(s, known, name, what, defined))
        .map(|(label, name)| (label.v.clone(), name.v.clone()))
        .collect()
}

fn forge(
    s: &mut Sink<'_>,
    names: &Names,
    kinds: &[String],
    envs: &[Environment],
    f: &RawForge,
    key: &str,
    var: &str,
) -> ForgeHooks {
    let mut workflows = Vec::new();
    for w in &f.workflows {
        let (Some(suite), Some(env)) = (&w.suite, &w.env) else {
            continue;
        };
        if !Names::check_in(
            s,
            &names.environments,
            env,
            "environment",
            "[[environments]]",
        ) {
            continue;
        }
        let e = envs.iter().find(|e| e.name == env.v);
        let suites: Vec<&str> = e
            .into_iter()
            .flat_map(|e| e.tests.iter().chain(&e.after_deploy_tests))
            .map(String::as_str)
            .collect();
        if !suites.contains(&suite.v.as_str()) {
            let rest = if suites.is_empty() {
                format!(
                    "environment `{}` runs no suites; list it in `tests` of that environment",
                    env.v
                )
            } else {
                format!(
                    "environment `{}` runs: {} (its `tests` and `after_deploy_tests`)",
                    env.v,
                    list(&suites)
                )
            };
            s.error(
                suite.span.clone(),
                format!("suite `{}` does not run in `{}`", suite.v, env.v),
                Some(suggest(&suite.v, &suites, rest)),
            );
            continue;
        }
        workflows.push(WorkflowMap {
            name: w.name.v.clone(),
            suite: suite.v.clone(),
            env: env.v.clone(),
        });
    }
    ForgeHooks {
        secret: secret(s, &f.secret, key, var),
        labels: f.labels.iter().map(|l| l.v.clone()).collect(),
        severity_labels: mapped(
            s,
            &f.severity_labels,
            &names.severities,
            "severity",
            "[severities]",
        ),
        kind_labels: mapped(s, &f.kind_labels, kinds, "kind", "[kinds]"),
        workflows,
    }
}

fn alerts(s: &mut Sink<'_>, names: &Names, a: &RawAlerts, key: &str, var: &str) -> AlertHooks {
    let env = a.env.as_ref().and_then(|e| {
        Names::check_in(s, &names.environments, e, "environment", "[[environments]]")
            .then(|| e.v.clone())
    });
    for l in [&a.env_label, &a.service_label].into_iter().flatten() {
        if l.v.trim().is_empty() {
            s.error(
                l.span.clone(),
                "a label name is empty",
                Some("write the label's name, for example \"environment\"".to_string()),
            );
        }
    }
    AlertHooks {
        secret: secret(s, &a.secret, key, var),
        env_label: a
            .env_label
            .as_ref()
            .map_or("environment".to_string(), |l| l.v.clone()),
        service_label: a
            .service_label
            .as_ref()
            .map_or("service".to_string(), |l| l.v.clone()),
        env,
        severity_levels: mapped(
            s,
            &a.severity_levels,
            &names.severities,
            "severity",
            "[severities]",
        ),
    }
}

pub(crate) fn webhooks(
    s: &mut Sink<'_>,
    names: &Names,
    kinds: &[String],
    envs: &[Environment],
    raw: &RawWebhooks,
) -> Webhooks {
    Webhooks {
        github: raw
            .github
            .as_ref()
            .map(|f| forge(s, names, kinds, envs, f, "secret", "GITHUB_WEBHOOK_SECRET")),
        gitlab: raw
            .gitlab
            .as_ref()
            .map(|f| forge(s, names, kinds, envs, f, "token", "GITLAB_WEBHOOK_TOKEN")),
        alertmanager: raw
            .alertmanager
            .as_ref()
            .map(|a| alerts(s, names, a, "token", "ALERTMANAGER_WEBHOOK_TOKEN")),
        grafana: raw
            .grafana
            .as_ref()
            .map(|a| alerts(s, names, a, "token", "GRAFANA_WEBHOOK_TOKEN")),
        sentry: raw
            .sentry
            .as_ref()
            .map(|a| alerts(s, names, a, "secret", "SENTRY_WEBHOOK_SECRET")),
    }
}
