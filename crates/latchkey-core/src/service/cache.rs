//! A short-lived, per-node cache of active organisations. Every ceremony
//! reads its org's settings, so caching saves a database round trip per
//! step on the hot path. Only active orgs are cached (an inactive org is
//! about to change: its first enrolment activates it), entries live a few
//! seconds, and this node's own settings changes evict at once; a change
//! made on another node is seen here within the TTL (docs/deployment.md).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::clock::Timestamp;
use crate::ids::OrgId;
use crate::model::{Org, PasskeyStatus};

pub const ORG_CACHE_TTL_SECS: i64 = 5;
/// Bounds memory if a deployment has very many orgs: the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct OrgCache {
    entries: RwLock<HashMap<OrgId, (Arc<Org>, Timestamp)>>,
}

impl OrgCache {
    /// Shared, not copied: an org's settings hold a dozen strings.
    pub fn get(&self, id: &OrgId, now: Timestamp) -> Option<Arc<Org>> {
        let entries = self.entries.read().ok()?;
        let (org, fetched) = entries.get(id)?;
        let fresh = *fetched <= now && now < fetched.plus_secs(ORG_CACHE_TTL_SECS);
        fresh.then(|| org.clone())
    }

    pub fn put(&self, org: &Arc<Org>, now: Timestamp) {
        if org.passkey_status != PasskeyStatus::Active {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(org.id.clone(), (org.clone(), now));
        }
    }

    pub fn evict(&self, id: &OrgId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrgSettings;

    fn org(status: PasskeyStatus) -> Arc<Org> {
        Arc::new(Org {
            id: OrgId::generate(),
            name: "Acme".into(),
            passkey_status: status,
            settings: OrgSettings::new("localhost", "Acme", vec!["http://localhost".into()]),
            created_at: Timestamp(0),
        })
    }

    #[test]
    fn active_orgs_are_served_until_the_ttl_and_inactive_ones_never() {
        let cache = OrgCache::default();
        let active = org(PasskeyStatus::Active);
        let inactive = org(PasskeyStatus::Inactive);
        cache.put(&active, Timestamp(1000));
        cache.put(&inactive, Timestamp(1000));
        assert!(cache
            .get(&active.id, Timestamp(1000).plus_secs(4))
            .is_some());
        assert!(cache
            .get(&active.id, Timestamp(1000).plus_secs(5))
            .is_none());
        assert!(cache.get(&inactive.id, Timestamp(1000)).is_none());
        cache.evict(&active.id);
        assert!(cache.get(&active.id, Timestamp(1000)).is_none());
    }
}
