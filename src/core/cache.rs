//! The opt-in read cache: users' metadata for a TTL, bounded in size, kept coherent with this
//! client's own writes.
//!
//! Coherence rules:
//! - every successful write stores the user Clerk returned (the state right after that write),
//!   so a read after a write in the same process sees the write without a request;
//! - a response is stored only if no write to that user *started* after its request did: a read
//!   that raced a write, or a write that raced a later write, might carry older state;
//! - any failed write forgets the user (it may or may not have been applied).
//!
//! Time is passed in (milliseconds), which keeps this module pure.

use std::collections::HashMap;

use super::MetadataKind;

/// A user's three metadata fields as Clerk returned them: raw JSON objects, exactly as sent
/// (`None`: absent or not an object).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserFields {
    pub public: Option<String>,
    pub private: Option<String>,
    pub unsafe_: Option<String>,
}

impl UserFields {
    pub fn get(&self, kind: MetadataKind) -> Option<&str> {
        match kind {
            MetadataKind::Public => self.public.as_deref(),
            MetadataKind::Private => self.private.as_deref(),
            MetadataKind::Unsafe => self.unsafe_.as_deref(),
        }
    }
}

/// Marks when a request began, in the order of all writes this client started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(u64);

#[derive(Debug)]
struct Entry {
    fields: UserFields,
    stored_at: f64,
}

#[derive(Debug)]
pub struct Cache {
    ttl_ms: f64,
    max_users: usize,
    entries: HashMap<String, Entry>,
    /// The sequence number of the writes started so far, across all users.
    sequence: u64,
    /// Per user, the sequence number of the last write started.
    last_write: HashMap<String, u64>,
    /// Stamps of requests still in flight (a multiset; a plain vector, as a tree map would add
    /// kilobytes of wasm for a list that holds one entry per request in flight).
    in_flight: Vec<u64>,
}

impl Cache {
    pub fn new(ttl_ms: f64, max_users: usize) -> Cache {
        Cache {
            ttl_ms,
            max_users: max_users.max(1),
            entries: HashMap::new(),
            sequence: 0,
            last_write: HashMap::new(),
            in_flight: Vec::new(),
        }
    }

    /// Whether this cache keeps entries at all (a TTL of 0 keeps only the write bookkeeping
    /// that single-flight reads rely on).
    pub fn is_enabled(&self) -> bool {
        self.ttl_ms > 0.0
    }

    /// Whether a read that began at `stamp` still reflects every write to this user started so
    /// far, so that a new caller may share its answer.
    pub fn may_share(&self, user_id: &str, stamp: Stamp) -> bool {
        self.last_write
            .get(user_id)
            .is_none_or(|&last| last <= stamp.0)
    }

    /// The cached fields, if stored less than a TTL ago.
    pub fn get(&self, user_id: &str, now: f64) -> Option<&UserFields> {
        self.entries
            .get(user_id)
            .filter(|entry| now - entry.stored_at < self.ttl_ms)
            .map(|entry| &entry.fields)
    }

    /// Call when a read request starts; pair with [`Cache::finish`].
    pub fn begin_read(&mut self) -> Stamp {
        self.track(self.sequence)
    }

    /// Call when a write request starts: responses of requests started earlier are now suspect.
    /// Pair with [`Cache::finish`].
    pub fn begin_write(&mut self, user_id: &str) -> Stamp {
        self.sequence += 1;
        self.last_write.insert(user_id.to_owned(), self.sequence);
        self.track(self.sequence)
    }

    /// Call when a write's answer (or failure) is in. Reads that began before this moment, even
    /// after the write began, may carry the state from before it: from now on they may neither
    /// be shared nor stored. Returns the stamp under which the write's own answer is stored.
    pub fn write_completed(&mut self, user_id: &str) -> Stamp {
        self.sequence += 1;
        self.last_write.insert(user_id.to_owned(), self.sequence);
        Stamp(self.sequence)
    }

    fn track(&mut self, at: u64) -> Stamp {
        self.in_flight.push(at);
        Stamp(at)
    }

    /// Stores a response of a request that started at `stamp`, unless a write to this user
    /// started after it (then the response may be older than what Clerk has: forget instead).
    pub fn store(&mut self, user_id: &str, stamp: Stamp, fields: UserFields, now: f64) {
        if !self.is_enabled() {
            return;
        }
        if self
            .last_write
            .get(user_id)
            .is_some_and(|&last| last > stamp.0)
        {
            self.entries.remove(user_id);
            return;
        }
        if !self.entries.contains_key(user_id) && self.entries.len() >= self.max_users {
            self.evict_oldest();
        }
        self.entries.insert(
            user_id.to_owned(),
            Entry {
                fields,
                stored_at: now,
            },
        );
    }

    /// Forgets a user (a failed write, whose effect is unknown).
    pub fn invalidate(&mut self, user_id: &str) {
        self.entries.remove(user_id);
    }

