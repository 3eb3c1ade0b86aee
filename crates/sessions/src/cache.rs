//! A bounded, short-lived in-memory cache of what a credential resolves to,
//! so that checking a bearer token on every request is not several database
//! round trips.
//!
//! Entries live for a fixed time to live (TTL) after they are read from the
//! database and the cache holds at most a configured number of them. Each
//! entry carries a tag naming what it depends on (a session, a user…), and
//! [`CredentialCache::invalidate`] makes every entry with that tag unusable at
//! once. That is how a change made in this process (a revocation, a log out,
//! a role change) takes effect on the very next request here. Changes made by
//! other processes sharing the database are seen when the entry expires: the
//! TTL bounds how stale an answer can be across processes.
//!
//! A value read from the database while an invalidation of its tag is under
//! way must not be cached as if it were current. Callers therefore take a
//! [`Stamp`] before reading and hand it to [`CredentialCache::insert`], which
//! refuses values read before an invalidation of their tag.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The longest TTL the underlying cache accepts (it panics beyond); longer
/// configured TTLs are capped to it.
const MAX_TTL: Duration = Duration::from_secs(1_000 * 365 * 24 * 60 * 60);

/// The moment, in invalidations, at which a caller started reading the
/// database for a value it means to cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

/// A cached value and the tag it is invalidated by.
#[derive(Debug)]
pub struct Cached<T, V> {
    tag: T,
    /// The invalidation count up to which this entry is known to be current.
    current_to: AtomicU64,
    value: V,
}

impl<T, V> Cached<T, V> {
    /// The tag the entry is invalidated by.
    pub fn tag(&self) -> &T {
        &self.tag
    }
}

impl<T, V> Deref for Cached<T, V> {
    type Target = V;

    fn deref(&self) -> &V {
        &self.value
    }
}

/// A cache from `K` (e.g. a token hash) to `V`, each entry tagged with a
/// `T` (e.g. a session id) by which it is invalidated. Cheap to clone:
/// clones share the entries. A TTL or capacity of zero disables caching:
/// every lookup misses and nothing is kept. A TTL over 1000 years is capped
/// to 1000 years.
pub struct CredentialCache<K, T, V> {
    inner: Option<Arc<Inner<K, T, V>>>,
}

struct Inner<K, T, V> {
    entries: moka::sync::Cache<K, Arc<Cached<T, V>>>,
    /// How many invalidations have happened; written only under `log`'s lock.
    count: AtomicU64,
    log: Mutex<Log<T>>,
    ttl: Duration,
}

/// Recent invalidations, kept long enough to outlive every entry they concern.
struct Log<T> {
    /// The count at the latest invalidation of each tag, and when it happened.
    tags: HashMap<T, (u64, Instant)>,
    /// The count at the latest invalidation of everything.
    all: u64,
    /// When records older than the retention were last dropped.
    pruned: Instant,
}

impl<T: Hash + Eq> Log<T> {
    /// Whether `tag` (or everything) was invalidated after count `since`.
    fn changed_since(&self, tag: &T, since: u64) -> bool {
        self.all > since || self.tags.get(tag).is_some_and(|(at, _)| *at > since)
    }
}

impl<K, T, V> Clone for CredentialCache<K, T, V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K, T, V> fmt::Debug for CredentialCache<K, T, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    T: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("CredentialCache(disabled)"),
            Some(inner) => f
                .debug_struct("CredentialCache")
                .field("ttl", &inner.ttl)
                .field("entries", &inner.entries.entry_count())
                .finish(),
        }
    }
}

