//! Reads intrinsic function calls (`States.Format(...)` and the rest); produces parsed calls and evaluates them against state data.

use super::context::Ctx;
use super::errors::{Fault, INTRINSIC};
use super::jsonpath::{Path, Root};
use super::rng::Rng;
use super::{encode, funcs};
use serde_json::{Number, Value};

/// One argument of a call.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// A string literal: `raw` keeps the escapes (for Format templates), `text` has them resolved.
    Str {
        raw: String,
        text: String,
    },
    Num(Number),
    Bool(bool),
    Null,
    Path(Path),
    Call(Box<Call>),
}

/// A parsed intrinsic call.
#[derive(Debug, Clone)]
pub struct Call {
    pub(crate) func: Func,
    pub(crate) args: Vec<Arg>,
}

macro_rules! funcs {
    ($($v:ident = $n:literal, $min:expr, $max:expr;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($v,)* }
        impl Func {
            fn from_name(n: &str) -> Option<Func> {
                match n { $($n => Some(Func::$v),)* _ => None }
            }
            pub(crate) fn name(self) -> &'static str {
                match self { $(Func::$v => concat!("States.", $n),)* }
            }
            fn arity(self) -> (usize, usize) {
                match self { $(Func::$v => ($min, $max),)* }
            }
        }
    };
}

funcs! {
    Format = "Format", 1, usize::MAX;
    StringToJson = "StringToJson", 1, 1;
    JsonToString = "JsonToString", 1, 1;
    Array = "Array", 0, usize::MAX;
    ArrayPartition = "ArrayPartition", 2, 2;
    ArrayContains = "ArrayContains", 2, 2;
    ArrayRange = "ArrayRange", 3, 3;
    ArrayGetItem = "ArrayGetItem", 2, 2;
    ArrayLength = "ArrayLength", 1, 1;
    ArrayUnique = "ArrayUnique", 1, 1;
    Base64Encode = "Base64Encode", 1, 1;
    Base64Decode = "Base64Decode", 1, 1;
    Hash = "Hash", 2, 2;
    JsonMerge = "JsonMerge", 3, 3;
    MathRandom = "MathRandom", 2, 3;
    MathAdd = "MathAdd", 2, 2;
    StringSplit = "StringSplit", 2, 2;
    Uuid = "UUID", 0, 0;
}

/// Nesting limit, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

impl Call {
    /// Parses a whole intrinsic expression such as `States.Array($.a, 'b')`.
    pub fn parse(text: &str) -> Result<Call, String> {
        let mut p = P {
            s: text.as_bytes(),
            i: 0,
        };
        let call = p.call(0)?;
        p.ws();
        if p.i < p.s.len() {
            return Err(format!("unexpected text after the call at offset {}", p.i));
        }
        Ok(call)
    }

    /// Evaluates against `input` and the context.
    pub(crate) fn eval(&self, input: &Value, cx: &Ctx, rng: &mut Rng) -> Result<Value, Fault> {
        let mut vals = Vec::with_capacity(self.args.len());
        for a in &self.args {
            vals.push(a.eval(input, cx, rng)?);
        }
        if self.func == Func::Format {
            return self
                .format(&vals)
                .map(Value::String)
                .map_err(|m| self.fail(&m));
        }
        funcs::apply(self.func, &vals, rng).map_err(|m| self.fail(&m))
    }

    fn fail(&self, msg: &str) -> Fault {
        Fault::new(
            INTRINSIC,
            format!("Invalid arguments in {}: {msg}", self.func.name()),
        )
    }

    fn format(&self, vals: &[Value]) -> Result<String, String> {
        let template = match (self.args.first(), vals.first()) {
            (Some(Arg::Str { raw, .. }), _) => raw.clone(),
            (_, Some(Value::String(s))) => escape_plain(s),
            _ => return Err("the template must be a string".into()),
        };
        let mut out = String::new();
        let mut rest = vals.iter().skip(1);
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                '{' if chars.peek() == Some(&'}') => {
                    chars.next();
                    let v = rest.next().ok_or("more {} placeholders than arguments")?;
                    out.push_str(&format_value(v)?);
                }
                c => out.push(c),
            }
        }
        if rest.next().is_some() {
            return Err("more arguments than {} placeholders".into());
        }
        Ok(out)
    }
}

fn escape_plain(s: &str) -> String {
    s.replace('\\', "\\\\")
}

/// The text `States.Format` puts for a value: a string as is, other scalars as their JSON
/// text, arrays and objects as Step Functions (Java) prints them: `[a, 1]`, `{k=v, n=[]}`.
fn format_value(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    java_text(v, &mut out);
    Ok(out)
}

