//! The part of the CDEvents vocabulary (spec v0.4.1) that Sluice speaks:
//! which Sluice events have a CDEvents equivalent, and under which type.
//! A webhook channel with `format = "cdevents"` sends only these; routing
//! (`crate::notify::route`) leaves the others out for such a channel, so no
//! message is written that could never be sent.
//!
//! Building the event body (context, subject, content) is the application
//! layer's work; this table is the one place that says what maps to what.

/// The CDEvents specification version the events follow (`context.version`).
pub const SPEC_VERSION: &str = "0.4.1";

/// Sluice event -> CDEvents type, in one table.
///
/// `patch.ready` is the `change.merged` of CDEvents: the moment a patch's
/// change is accepted into its line. A forge webhook reports it when the
/// pull or merge request naming the patch is merged; by hand it is
/// `patch ready` once the reviews allow it.
const TYPES: &[(&str, &str)] = &[
    ("release.deployed", "dev.cdevents.service.deployed.0.2.0"),
    (
        "release.rolled_back",
        "dev.cdevents.service.rolledback.0.2.0",
    ),
    ("incident.opened", "dev.cdevents.incident.detected.0.2.0"),
    ("incident.resolved", "dev.cdevents.incident.resolved.0.2.0"),
    ("patch.ready", "dev.cdevents.change.merged.0.2.0"),
];

/// The CDEvents type of a Sluice event kind, if it has an equivalent.
pub fn event_type(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

/// The Sluice events that have a CDEvents equivalent, in table order.
pub fn mapped() -> impl Iterator<Item = &'static str> {
    TYPES.iter().map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_event_is_notifiable_and_typed_by_the_spec_pattern() {
        for k in mapped() {
            assert!(crate::event::NOTIFIABLE.contains(&k), "{k}");
            let t = event_type(k).unwrap();
            // dev.cdevents.<subject>.<predicate>.<major>.<minor>.<patch>
            let parts: Vec<&str> = t.split('.').collect();
            assert_eq!(parts.len(), 7, "{t}");
            assert_eq!(&parts[..2], ["dev", "cdevents"], "{t}");
            assert!(parts[4..].iter().all(|p| p.parse::<u32>().is_ok()), "{t}");
        }
        assert_eq!(
            event_type("incident.opened"),
            Some("dev.cdevents.incident.detected.0.2.0")
        );
        assert_eq!(event_type("release.cut"), None);
        assert_eq!(event_type("patch.reported"), None);
    }
}
