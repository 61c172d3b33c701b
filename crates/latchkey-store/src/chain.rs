//! The audit hash chain, computed in one place for both backends. Each org's
//! events form a chain: `hash = SHA-256(prev_hash || canonical(event))`, so
//! editing or deleting a stored event breaks every later hash. The canonical
//! form is length-prefixed fields, with `data` as compact JSON with sorted
//! keys (serde_json's default map), which survives a JSONB round trip.

use latchkey_core::audit::AuditEvent;
use sha2::{Digest, Sha256};

/// One length-prefixed field of a hashed record.
pub(crate) fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// The hash of event number `seq` of its org, chained to `prev` (None for the first).
pub(crate) fn event_hash(prev: Option<&[u8]>, seq: i64, event: &AuditEvent) -> Vec<u8> {
    stored_event_hash(
        prev,
        seq,
        &StoredEvent {
            org_id: event.org_id.as_str(),
            at: event.at.millis(),
            kind: event.kind.as_str(),
            actor: event.actor.as_ref().map(|a| a.as_str()),
            subject: &event.subject,
            data: &event.data,
        },
    )
}

/// An event as stored (its kind as text), for checking a chain read back.
pub(crate) struct StoredEvent<'a> {
    pub org_id: &'a str,
    pub at: i64,
    pub kind: &'a str,
    pub actor: Option<&'a str>,
    pub subject: &'a str,
    pub data: &'a serde_json::Value,
}

pub(crate) fn stored_event_hash(prev: Option<&[u8]>, seq: i64, event: &StoredEvent<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    field(&mut h, prev.unwrap_or_default());
    field(&mut h, &seq.to_be_bytes());
    field(&mut h, event.org_id.as_bytes());
    field(&mut h, &event.at.to_be_bytes());
    field(&mut h, event.kind.as_bytes());
    field(&mut h, event.actor.unwrap_or_default().as_bytes());
    field(&mut h, event.subject.as_bytes());
    field(&mut h, event.data.to_string().as_bytes());
    h.finalize().to_vec()
}