impl<K, T, V> CredentialCache<K, T, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    T: Hash + Eq + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// A cache keeping at most `capacity` entries for `ttl` each.
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        if ttl.is_zero() || capacity == 0 {
            return Self { inner: None };
        }
        let ttl = ttl.min(MAX_TTL);
        let entries = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .build();
        Self {
            inner: Some(Arc::new(Inner {
                entries,
                count: AtomicU64::new(0),
                log: Mutex::new(Log {
                    tags: HashMap::new(),
                    all: 0,
                    pruned: Instant::now(),
                }),
                ttl,
            })),
        }
    }

    /// Whether the cache keeps anything at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Take this before reading the value to cache from the database.
    pub fn stamp(&self) -> Stamp {
        Stamp(self.inner.as_ref().map_or(0, |i| i.count.load(Ordering::Acquire)))
    }

    /// The entry for `key` if there is one that is unexpired and not invalidated.
    pub fn get<Q>(&self, key: &Q) -> Option<Arc<Cached<T, V>>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let inner = self.inner.as_ref()?;
        let entry = inner.entries.get(key)?;
        let seen = entry.current_to.load(Ordering::Acquire);
        if seen == inner.count.load(Ordering::Acquire) {
            return Some(entry);
        }
        // Something was invalidated since this entry was last checked: was it?
        let log = inner.lock();
        if log.changed_since(&entry.tag, seen) {
            drop(log);
            inner.entries.invalidate(key);
            return None;
        }
        // The count cannot move while the log is locked.
        entry
            .current_to
            .store(inner.count.load(Ordering::Acquire), Ordering::Release);
        Some(entry)
    }

    /// Caches `value` for `key`, invalidated by `tag`, unless `tag` was
    /// invalidated after `stamp` was taken (the value may then predate the
    /// change). Returns the entry either way.
    pub fn insert(&self, key: K, tag: T, stamp: Stamp, value: V) -> Arc<Cached<T, V>> {
        let entry = Arc::new(Cached {
            tag,
            current_to: AtomicU64::new(stamp.0),
            value,
        });
        let Some(inner) = &self.inner else {
            return entry;
        };
        {
            let log = inner.lock();
            if log.changed_since(&entry.tag, stamp.0) {
                return entry;
            }
            entry
                .current_to
                .store(inner.count.load(Ordering::Acquire), Ordering::Release);
        }
        // An invalidation between here and the insert is still caught by
        // `get`, which finds it in the log.
        inner.entries.insert(key, entry.clone());
        entry
    }

    /// Makes every entry tagged `tag` unusable from now on.
    pub fn invalidate(&self, tag: &T) {
        let Some(inner) = &self.inner else { return };
        let mut log = inner.lock();
        let now = Instant::now();
        let count = inner.count.load(Ordering::Acquire) + 1;
        log.tags.insert(tag.clone(), (count, now));
        inner.count.store(count, Ordering::Release);
        // A record must outlive every entry it concerns: entries live for
        // the TTL after an insert that follows the record by a moment.
        let retention = inner.ttl.saturating_mul(2).saturating_add(Duration::from_secs(1));
        if now.duration_since(log.pruned) > retention {
            log.tags.retain(|_, (_, at)| now.duration_since(*at) <= retention);
            log.pruned = now;
        }
    }

    /// Makes every entry unusable from now on.
    pub fn invalidate_all(&self) {
        let Some(inner) = &self.inner else { return };
        {
            let mut log = inner.lock();
            let count = inner.count.load(Ordering::Acquire) + 1;
            log.all = count;
            log.tags.clear();
            log.pruned = Instant::now();
            inner.count.store(count, Ordering::Release);
        }
        inner.entries.invalidate_all();
    }
}

impl<K, T, V> Inner<K, T, V> {
    fn lock(&self) -> MutexGuard<'_, Log<T>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> CredentialCache<String, u32, &'static str> {
        CredentialCache::new(Duration::from_secs(60), 100)
    }

    #[test]
    fn hits_until_its_tag_is_invalidated() {
        let cache = cache();
        let stamp = cache.stamp();
        cache.insert("a".into(), 1, stamp, "one");
        cache.insert("b".into(), 2, stamp, "two");
        assert_eq!(cache.get("a").map(|e| **e), Some("one"));
        cache.invalidate(&1);
        assert!(cache.get("a").is_none());
        assert_eq!(cache.get("b").map(|e| **e), Some("two"), "other tags are kept");
        assert_eq!(cache.get("b").map(|e| *e.tag()), Some(2));
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_cached() {
        let cache = cache();
        let stamp = cache.stamp();
        cache.invalidate(&1);
        assert_eq!(**cache.insert("a".into(), 1, stamp, "stale"), "stale");
        assert!(cache.get("a").is_none());
        cache.insert("b".into(), 2, stamp, "unrelated");
        assert!(cache.get("b").is_some(), "only the invalidated tag is refused");
        let fresh = cache.stamp();
        cache.insert("a".into(), 1, fresh, "fresh");
        assert_eq!(cache.get("a").map(|e| **e), Some("fresh"));
    }

    #[test]
    fn invalidating_everything() {
        let cache = cache();
        let stamp = cache.stamp();
        cache.insert("a".into(), 1, stamp, "one");
        cache.invalidate_all();
        assert!(cache.get("a").is_none());
        cache.insert("b".into(), 2, stamp, "two");
        assert!(cache.get("b").is_none(), "read before the invalidation");
    }

    #[test]
    fn entries_expire() {
        let cache: CredentialCache<String, u32, &str> = CredentialCache::new(Duration::from_millis(20), 100);
        cache.insert("a".into(), 1, cache.stamp(), "one");
        assert!(cache.get("a").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn a_huge_ttl_is_capped_instead_of_panicking() {
        let cache: CredentialCache<String, u32, &str> = CredentialCache::new(Duration::MAX, 100);
        cache.insert("a".into(), 1, cache.stamp(), "one");
        assert!(cache.get("a").is_some());
        cache.invalidate(&1);
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn zero_ttl_or_capacity_disables_it() {
        for cache in [
            CredentialCache::new(Duration::ZERO, 100),
            CredentialCache::<String, u32, &str>::new(Duration::from_secs(1), 0),
        ] {
            assert!(!cache.is_enabled());
            assert_eq!(**cache.insert("a".into(), 1, cache.stamp(), "one"), "one");
            assert!(cache.get("a").is_none());
            cache.invalidate(&1);
            cache.invalidate_all();
        }
    }
}
