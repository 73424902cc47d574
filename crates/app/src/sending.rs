//! What every transport shares, so that the Slack and webhook sender
//! (`deliver`) and the email sender (`email`) depend on it and not on each
//! other: the error a send ends with, and `${VAR}` resolution.

/// A failed send. Retryable failures are tried again later; the others make
/// the message dead at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub retryable: bool,
    pub message: String,
}

impl DeliveryError {
    pub fn retry(m: impl Into<String>) -> Self {
        DeliveryError {
            retryable: true,
            message: m.into(),
        }
    }
    pub fn fatal(m: impl Into<String>) -> Self {
        DeliveryError {
            retryable: false,
            message: m.into(),
        }
    }
}

/// Looks up an environment variable by name.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A `${VAR}` reference resolved, or a literal value as is. A missing
/// variable is named, never its value (there is none) nor anything resolved.
pub(crate) fn resolve(
    env: &EnvLookup,
    what: &str,
    channel: &str,
    value: &str,
) -> std::result::Result<String, DeliveryError> {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        None => Ok(value.to_string()),
        Some(var) => match env(var) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(DeliveryError::fatal(format!(
                "environment variable {var} is not set (the {what} of {channel})"
            ))),
        },
    }
}
