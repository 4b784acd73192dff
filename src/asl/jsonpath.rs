//! Reads JSONPath text (the Jayway-like dialect Step Functions uses); produces compiled paths that select from, or write into, JSON values.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// Which document a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's data.
    Doc,
    /// `$$`: the context object.
    Context,
    /// `@`: the current node inside a filter.
    Current,
}

#[derive(Debug, Clone)]
pub(crate) enum Seg {
    Key(String),
    Index(i64),
    Wild,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Keys(Vec<String>),
    Indexes(Vec<i64>),
    Descend(Box<Seg>),
    Filter(Box<Expr>),
    Length,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, Op, Operand),
    Exists(Operand),
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Path(Path),
    Lit(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A compiled JSONPath.
#[derive(Debug, Clone)]
pub struct Path {
    pub(crate) root: Root,
    pub(crate) segs: Vec<Seg>,
    text: String,
    definite: bool,
}

impl Path {
    /// Compiles `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
            depth: 0,
        };
        let path = p.path()?;
        if p.i < p.s.len() {
            return Err(format!(
                "unexpected '{}' at offset {} in path '{text}'",
                p.rest(),
                p.i
            ));
        }
        Ok(path)
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The starting document.
    pub fn root(&self) -> Root {
        self.root
    }

    /// True for the subset allowed as a reference path: names and indexes only.
    pub fn is_reference(&self) -> bool {
        self.root != Root::Current
            && self
                .segs
                .iter()
                .all(|s| matches!(s, Seg::Key(_) | Seg::Index(_)))
    }

    /// Selects from `doc`: the node itself for a definite path, an array of matches otherwise.
    pub fn select<'a>(&self, doc: &'a Value) -> Option<Cow<'a, Value>> {
        self.select_in(doc, doc)
    }

    fn select_in<'a>(&self, doc: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
        let (segs, length) = match self.segs.split_last() {
            Some((Seg::Length, rest)) => (rest, true),
            _ => (self.segs.as_slice(), false),
        };
        let value: Cow<'a, Value> = if self.definite {
            Cow::Borrowed(walk_definite(doc, segs)?)
        } else {
            let mut cur = vec![doc];
            for seg in segs {
                cur = step(&cur, seg, root);
            }
            Cow::Owned(Value::Array(cur.into_iter().cloned().collect()))
        };
        if length {
            length_of(&value).map(Cow::Owned)
        } else {
            Some(value)
        }
    }

    /// Writes `v` at this reference path inside `target`, creating missing objects.
    pub fn set(&self, target: &mut Value, v: Value) -> Result<(), String> {
        let mut cur = target;
        for seg in &self.segs {
            cur = match seg {
                Seg::Key(k) => match cur {
                    Value::Object(m) => m.entry(k.clone()).or_insert(Value::Object(Map::new())),
                    _ => return Err(format!("cannot set field '{k}' on a non-object")),
                },
                Seg::Index(i) => {
                    let Value::Array(a) = cur else {
                        return Err(format!("cannot index [{i}] on a non-array"));
                    };
                    let len = a.len();
                    match norm_index(*i, len).and_then(|j| a.get_mut(j)) {
                        Some(x) => x,
                        None => return Err(format!("index [{i}] out of bounds")),
                    }
                }
                _ => return Err("only names and indexes can be written".into()),
            };
        }
        *cur = v;
        Ok(())
    }
}

fn walk_definite<'a>(doc: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in segs {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(norm_index(*i, a.len())?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn length_of(v: &Value) -> Option<Value> {
    match v {
        Value::Array(a) => Some(a.len().into()),
        Value::Object(m) => Some(m.len().into()),
        Value::String(s) => Some(s.chars().count().into()),
        _ => None,
    }
}

fn norm_index(i: i64, len: usize) -> Option<usize> {
    if i < 0 {
        len.checked_sub(usize::try_from(i.unsigned_abs()).ok()?)
    } else {
        usize::try_from(i).ok()
    }
}

