//! Where a change comes from, beyond its actor, when that must be recorded in
//! the same transaction as the change: the API request's idempotency claim
//! (so a retry after a crash learns the write committed), the webhook
//! delivery being carried out and the payload identity of the intent at hand
//! (so the same delivery or run is carried out once). An [`App`] carries one;
//! [`App::with_origin`] gives a handle whose every commit records it.

use std::sync::{Arc, Mutex};

use sluice_store::{Change, Delivery};

use crate::App;

/// What the changes of one request record besides themselves.
#[derive(Debug, Default)]
pub struct Origin {
    /// The idempotency claim (actor, key) of the API request.
    claim: Option<(String, String)>,
    /// The webhook delivery, until a change records it.
    delivery: Mutex<Option<Delivery>>,
    /// The identity of the intent being carried out, until a change records it.
    payload: Mutex<Option<Delivery>>,
}

impl Origin {
    /// An API request holding the idempotency key `key` of `actor`.
    pub fn claim(actor: String, key: String) -> Origin {
        Origin {
            claim: Some((actor, key)),
            ..Origin::default()
        }
    }

    /// A webhook delivery (None when the sender gives no delivery id).
    pub(crate) fn delivery(d: Option<Delivery>) -> Origin {
        Origin {
            delivery: Mutex::new(d),
            ..Origin::default()
        }
    }

    pub(crate) fn idempotency_claim(&self) -> Option<(String, String)> {
        self.claim.clone()
    }

    /// The intent now carried out has this identity (or none).
    pub(crate) fn set_payload(&self, p: Option<Delivery>) {
        *lock(&self.payload) = p;
    }

    /// The delivery, if no change recorded it yet.
    pub(crate) fn take_delivery(&self) -> Option<Delivery> {
        lock(&self.delivery).take()
    }

    /// Moves what is still unrecorded into a change about to be committed;
    /// `payload` too unless the change is built inside a transaction of its
    /// own. Returns what moved, for [`Origin::put_back`] if the commit fails.
    pub(crate) fn claim_into(&self, c: &mut Change, payload: bool) -> (bool, bool) {
        let d = c.delivery.is_none() && {
            c.delivery = lock(&self.delivery).take();
            c.delivery.is_some()
        };
        let p = payload && c.payload.is_none() && {
            c.payload = lock(&self.payload).take();
            c.payload.is_some()
        };
        (d, p)
    }

    /// Puts back what a change that did not commit had taken.
    pub(crate) fn put_back(&self, c: &mut Change, (d, p): (bool, bool)) {
        if d {
            *lock(&self.delivery) = c.delivery.take();
        }
        if p {
            *lock(&self.payload) = c.payload.take();
        }
    }
}

/// A poisoned lock still holds a valid `Option`: take it as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    /// This application, recording `origin` with every change it commits.
    pub fn with_origin(&self, origin: Origin) -> App {
        App {
            process: self.process.clone(),
            store: self.store.clone(),
            root: self.root.clone(),
            git: self.git.clone(),
            origin: Arc::new(origin),
            output: self.output.clone(),
        }
    }

    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }
}
