//! [`Ordered`]: records kept in listing order (`created_at`, then insertion), so a page
//! costs the page, not the thread: finding the cursor is a hash lookup and reading the
//! page a range of a B-tree.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::store::{RecordKind, StoreError};
use crate::types::{Page, SortOrder, ThreadItem, ThreadMetadata, Timestamp};

/// What a listed record tells about itself.
pub(super) trait Listed: Clone {
    fn id(&self) -> &str;
    fn created_at(&self) -> Timestamp;
}

impl Listed for ThreadItem {
    fn id(&self) -> &str {
        ThreadItem::id(self)
    }
    fn created_at(&self) -> Timestamp {
        ThreadItem::created_at(self)
    }
}

impl Listed for ThreadMetadata {
    fn id(&self) -> &str {
        &self.id
    }
    fn created_at(&self) -> Timestamp {
        self.created_at
    }
}

/// A record's place: its time, then its insertion number (kept when it is saved again).
type Key = (Timestamp, u64);

/// Records by id, listed by `(created_at, insertion)`.
pub(super) struct Ordered<T> {
    /// Boxed: a B-tree node holds eleven entries, so a thread of two items would take
    /// room for eleven (2.6 KiB for items) where boxes take 0.4 KiB and the two items.
    by_key: BTreeMap<Key, Box<T>>,
    keys: HashMap<String, Key>,
    inserted: u64,
}

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered {
            by_key: BTreeMap::new(),
            keys: HashMap::new(),
            inserted: 0,
        }
    }
}

impl<T: Listed> Ordered<T> {
    /// Inserts or replaces; a replaced record keeps its insertion number.
    pub(super) fn upsert(&mut self, record: T) {
        let inserted = match self.keys.get(record.id()) {
            Some(&old) => {
                self.by_key.remove(&old);
                old.1
            }
            None => {
                self.inserted += 1;
                self.inserted
            }
        };
        let key = (record.created_at(), inserted);
        self.keys.insert(record.id().to_owned(), key);
        self.by_key.insert(key, Box::new(record));
    }

    pub(super) fn get(&self, id: &str) -> Option<&T> {
        self.keys
            .get(id)
            .and_then(|key| self.by_key.get(key))
            .map(|record| &**record)
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// Replaces an existing record (`false` when there is none).
    pub(super) fn update(&mut self, record: T) -> bool {
        if !self.contains(record.id()) {
            return false;
        }
        self.upsert(record);
        true
    }

    pub(super) fn remove(&mut self, id: &str) {
        if let Some(key) = self.keys.remove(id) {
            self.by_key.remove(&key);
        }
    }

    /// `limit` records after the record `after` (exclusive) in `order`.
    pub(super) fn page(
        &self,
        after: Option<&str>,
        limit: usize,
        order: SortOrder,
        kind: RecordKind,
    ) -> Result<Page<T>, StoreError> {
        let cursor = match after {
            None => None,
            Some(id) => Some(
                *self
                    .keys
                    .get(id)
                    .ok_or_else(|| StoreError::not_found(kind, id))?,
            ),
        };
        let (low, high) = match (cursor, order) {
            (None, _) => (Bound::Unbounded, Bound::Unbounded),
            (Some(key), SortOrder::Asc) => (Bound::Excluded(key), Bound::Unbounded),
            (Some(key), SortOrder::Desc) => (Bound::Unbounded, Bound::Excluded(key)),
        };
        let range = self.by_key.range((low, high)).map(|(_, record)| &**record);
        // One more than asked tells whether more follow.
        let data: Vec<T> = match order {
            SortOrder::Asc => range.take(limit.saturating_add(1)).cloned().collect(),
            SortOrder::Desc => range.rev().take(limit.saturating_add(1)).cloned().collect(),
        };
        Ok(crate::store::page_of(data, limit, |record| {
            record.id().to_owned()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(id: &str, micros: i64) -> ThreadMetadata {
        let at = chrono::DateTime::from_timestamp_micros(micros).unwrap();
        ThreadMetadata::new(id, Timestamp::from_utc(at))
    }

    fn ids(page: &Page<ThreadMetadata>) -> Vec<&str> {
        page.data.iter().map(|t| t.id.as_str()).collect()
    }

    #[test]
    fn pages_follow_time_then_insertion_and_upserts_keep_their_place() {
        let mut ordered = Ordered::default();
        for (id, at) in [("c", 5), ("a", 1), ("b", 5), ("d", 3)] {
            ordered.upsert(thread(id, at));
        }
        ordered.upsert(thread("c", 5)); // saved again: stays before b
        let all = ordered
            .page(None, 10, SortOrder::Asc, RecordKind::Thread)
            .unwrap();
        assert_eq!(ids(&all), ["a", "d", "c", "b"]);
        let first = ordered
            .page(None, 2, SortOrder::Desc, RecordKind::Thread)
            .unwrap();
        assert_eq!(
            (ids(&first), first.has_more, first.after.as_deref()),
            (vec!["b", "c"], true, Some("c"))
        );
        let rest = ordered
            .page(Some("c"), 2, SortOrder::Desc, RecordKind::Thread)
            .unwrap();
        assert_eq!(
            (ids(&rest), rest.has_more, rest.after.as_deref()),
            (vec!["d", "a"], false, None)
        );
        ordered.upsert(thread("a", 9)); // a new time moves it
        let all = ordered
            .page(None, 10, SortOrder::Asc, RecordKind::Thread)
            .unwrap();
        assert_eq!(ids(&all), ["d", "c", "b", "a"]);
        ordered.remove("c");
        assert!(!ordered.contains("c") && ordered.get("c").is_none());
        assert!(matches!(
            ordered.page(Some("c"), 1, SortOrder::Asc, RecordKind::Thread),
            Err(StoreError::NotFound { .. })
        ));
        assert!(!ordered.update(thread("zz", 1)));
    }
}
