//! Many named patterns at once: reads compiled [`Pattern`]s (add/remove by name) and an
//! event, and produces the names of every pattern the event matches.
//!
//! Cost does not grow with the number of patterns: each `$or` branch is filed under one
//! anchor, an exact-value field such as `detail.target.pipeline = "x"`, in a hash index keyed
//! by (path, value). An event is flattened once, for the union of all paths; only branches
//! whose anchor value occurs in the event (plus the few branches without any exact-value
//! field) are then evaluated in full.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::compile::{Pattern, compile_branch};
use super::event::{self, Event, EventError};
use super::json::Scalar;
use super::matcher::{Literal, Matcher, Rule};
use super::number;
use super::paths::Paths;

/// A set of named patterns matched together.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    paths: Paths,
    by_name: HashMap<String, u32>,
    entries: Vec<Option<Entry>>,
    free_entries: Vec<u32>,
    rules: Vec<Option<Slot>>,
    free_rules: Vec<u32>,
    index: HashMap<u64, Vec<u32>, BuildHasherDefault<PassThrough>>,
    unindexed: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    rules: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Slot {
    entry: u32,
    rule: Rule,
    /// Index keys this branch is filed under; empty when it is checked for every event.
    keys: Vec<u64>,
}

impl Machine {
    /// An empty machine.
    pub fn new() -> Machine {
        Machine::default()
    }

    /// Adds `pattern` under `name`, replacing any pattern of that name.
    pub fn add(&mut self, name: impl Into<String>, pattern: &Pattern) {
        let name = name.into();
        self.remove(&name);
        let entry = self.alloc_entry(Entry {
            name: name.clone(),
            rules: Vec::new(),
        });
        let mut ids = Vec::with_capacity(pattern.branches.len());
        for branch in &pattern.branches {
            let rule = compile_branch(branch, &mut self.paths);
            ids.push(self.file_rule(entry, rule));
        }
        if let Some(Some(e)) = self.entries.get_mut(entry as usize) {
            e.rules = ids;
        }
        self.by_name.insert(name, entry);
    }

    /// Removes the pattern named `name`; returns whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(entry) = self.by_name.remove(name) else {
            return false;
        };
        let Some(e) = self.entries.get_mut(entry as usize).and_then(Option::take) else {
            return false;
        };
        self.free_entries.push(entry);
        for id in e.rules {
            self.unfile_rule(id);
        }
        true
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the machine holds no pattern.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Names of the patterns the event matches, in ascending order.
    pub fn matches(&self, event: &Event) -> Vec<&str> {
        // An `Event` is validated JSON, so flattening cannot fail.
        self.matches_json(event.as_str()).unwrap_or_default()
    }

    /// Names of the patterns raw event JSON matches, in ascending order.
    pub fn matches_json(&self, event: &str) -> Result<Vec<&str>, EventError> {
        if self.is_empty() {
            event::flatten(event, &self.paths)?; // still report a malformed event
            return Ok(Vec::new());
        }
        let flat = event::flatten(event, &self.paths)?;
        let mut tried = vec![0u64; self.rules.len().div_ceil(64)];
        let mut matched: Vec<u32> = Vec::new();
        let anchored = flat
            .fields()
            .iter()
            .filter_map(|f| self.index.get(&scalar_key(f.path, &f.value)))
            .flatten();
        for &id in anchored.chain(&self.unindexed) {
            let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
            if tried[word] & bit != 0 {
                continue;
            }
            tried[word] |= bit;
            let Some(Some(slot)) = self.rules.get(id as usize) else {
                continue;
            };
            if !matched.contains(&slot.entry) && slot.rule.matches(&flat) {
                matched.push(slot.entry);
            }
        }
        let mut names: Vec<&str> = matched
            .iter()
            .filter_map(|&e| self.entries.get(e as usize)?.as_ref())
            .map(|e| e.name.as_str())
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    fn alloc_entry(&mut self, entry: Entry) -> u32 {
        if let Some(id) = self.free_entries.pop() {
            self.entries[id as usize] = Some(entry);
            return id;
        }
        self.entries.push(Some(entry));
        (self.entries.len() - 1) as u32
    }

    /// Stores a branch and files it under its most selective exact-value field.
    fn file_rule(&mut self, entry: u32, rule: Rule) -> u32 {
        let keys = self.anchor_keys(&rule);
        let slot = Slot { entry, rule, keys };
        let id = match self.free_rules.pop() {
            Some(id) => {
                self.rules[id as usize] = Some(slot);
                id
            }
            None => {
                self.rules.push(Some(slot));
                (self.rules.len() - 1) as u32
            }
        };
        let keys = self.rules[id as usize].as_ref().map(|s| s.keys.clone());
        match keys {
            Some(keys) if !keys.is_empty() => {
                for key in keys {
                    self.index.entry(key).or_default().push(id);
                }
            }
            _ => self.unindexed.push(id),
        }
        id
    }

    fn unfile_rule(&mut self, id: u32) {
        let Some(slot) = self.rules.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        if slot.keys.is_empty() {
            self.unindexed.retain(|&r| r != id);
        }
        for key in &slot.keys {
            if let Some(bucket) = self.index.get_mut(key) {
                bucket.retain(|&r| r != id);
                if bucket.is_empty() {
                    self.index.remove(key);
                }
            }
        }
        for field in &slot.rule.fields {
            self.paths.release(field.path);
        }
        self.free_rules.push(id);
    }

    /// Keys of the best anchor: a field whose every alternative is an exact value, choosing
    /// the one whose buckets are smallest so far, then the deepest path (usually the most
    /// specific, e.g. `detail.target.pipeline` rather than `source`).
    fn anchor_keys(&self, rule: &Rule) -> Vec<u64> {
        let mut best: Option<(usize, usize, Vec<u64>)> = None;
        for field in rule.fields.iter().filter(|f| !f.absent_ok) {
            let Some(keys) = field
                .matchers
                .iter()
                .map(|m| match m {
                    Matcher::Exact(lit) => Some(literal_key(field.path, lit)),
                    _ => None,
                })
                .collect::<Option<Vec<u64>>>()
            else {
                continue;
            };
            let load = keys
                .iter()
                .map(|k| self.index.get(k).map_or(0, Vec::len))
                .sum::<usize>();
            let depth = self.paths.name(field.path).split('.').count();
            let better = match &best {
                None => true,
                Some((l, d, _)) => load < *l || (load == *l && depth > *d),
            };
            if better {
                best = Some((load, depth, keys));
            }
        }
        best.map(|(_, _, keys)| keys).unwrap_or_default()
    }
}

