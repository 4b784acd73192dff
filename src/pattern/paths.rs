//! The field paths patterns refer to: reads dotted paths (`detail.target.account`) and
//! produces small integer ids plus a trie over their segments, which the event scanner walks
//! to decide, key by key, whether to descend into a value or skip it. Reference-counted, so a
//! [`Machine`](super::Machine) can remove patterns.

use std::collections::HashMap;

/// Children beyond this count are also indexed by a hash map.
const LINEAR_CHILDREN: usize = 8;

#[derive(Debug, Default, Clone)]
struct Node {
    children: Vec<(Box<str>, u32)>,
    index: Option<HashMap<Box<str>, usize>>,
    leaf: Option<u32>,
    refs: u32,
}

/// Interned paths and the trie over their segments.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    nodes: Vec<Node>,
    free_nodes: Vec<u32>,
    ids: HashMap<String, u32>,
    names: Vec<String>,
    refs: Vec<u32>,
    free_ids: Vec<u32>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            nodes: vec![Node::default()],
            free_nodes: Vec::new(),
            ids: HashMap::new(),
            names: Vec::new(),
            refs: Vec::new(),
            free_ids: Vec::new(),
        }
    }
}

pub(crate) const ROOT: u32 = 0;

impl Paths {
    /// The id of `path`, adding it (or one more reference to it).
    pub(crate) fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.ids.get(path) {
            self.refs[id as usize] += 1;
            return id;
        }
        let id = match self.free_ids.pop() {
            Some(id) => {
                self.names[id as usize] = path.to_string();
                self.refs[id as usize] = 1;
                id
            }
            None => {
                self.names.push(path.to_string());
                self.refs.push(1);
                (self.names.len() - 1) as u32
            }
        };
        self.ids.insert(path.to_string(), id);
        self.insert_trie(path, id);
        id
    }

    /// Drops one reference to `id`, forgetting the path with the last one.
    pub(crate) fn release(&mut self, id: u32) {
        let Some(refs) = self.refs.get_mut(id as usize) else {
            return;
        };
        *refs = refs.saturating_sub(1);
        if *refs > 0 {
            return;
        }
        let name = std::mem::take(&mut self.names[id as usize]);
        self.ids.remove(&name);
        self.free_ids.push(id);
        self.remove_trie(&name);
    }

    /// The dotted name of a path id.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    fn insert_trie(&mut self, path: &str, id: u32) {
        let mut node = ROOT;
        self.nodes[ROOT as usize].refs += 1;
        for seg in path.split('.') {
            node = match self.child(node, seg) {
                Some((child, _)) => child,
                None => self.add_child(node, seg),
            };
            self.nodes[node as usize].refs += 1;
        }
        self.nodes[node as usize].leaf = Some(id);
    }

    fn add_child(&mut self, parent: u32, seg: &str) -> u32 {
        let child = match self.free_nodes.pop() {
            Some(n) => {
                self.nodes[n as usize] = Node::default();
                n
            }
            None => {
                self.nodes.push(Node::default());
                (self.nodes.len() - 1) as u32
            }
        };
        let p = &mut self.nodes[parent as usize];
        p.children.push((seg.into(), child));
        let pos = p.children.len() - 1;
        if let Some(index) = p.index.as_mut() {
            index.insert(seg.into(), pos);
        } else if p.children.len() > LINEAR_CHILDREN {
            let index = p.children.iter().enumerate();
            p.index = Some(index.map(|(i, (s, _))| (s.clone(), i)).collect());
        }
        child
    }

    fn remove_trie(&mut self, path: &str) {
        let mut node = ROOT;
        self.nodes[ROOT as usize].refs -= 1;
        for seg in path.split('.') {
            let Some((child, pos)) = self.child(node, seg) else {
                return;
            };
            let c = &mut self.nodes[child as usize];
            c.refs -= 1;
            if c.refs == 0 {
                self.detach(node, pos);
                self.free_subtree(child);
                return;
            }
            node = child;
        }
        self.nodes[node as usize].leaf = None;
    }

    fn detach(&mut self, parent: u32, pos: usize) {
        let p = &mut self.nodes[parent as usize];
        let (seg, _) = p.children.swap_remove(pos);
        if let Some(index) = p.index.as_mut() {
            index.remove(&seg);
            if let Some((moved, _)) = p.children.get(pos) {
                index.insert(moved.clone(), pos);
            }
        }
    }

    fn free_subtree(&mut self, node: u32) {
        let children = std::mem::take(&mut self.nodes[node as usize].children);
        for (_, c) in children {
            self.free_subtree(c);
        }
        self.nodes[node as usize] = Node::default();
        self.free_nodes.push(node);
    }

    /// The child of `node` named `seg`, with its position among the children.
    #[inline]
    pub(crate) fn child(&self, node: u32, seg: &str) -> Option<(u32, usize)> {
        let n = &self.nodes[node as usize];
        if let Some(index) = &n.index {
            return index.get(seg).map(|&pos| (n.children[pos].1, pos));
        }
        n.children
            .iter()
            .position(|(s, _)| &**s == seg)
            .map(|pos| (n.children[pos].1, pos))
    }

    /// Follows an event key, which may itself contain dots, from `node`.
    /// Returns the node reached and, for a plain one-segment key, its child position.
    #[inline]
    pub(crate) fn follow(&self, node: u32, key: &str) -> Option<(u32, Option<usize>)> {
        if !key.contains('.') {
            return self.child(node, key).map(|(c, pos)| (c, Some(pos)));
        }
        let mut at = node;
        for seg in key.split('.') {
            at = self.child(at, seg)?.0;
        }
        Some((at, None))
    }

    #[inline]
    pub(crate) fn child_count(&self, node: u32) -> usize {
        self.nodes[node as usize].children.len()
    }

    #[inline]
    pub(crate) fn leaf(&self, node: u32) -> Option<u32> {
        self.nodes[node as usize].leaf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_walks_and_forgets() {
        let mut p = Paths::default();
        let a = p.intern("detail.target.account");
        let b = p.intern("detail.status");
        assert_eq!(p.intern("detail.status"), b);
        let (detail, _) = p.child(ROOT, "detail").unwrap();
        assert_eq!(p.child_count(detail), 2);
        let (acct, pos) = p.follow(detail, "target.account").unwrap();
        assert_eq!((p.leaf(acct), pos), (Some(a), None));
        p.release(b);
        assert!(
            p.follow(detail, "status").is_some(),
            "still referenced once"
        );
        p.release(b);
        assert!(p.follow(detail, "status").is_none());
        p.release(a);
        assert_eq!(p.child_count(ROOT), 0);
        assert_eq!(p.intern("x"), a, "ids are reused");
    }

    #[test]
    fn many_children_are_indexed() {
        let mut p = Paths::default();
        let ids: Vec<u32> = (0..40).map(|i| p.intern(&format!("u.a{i}.s"))).collect();
        for i in (0..40).step_by(3) {
            p.release(ids[i]);
        }
        let (u, _) = p.child(ROOT, "u").unwrap();
        for (i, &id) in ids.iter().enumerate() {
            let found = p.follow(u, &format!("a{i}.s")).and_then(|(n, _)| p.leaf(n));
            assert_eq!(found, (i % 3 != 0).then_some(id), "a{i}");
        }
    }
}