fn step<'a>(nodes: &[&'a Value], seg: &Seg, root: &'a Value) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for n in nodes {
        apply(n, seg, root, &mut out);
    }
    out
}

fn apply<'a>(n: &'a Value, seg: &Seg, root: &'a Value, out: &mut Vec<&'a Value>) {
    match (seg, n) {
        (Seg::Key(k), Value::Object(m)) => out.extend(m.get(k)),
        (Seg::Keys(ks), Value::Object(m)) => out.extend(ks.iter().filter_map(|k| m.get(k))),
        (Seg::Index(i), Value::Array(a)) => {
            out.extend(norm_index(*i, a.len()).and_then(|j| a.get(j)))
        }
        (Seg::Indexes(is), Value::Array(a)) => out.extend(
            is.iter()
                .filter_map(|i| norm_index(*i, a.len()).and_then(|j| a.get(j))),
        ),
        (Seg::Wild, Value::Array(a)) => out.extend(a.iter()),
        (Seg::Wild, Value::Object(m)) => out.extend(m.values()),
        (Seg::Slice(a, b, c), Value::Array(arr)) => slice(arr, *a, *b, *c, out),
        (Seg::Descend(inner), _) => descend(n, inner, root, out),
        (Seg::Filter(e), Value::Array(a)) => out.extend(a.iter().filter(|x| test(e, x, root))),
        (Seg::Filter(e), Value::Object(_)) if test(e, n, root) => out.push(n),
        _ => {}
    }
}

fn descend<'a>(n: &'a Value, inner: &Seg, root: &'a Value, out: &mut Vec<&'a Value>) {
    apply(n, inner, root, out);
    match n {
        Value::Array(a) => a.iter().for_each(|c| descend(c, inner, root, out)),
        Value::Object(m) => m.values().for_each(|c| descend(c, inner, root, out)),
        _ => {}
    }
}

fn slice<'a>(
    arr: &'a [Value],
    a: Option<i64>,
    b: Option<i64>,
    c: Option<i64>,
    out: &mut Vec<&'a Value>,
) {
    let len = arr.len() as i64;
    let stepv = c.unwrap_or(1);
    if stepv <= 0 {
        return;
    }
    let fix = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
    let (mut i, end) = (fix(a.unwrap_or(0)), fix(b.unwrap_or(len)));
    while i < end {
        out.extend(arr.get(i as usize));
        i += stepv;
    }
}

fn operand<'a>(o: &'a Operand, cur: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
    match o {
        Operand::Lit(v) => Some(Cow::Borrowed(v)),
        Operand::Path(p) => {
            let doc = if p.root == Root::Current { cur } else { root };
            let v = p.select_in(doc, root)?;
            // An indefinite path that matched nothing counts as absent.
            match (&v, p.definite) {
                (Cow::Owned(Value::Array(a)), false) if a.is_empty() => None,
                _ => Some(v),
            }
        }
    }
}

fn test(e: &Expr, cur: &Value, root: &Value) -> bool {
    match e {
        Expr::Or(a, b) => test(a, cur, root) || test(b, cur, root),
        Expr::And(a, b) => test(a, cur, root) && test(b, cur, root),
        Expr::Not(a) => !test(a, cur, root),
        Expr::Exists(o) => operand(o, cur, root).is_some(),
        Expr::Cmp(a, op, b) => match (operand(a, cur, root), operand(b, cur, root)) {
            (Some(x), Some(y)) => compare(&x, *op, &y),
            _ => false,
        },
    }
}

fn compare(x: &Value, op: Op, y: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (x, y) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => {
            return match op {
                Op::Eq => x == y,
                Op::Ne => x != y,
                _ => false,
            };
        }
    };
    match (op, ord) {
        (Op::Eq, Some(o)) => o == Ordering::Equal,
        (Op::Ne, o) => o != Some(Ordering::Equal),
        (Op::Lt, Some(o)) => o == Ordering::Less,
        (Op::Le, Some(o)) => o != Ordering::Greater,
        (Op::Gt, Some(o)) => o == Ordering::Greater,
        (Op::Ge, Some(o)) => o != Ordering::Less,
        _ => false,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
    depth: usize,
}

