//! Dimension dictionary: interns the strings breakdowns are keyed by (regions, cities, AS
//! organisations, protocols, players) as small integers, so rollups and the journal stay compact.
//!
//! None of these strings is personal data; stream and server names never enter it (they live in
//! each partition's own catalog so that dropping a partition forgets them).

use std::collections::HashMap;

use parking_lot::RwLock;

/// Separator inside composite entries (`code ␟ name`).
pub const SEP: char = '\u{1f}';

#[derive(Default)]
struct Inner {
    by_text: HashMap<String, u32>,
    texts: Vec<String>,
    /// Entries `< logged` are already in the journal or the meta database.
    logged: usize,
}

/// The shared dictionary. Id 0 means "unknown" and is never assigned.
#[derive(Default)]
pub struct DimDict {
    inner: RwLock<Inner>,
}

impl DimDict {
    /// A dictionary holding stored entries (ids are dense from 1).
    pub fn from_entries(mut entries: Vec<(u32, String)>) -> DimDict {
        entries.sort_by_key(|(id, _)| *id);
        let mut inner = Inner::default();
        for (id, text) in entries {
            let idx = id as usize;
            if idx == 0 {
                continue;
            }
            if inner.texts.len() < idx {
                inner.texts.resize(idx, String::new());
            }
            inner.texts[idx - 1] = text.clone();
            inner.by_text.insert(text, id);
        }
        inner.logged = inner.texts.len();
        DimDict {
            inner: RwLock::new(inner),
        }
    }

    /// The id of `text`, assigning one on first sight. Empty text is 0.
    pub fn intern(&self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        if let Some(id) = self.inner.read().by_text.get(text) {
            return *id;
        }
        let mut inner = self.inner.write();
        if let Some(id) = inner.by_text.get(text) {
            return *id;
        }
        inner.texts.push(text.to_string());
        let id = inner.texts.len() as u32;
        inner.by_text.insert(text.to_string(), id);
        id
    }

    /// Text of an id.
    pub fn text(&self, id: u32) -> Option<String> {
        if id == 0 {
            return None;
        }
        self.inner.read().texts.get(id as usize - 1).cloned()
    }

    /// Entries not yet handed out by this method, to be written to the journal.
    pub fn take_unlogged(&self) -> Vec<(u32, String)> {
        let mut inner = self.inner.write();
        let from = inner.logged;
        inner.logged = inner.texts.len();
        inner.texts[from..]
            .iter()
            .enumerate()
            .map(|(i, t)| ((from + i + 1) as u32, t.clone()))
            .collect()
    }

    /// Re-inserts journal entries at their recorded ids (replay after a crash).
    pub fn restore(&self, entries: &[(u32, String)]) {
        let mut inner = self.inner.write();
        for (id, text) in entries {
            let idx = *id as usize;
            if idx == 0 {
                continue;
            }
            if inner.texts.len() < idx {
                inner.texts.resize(idx, String::new());
            }
            inner.texts[idx - 1] = text.clone();
            inner.by_text.insert(text.clone(), *id);
        }
        inner.logged = inner.logged.max(inner.texts.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_restores() {
        let d = DimDict::default();
        assert_eq!(d.intern(""), 0);
        let a = d.intern("hls");
        assert_eq!(d.intern("hls"), a);
        let b = d.intern("rtmp");
        assert_ne!(a, b);
        assert_eq!(
            d.take_unlogged(),
            vec![(a, "hls".into()), (b, "rtmp".into())]
        );
        assert!(d.take_unlogged().is_empty());
        let e = DimDict::from_entries(vec![(2, "rtmp".into()), (1, "hls".into())]);
        assert_eq!(e.intern("rtmp"), 2);
        assert_eq!(e.intern("dash"), 3);
        assert_eq!(e.text(3).as_deref(), Some("dash"));
    }
}
