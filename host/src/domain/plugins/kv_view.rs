//! One invocation's view of its installation's KV store. The first access reads the namespace's
//! keys in one query and, when there are few, answers every later get and list from memory, hits
//! and misses alike: a handler making ten gets pays one round trip, not ten. Writes still go to
//! the database at once and update the view, so a run reads its own writes; writes of runs that
//! overlap it are not seen (each run reads one snapshot). A namespace too large for a snapshot
//! is read key by key, each answer remembered for the rest of the run.

use std::collections::BTreeMap;

/// Most keys a snapshot holds: a larger namespace is read key by key (each remembered).
pub const SNAPSHOT_KEYS: i64 = 256;
/// Longest value read with the snapshot; longer ones are fetched when asked for.
pub const INLINE_BYTES: i64 = 1024;

enum Slot {
    Value(Vec<u8>),
    /// Present, value not read yet.
    Unread,
    Absent,
}

/// What the view knows of a key.
#[derive(Debug, PartialEq)]
pub enum Lookup<'a> {
    Found(&'a [u8]),
    Absent,
    /// Ask the database (and [`KvView::remember`] the answer).
    Unknown,
}

#[derive(Default)]
pub struct KvView {
    slots: BTreeMap<String, Slot>,
    loaded: bool,
    /// Every key of the namespace is in `slots`: a key not there does not exist.
    complete: bool,
}

impl KvView {
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Whether the snapshot holds every key of the namespace.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Goes without a snapshot: the namespace is known to be larger.
    pub fn skip_snapshot(&mut self) {
        self.loaded = true;
    }

    /// Takes the snapshot: at most `SNAPSHOT_KEYS + 1` rows in key order, so one row more than
    /// the limit tells the namespace is larger.
    pub fn load(&mut self, mut rows: Vec<(String, Option<Vec<u8>>)>) {
        self.loaded = true;
        self.complete = rows.len() as i64 <= SNAPSHOT_KEYS;
        rows.truncate(SNAPSHOT_KEYS as usize);
        for (key, value) in rows {
            self.slots.insert(key, value.map_or(Slot::Unread, Slot::Value));
        }
    }

    pub fn lookup(&self, key: &str) -> Lookup<'_> {
        match self.slots.get(key) {
            Some(Slot::Value(v)) => Lookup::Found(v),
            Some(Slot::Absent) => Lookup::Absent,
            None if self.complete => Lookup::Absent,
            Some(Slot::Unread) | None => Lookup::Unknown,
        }
    }

    /// Records what the database holds for `key` (read, written or deleted by this run).
    pub fn remember(&mut self, key: &str, value: Option<&[u8]>) {
        let slot = value.map_or(Slot::Absent, |v| Slot::Value(v.to_vec()));
        self.slots.insert(key.to_owned(), slot);
    }

    /// Keys starting with `prefix` after `after`, in order; `None` when the view does not hold
    /// every key.
    pub fn list(&self, prefix: &str, after: &str, limit: usize) -> Option<Vec<String>> {
        if !self.complete {
            return None;
        }
        let keys = self
            .slots
            .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .filter(|(_, slot)| !matches!(slot, Slot::Absent))
            .map(|(key, _)| key)
            .skip_while(|key| key.as_str() < prefix)
            .take_while(|key| key.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect();
        Some(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(keys: &[&str]) -> Vec<(String, Option<Vec<u8>>)> {
        keys.iter()
            .map(|k| (k.to_string(), Some(k.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn a_small_namespace_answers_hits_and_misses_from_memory() {
        let mut view = KvView::default();
        assert!(!view.is_loaded());
        view.load(rows(&["a", "b"]));
        assert!(view.is_loaded());
        assert_eq!(view.lookup("a"), Lookup::Found(b"a"));
        assert_eq!(view.lookup("zz"), Lookup::Absent);
    }

    #[test]
    fn a_large_namespace_is_read_key_by_key_and_remembered() {
        let keys: Vec<String> = (0..=SNAPSHOT_KEYS).map(|i| format!("k{i:04}")).collect();
        let mut view = KvView::default();
        view.load(keys.iter().map(|k| (k.clone(), Some(vec![1]))).collect());
        assert_eq!(view.lookup("k0000"), Lookup::Found(&[1]));
        // The row past the limit was only the sign that there are more.
        assert_eq!(view.lookup(&keys[SNAPSHOT_KEYS as usize]), Lookup::Unknown);
        assert_eq!(view.lookup("other"), Lookup::Unknown);
        assert_eq!(view.list("", "", 10), None);
        view.remember("other", None);
        assert_eq!(view.lookup("other"), Lookup::Absent);
        assert!(!view.is_complete());
    }

    #[test]
    fn without_a_snapshot_every_key_is_asked_for_once() {
        let mut view = KvView::default();
        view.skip_snapshot();
        assert!(view.is_loaded() && !view.is_complete());
        assert_eq!(view.lookup("a"), Lookup::Unknown);
        view.remember("a", Some(b"1"));
        assert_eq!(view.lookup("a"), Lookup::Found(b"1"));
        assert_eq!(view.list("", "", 10), None);
    }

    #[test]
    fn long_values_are_read_when_asked_for() {
        let mut view = KvView::default();
        view.load(vec![("big".into(), None)]);
        assert_eq!(view.lookup("big"), Lookup::Unknown);
        view.remember("big", Some(b"long value"));
        assert_eq!(view.lookup("big"), Lookup::Found(b"long value"));
    }

    #[test]
    fn writes_show_in_gets_and_lists() {
        let mut view = KvView::default();
        view.load(rows(&["a/1", "a/2", "b/1"]));
        view.remember("a/3", Some(b"x"));
        view.remember("a/1", None);
        assert_eq!(view.lookup("a/1"), Lookup::Absent);
        assert_eq!(view.list("a/", "", 10), Some(vec!["a/2".into(), "a/3".into()]));
        assert_eq!(view.list("a/", "a/2", 10), Some(vec!["a/3".into()]));
        assert_eq!(view.list("", "", 2), Some(vec!["a/2".into(), "a/3".into()]));
        assert_eq!(view.list("c", "", 10), Some(vec![]));
    }
}