    /// The request that began at `stamp` is over (answered or failed).
    pub fn finish(&mut self, stamp: Stamp) {
        if let Some(index) = self.in_flight.iter().position(|&at| at == stamp.0) {
            self.in_flight.swap_remove(index);
        }
        // A user's last write matters only to requests that began before it: once none is in
        // flight, forget it, so memory stays bounded by the cache, not by every user ever written.
        if self.last_write.len() > 2 * self.max_users {
            let oldest_in_flight = self.in_flight.iter().copied().min().unwrap_or(u64::MAX);
            self.last_write
                .retain(|_, &mut last| last > oldest_in_flight);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by(|a, b| a.1.stored_at.total_cmp(&b.1.stored_at))
            .map(|(user, _)| user.clone());
        if let Some(user) = oldest {
            self.entries.remove(&user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_cache_stores_nothing() {
        let mut cache = Cache::new(0.0, 10);
        let stamp = cache.begin_read();
        cache.store("u", stamp, fields("a"), 0.0);
        cache.finish(stamp);
        assert!(cache.is_empty());
        assert!(cache.get("u", 0.0).is_none());
    }

    fn fields(role: &str) -> UserFields {
        UserFields {
            public: Some(format!(r#"{{"role":"{role}"}}"#)),
            ..UserFields::default()
        }
    }

    #[test]
    fn reads_within_the_ttl_hit_and_expire_after() {
        let mut cache = Cache::new(1000.0, 10);
        let stamp = cache.begin_read();
        cache.store("u", stamp, fields("a"), 0.0);
        cache.finish(stamp);
        assert_eq!(cache.get("u", 999.0), Some(&fields("a")));
        assert_eq!(cache.get("u", 1000.0), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_stored() {
        let mut cache = Cache::new(1000.0, 10);
        let read = cache.begin_read();
        let write = cache.begin_write("u");
        cache.store("u", write, fields("new"), 1.0);
        cache.store("u", read, fields("old"), 2.0);
        // The older read must not stand in for the write's state: the user is dropped instead.
        assert_eq!(cache.get("u", 3.0), None);
        // A write to another user does not disturb this user's reads.
        let read = cache.begin_read();
        cache.begin_write("other");
        cache.store("u", read, fields("fresh"), 4.0);
        assert_eq!(cache.get("u", 5.0), Some(&fields("fresh")));
    }

    #[test]
    fn a_read_that_began_during_a_write_is_neither_shared_nor_stored_after_it() {
        let mut cache = Cache::new(1000.0, 10);
        let write = cache.begin_write("u");
        let read = cache.begin_read(); // began after the write, answered before it
        assert!(cache.may_share("u", read));
        let done = cache.write_completed("u");
        cache.store("u", done, fields("new"), 1.0);
        cache.finish(write);
        assert!(
            !cache.may_share("u", read),
            "a later caller must not join it"
        );
        cache.store("u", read, fields("old"), 2.0);
        assert_eq!(
            cache.get("u", 3.0),
            None,
            "and its answer must not be cached"
        );
    }

    #[test]
    fn only_the_last_started_write_is_stored() {
        let mut cache = Cache::new(1000.0, 10);
        let first = cache.begin_write("u");
        let second = cache.begin_write("u");
        cache.store("u", second, fields("second"), 1.0);
        assert_eq!(cache.get("u", 2.0), Some(&fields("second")));
        cache.store("u", first, fields("first"), 3.0);
        assert_eq!(cache.get("u", 4.0), None);
    }

    #[test]
    fn size_is_bounded_oldest_first() {
        let mut cache = Cache::new(1e9, 2);
        for (i, user) in ["a", "b", "c"].iter().enumerate() {
            let stamp = cache.begin_read();
            cache.store(user, stamp, fields(user), i as f64);
            cache.finish(stamp);
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a", 5.0), None);
        assert!(cache.get("c", 5.0).is_some());
    }

    #[test]
    fn write_bookkeeping_stays_bounded_but_protects_requests_in_flight() {
        let mut cache = Cache::new(1000.0, 2);
        let slow_read = cache.begin_read();
        let racing_write = cache.begin_write("u");
        cache.finish(racing_write);
        for i in 0..100 {
            let stamp = cache.begin_write(&format!("user_{i}"));
            cache.finish(stamp);
        }
        // The slow read is still in flight, so the write to "u" after it is remembered.
        cache.store("u", slow_read, fields("stale"), 1.0);
        assert_eq!(cache.get("u", 2.0), None);
        cache.finish(slow_read);
        let stamp = cache.begin_write("last");
        cache.finish(stamp);
        assert!(cache.last_write.len() <= 5, "{}", cache.last_write.len());
    }

    #[test]
    fn invalidation_forgets_the_user() {
        let mut cache = Cache::new(1000.0, 10);
        let stamp = cache.begin_read();
        cache.store("u", stamp, fields("a"), 0.0);
        cache.invalidate("u");
        assert!(cache.is_empty());
    }
}