/// Nesting limit for filters, so hostile paths cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn rest(&self) -> String {
        String::from_utf8_lossy(self.s.get(self.i..).unwrap_or_default()).into_owned()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at offset {} in path '{}'", self.i, self.text)
    }

    fn path(&mut self) -> Result<Path, String> {
        let start = self.i;
        let root = if self.eat(b'@') {
            Root::Current
        } else if self.eat(b'$') {
            if self.eat(b'$') {
                Root::Context
            } else {
                Root::Doc
            }
        } else {
            return Err(self.err("a path must start with '$'"));
        };
        let mut segs = Vec::new();
        while let Some(seg) = self.segment()? {
            if matches!(segs.last(), Some(Seg::Length)) {
                return Err(self.err("length() must end the path"));
            }
            segs.push(seg);
        }
        let definite = segs.iter().enumerate().all(|(i, s)| match s {
            Seg::Key(_) | Seg::Index(_) => true,
            Seg::Length => i + 1 == segs.len(),
            _ => false,
        });
        let text =
            String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or_default()).into_owned();
        Ok(Path {
            root,
            segs,
            text,
            definite,
        })
    }

    fn segment(&mut self) -> Result<Option<Seg>, String> {
        match self.peek() {
            Some(b'.') => {
                self.i += 1;
                if self.eat(b'.') {
                    let inner = if self.peek() == Some(b'[') {
                        self.bracket()?
                    } else {
                        self.dot_name()?
                    };
                    return Ok(Some(Seg::Descend(Box::new(inner))));
                }
                self.dot_name().map(Some)
            }
            Some(b'[') => self.bracket().map(Some),
            _ => Ok(None),
        }
    }

    fn dot_name(&mut self) -> Result<Seg, String> {
        if self.eat(b'*') {
            return Ok(Seg::Wild);
        }
        let start = self.i;
        while self.peek().is_some_and(|c| {
            !matches!(
                c,
                b'.' | b'['
                    | b']'
                    | b'('
                    | b')'
                    | b' '
                    | b'='
                    | b'!'
                    | b'<'
                    | b'>'
                    | b'&'
                    | b'|'
                    | b','
            )
        }) {
            self.i += 1;
        }
        let name = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
            .map_err(|_| self.err("bad UTF-8"))?
            .to_string();
        if name.is_empty() {
            return Err(self.err("expected a field name"));
        }
        if name == "length" && self.s.get(self.i..self.i + 2) == Some(b"()") {
            self.i += 2;
            return Ok(Seg::Length);
        }
        Ok(Seg::Key(name))
    }

    fn bracket(&mut self) -> Result<Seg, String> {
        self.i += 1;
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Seg::Wild
            }
            Some(b'?') => {
                self.i += 1;
                self.skip_ws();
                if !self.eat(b'(') {
                    return Err(self.err("expected '(' after '?'"));
                }
                let e = self.or_expr()?;
                self.skip_ws();
                if !self.eat(b')') {
                    return Err(self.err("expected ')' closing the filter"));
                }
                Seg::Filter(Box::new(e))
            }
            Some(b'\'') | Some(b'"') => self.names()?,
            _ => self.indexes()?,
        };
        self.skip_ws();
        if !self.eat(b']') {
            return Err(self.err("expected ']'"));
        }
        Ok(seg)
    }

    fn names(&mut self) -> Result<Seg, String> {
        let mut names = vec![self.quoted()?];
        self.skip_ws();
        while self.eat(b',') {
            self.skip_ws();
            names.push(self.quoted()?);
            self.skip_ws();
        }
        Ok(if names.len() == 1 {
            Seg::Key(names.pop().unwrap_or_default())
        } else {
            Seg::Keys(names)
        })
    }

    fn quoted(&mut self) -> Result<String, String> {
        let q = self
            .peek()
            .ok_or_else(|| self.err("expected a quoted name"))?;
        if q != b'\'' && q != b'"' {
            return Err(self.err("expected a quoted name"));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated quoted name")),
                Some(b'\\') => {
                    self.i += 1;
                    out.push(self.peek().ok_or_else(|| self.err("dangling escape"))?);
                    self.i += 1;
                }
                Some(c) if c == q => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err("bad UTF-8"))
    }

    fn int(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.i;
        self.eat(b'-');
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let t = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).unwrap_or("");
        if t.is_empty() {
            return Ok(None);
        }
        t.parse().map(Some).map_err(|_| self.err("bad integer"))
    }

    fn indexes(&mut self) -> Result<Seg, String> {
        let first = self.int()?;
        self.skip_ws();
        if self.peek() == Some(b':') {
            self.i += 1;
            let end = self.int()?;
            let stepv = if self.eat(b':') { self.int()? } else { None };
            return Ok(Seg::Slice(first, end, stepv));
        }
        let Some(first) = first else {
            return Err(self.err("expected an index, a slice, '*', a name or a filter"));
        };
        let mut all = vec![first];
        while self.eat(b',') {
            all.push(self.int()?.ok_or_else(|| self.err("expected an index"))?);
            self.skip_ws();
        }
        Ok(if all.len() == 1 {
            Seg::Index(first)
        } else {
            Seg::Indexes(all)
        })
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.s.get(self.i..self.i + 2) != Some(b"||") {
                return Ok(left);
            }
            self.i += 2;
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            if self.s.get(self.i..self.i + 2) != Some(b"&&") {
                return Ok(left);
            }
            self.i += 2;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        if self.depth > MAX_DEPTH {
            return Err(self.err("filter nested too deeply"));
        }
        self.skip_ws();
        if self.peek() == Some(b'!') && self.s.get(self.i + 1) != Some(&b'=') {
            self.i += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(b'(') {
            let e = self.or_expr()?;
            self.skip_ws();
            if !self.eat(b')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(e);
        }
        let left = self.operand()?;
        self.skip_ws();
        let Some(op) = self.op() else {
            return Ok(Expr::Exists(left));
        };
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn op(&mut self) -> Option<Op> {
        let two = self.s.get(self.i..self.i + 2);
        let (op, n) = match two {
            Some(b"==") => (Op::Eq, 2),
            Some(b"!=") => (Op::Ne, 2),
            Some(b"<=") => (Op::Le, 2),
            Some(b">=") => (Op::Ge, 2),
            _ => match self.peek() {
                Some(b'<') => (Op::Lt, 1),
                Some(b'>') => (Op::Gt, 1),
                _ => return None,
            },
        };
        self.i += n;
        Some(op)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') | Some(b'$') => Ok(Operand::Path(self.path()?)),
            Some(b'\'') | Some(b'"') => Ok(Operand::Lit(Value::String(self.quoted()?))),
            _ => self.literal(),
        }
    }

    fn literal(&mut self) -> Result<Operand, String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
        {
            self.i += 1;
        }
        let t = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).unwrap_or("");
        match serde_json::from_str::<Value>(t) {
            Ok(v) if !v.is_object() && !v.is_array() && !t.is_empty() => Ok(Operand::Lit(v)),
            _ => Err(self.err("expected a path, a number, a string, true, false or null")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: &Value) -> Option<Value> {
        Path::parse(p).ok()?.select(v).map(Cow::into_owned)
    }

    #[test]
    fn basics() {
        let v = json!({"a": {"b": [1, 2, 3]}, "c d": 5});
        assert_eq!(sel("$.a.b[0]", &v), Some(json!(1)));
        assert_eq!(sel("$.a.b[-1]", &v), Some(json!(3)));
        assert_eq!(sel("$['c d']", &v), Some(json!(5)));
        assert_eq!(sel("$.a.b[1:]", &v), Some(json!([2, 3])));
        assert_eq!(sel("$.a.b.length()", &v), Some(json!(3)));
        assert_eq!(sel("$..b[?(@ > 1)]", &v), Some(json!([2, 3])));
        assert_eq!(sel("$.x", &v), None);
    }
}