fn java_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_text(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                java_text(x, out);
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

impl Arg {
    fn eval(&self, input: &Value, cx: &Ctx, rng: &mut Rng) -> Result<Value, Fault> {
        Ok(match self {
            Arg::Str { text, .. } => Value::String(text.clone()),
            Arg::Num(n) => Value::Number(n.clone()),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Null => Value::Null,
            Arg::Call(c) => c.eval(input, cx, rng)?,
            Arg::Path(p) => match super::context::select(p, input, cx) {
                Some(v) => v.into_owned(),
                None => {
                    let doc = if p.root() == Root::Context {
                        cx.value()
                    } else {
                        input
                    };
                    return Err(Fault::runtime(format!(
                        "The JsonPath argument '{}' could not be found in the input '{}'",
                        p.text(),
                        encode::compact(doc)
                    )));
                }
            },
        })
    }
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn slice(&self, a: usize, b: usize) -> &str {
        std::str::from_utf8(self.s.get(a..b).unwrap_or_default()).unwrap_or("")
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_DEPTH {
            return Err("intrinsic calls nested too deeply".into());
        }
        self.ws();
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.')
        {
            self.i += 1;
        }
        let name = self.slice(start, self.i).to_string();
        let short = name.strip_prefix("States.").ok_or_else(|| {
            format!("'{name}' is not an intrinsic function (they start with 'States.')")
        })?;
        let func =
            Func::from_name(short).ok_or_else(|| format!("unknown intrinsic function '{name}'"))?;
        self.ws();
        if self.peek() != Some(b'(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let args = self.args(depth)?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(arity_message(func, args.len()));
        }
        if func == Func::Format {
            check_template(&args)?;
        }
        Ok(Call { func, args })
    }

    fn args(&mut self, depth: usize) -> Result<Vec<Arg>, String> {
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(b')') {
            self.i += 1;
            return Ok(args);
        }
        loop {
            args.push(self.arg(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(args);
                }
                _ => return Err(format!("expected ',' or ')' at offset {}", self.i)),
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        self.ws();
        match self.peek() {
            Some(b'\'') => self.string(),
            Some(b'$') => self.path(),
            Some(b'S') => Ok(Arg::Call(Box::new(self.call(depth + 1)?))),
            _ => self.scalar(),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.i += 1;
        let start = self.i;
        let mut text = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string literal".into()),
                Some(b'\\') => {
                    let c = self.s.get(self.i + 1).copied();
                    if !matches!(c, Some(b'\'' | b'{' | b'}' | b'\\')) {
                        return Err(
                            "open escape '\\' in a string literal (escape only ', {, } and \\)"
                                .into(),
                        );
                    }
                    text.extend(c);
                    self.i += 2;
                }
                Some(b'\'') => break,
                Some(c) => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
        let raw = self.slice(start, self.i).to_string();
        self.i += 1;
        let text =
            String::from_utf8(text).map_err(|_| "bad UTF-8 in a string literal".to_string())?;
        Ok(Arg::Str { raw, text })
    }

    fn path(&mut self) -> Result<Arg, String> {
        let start = self.i;
        let mut depth = 0i32;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(c),
                (None, b'[' | b'(') => depth += 1,
                (None, b']') => depth -= 1,
                (None, b')') if depth == 0 => break,
                (None, b')') => depth -= 1,
                (None, b',') if depth == 0 => break,
                (None, c) if c.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        Path::parse(self.slice(start, self.i)).map(Arg::Path)
    }

    fn scalar(&mut self) -> Result<Arg, String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
        {
            self.i += 1;
        }
        match serde_json::from_str::<Value>(self.slice(start, self.i)) {
            Ok(Value::Number(n)) => Ok(Arg::Num(n)),
            Ok(Value::Bool(b)) => Ok(Arg::Bool(b)),
            Ok(Value::Null) => Ok(Arg::Null),
            _ => Err(format!(
                "bad argument at offset {start}: expected a 'string', a number, a path or a call"
            )),
        }
    }
}

fn arity_message(func: Func, got: usize) -> String {
    let (min, max) = func.arity();
    let want = match (min, max) {
        (a, b) if a == b => format!("{a}"),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    };
    format!("{} takes {want} argument(s), got {got}", func.name())
}

/// A literal Format template must have one `{}` per remaining argument.
fn check_template(args: &[Arg]) -> Result<(), String> {
    let Some(Arg::Str { raw, .. }) = args.first() else {
        return Ok(());
    };
    let mut n = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                n += 1;
            }
            _ => {}
        }
    }
    if n + 1 != args.len() {
        return Err(format!(
            "States.Format template has {n} placeholder(s) but {} argument(s) follow",
            args.len() - 1
        ));
    }
    Ok(())
}