/// Index key of a pattern literal at `path`.
fn literal_key(path: u32, lit: &Literal) -> u64 {
    match lit {
        Literal::Str(s) => hash(path, 1, s.as_bytes()),
        Literal::Num { value: Some(v), .. } => hash(path, 2, &v.to_bits().to_le_bytes()),
        Literal::Num { text, value: None } => hash(path, 3, text.as_bytes()),
        Literal::Bool(b) => hash(path, 4, &[*b as u8]),
        Literal::Null => hash(path, 5, &[]),
    }
}

/// Index key of an event value at `path`: equal to the key of every literal it equals.
fn scalar_key(path: u32, value: &Scalar) -> u64 {
    match value {
        Scalar::Str(s) => hash(path, 1, s.as_bytes()),
        Scalar::Num(text) => match number::comparable(text) {
            Some(v) => hash(path, 2, &v.to_bits().to_le_bytes()),
            None => hash(path, 3, text.as_bytes()),
        },
        Scalar::Bool(b) => hash(path, 4, &[*b as u8]),
        Scalar::Null => hash(path, 5, &[]),
    }
}

/// FNV-1a over (path, type tag, bytes). Collisions only cost an extra full check.
fn hash(path: u32, tag: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in path.to_le_bytes().iter().chain([tag].iter()).chain(bytes) {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The index's keys are already hashes: use them as they are.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl std::fmt::Debug for PassThrough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassThrough")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(patterns: &[(&str, &str)]) -> Machine {
        let mut m = Machine::new();
        for (name, text) in patterns {
            m.add(*name, &Pattern::parse(text).unwrap());
        }
        m
    }

    #[test]
    fn returns_every_matching_name_once() {
        let m = machine(&[
            ("by-source", r#"{"source": ["a"]}"#),
            ("by-prefix", r#"{"detail": {"s": [{"prefix": "SUC"}]}}"#),
            (
                "either",
                r#"{"$or": [{"source": ["a"]}, {"detail": {"s": ["SUCCEEDED"]}}]}"#,
            ),
            ("other", r#"{"source": ["b"]}"#),
            ("number", r#"{"detail": {"n": [300]}}"#),
        ]);
        let names = m
            .matches_json(r#"{"source": "a", "detail": {"s": "SUCCEEDED", "n": 3.0e2}}"#)
            .unwrap();
        assert_eq!(names, ["by-prefix", "by-source", "either", "number"]);
        assert!(m.matches_json("{\"source\": ").is_err());
    }

    #[test]
    fn add_replaces_and_remove_forgets() {
        let mut m = machine(&[
            ("p", r#"{"a": ["x"]}"#),
            ("q", r#"{"a": ["x"], "b": ["y"]}"#),
        ]);
        assert_eq!(m.matches_json(r#"{"a": "x"}"#).unwrap(), ["p"]);
        m.add("p", &Pattern::parse(r#"{"a": ["z"]}"#).unwrap());
        assert_eq!(m.len(), 2);
        assert!(m.matches_json(r#"{"a": "x"}"#).unwrap().is_empty());
        assert_eq!(m.matches_json(r#"{"a": "z"}"#).unwrap(), ["p"]);
        assert!(m.remove("p") && !m.remove("p"));
        assert!(m.matches_json(r#"{"a": "z"}"#).unwrap().is_empty());
        assert_eq!(m.matches_json(r#"{"a": "x", "b": "y"}"#).unwrap(), ["q"]);
        assert!(m.remove("q") && m.is_empty());
        assert!(
            m.matches_json(r#"{"a": "x", "b": "y"}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn anchors_spread_over_distinct_values() {
        let mut m = Machine::new();
        for i in 0..100 {
            let text =
                format!(r#"{{"source": ["s"], "detail": {{"target": {{"pipeline": ["p{i}"]}}}}}}"#);
            m.add(format!("n{i}"), &Pattern::parse(&text).unwrap());
        }
        let biggest = m.index.values().map(Vec::len).max().unwrap();
        assert!(biggest <= 2, "a bucket holds {biggest} branches");
        let event = r#"{"source": "s", "detail": {"target": {"pipeline": "p42"}}}"#;
        assert_eq!(m.matches_json(event).unwrap(), ["n42"]);
    }
}
