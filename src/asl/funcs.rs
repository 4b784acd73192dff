//! Reads evaluated argument values of an intrinsic call; produces the function's result or a message for States.IntrinsicFailure.

use super::encode;
use super::intrinsic::Func;
use super::rng::Rng;
use serde_json::{Map, Value};
use sha2::Digest;

type R = Result<Value, String>;

/// Most characters Base64Encode, Base64Decode and Hash accept.
const MAX_TEXT: usize = 10_000;
/// Most elements ArrayRange may produce.
const MAX_RANGE: i64 = 1000;

/// Applies `func` (anything but Format) to `v`.
pub(crate) fn apply(func: Func, v: &[Value], rng: &mut Rng) -> R {
    let a = |i: usize| v.get(i).unwrap_or(&Value::Null);
    match func {
        Func::Format => Err("Format is evaluated by the caller".into()),
        Func::StringToJson => {
            serde_json::from_str(string(a(0))?).map_err(|e| format!("not JSON text: {e}"))
        }
        Func::JsonToString => Ok(Value::String(encode::compact(a(0)))),
        Func::Array => Ok(Value::Array(v.to_vec())),
        Func::ArrayPartition => partition(array(a(0))?, int(a(1))?),
        Func::ArrayContains => Ok(Value::Bool(array(a(0))?.contains(a(1)))),
        Func::ArrayRange => range(int(a(0))?, int(a(1))?, int(a(2))?),
        Func::ArrayGetItem => get_item(array(a(0))?, int(a(1))?),
        Func::ArrayLength => Ok(array(a(0))?.len().into()),
        Func::ArrayUnique => Ok(unique(array(a(0))?)),
        Func::Base64Encode => Ok(Value::String(encode::base64_encode(
            limited(a(0))?.as_bytes(),
        ))),
        Func::Base64Decode => base64_decode(limited(a(0))?),
        Func::Hash => hash(limited(a(0))?, string(a(1))?),
        Func::JsonMerge => merge(a(0), a(1), a(2)),
        Func::MathRandom => random(v, rng),
        Func::MathAdd => rounded(a(0))?
            .checked_add(rounded(a(1))?)
            .map(Value::from)
            .ok_or_else(|| "overflow".into()),
        Func::StringSplit => Ok(split(string(a(0))?, string(a(1))?)),
        Func::Uuid => Ok(Value::String(rng.uuid_v4())),
    }
}

fn string(v: &Value) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected a string, got {}", encode::compact(v)))
}

fn limited(v: &Value) -> Result<&str, String> {
    let s = string(v)?;
    if s.chars().count() > MAX_TEXT {
        return Err(format!("the string is longer than {MAX_TEXT} characters"));
    }
    Ok(s)
}

fn array(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected an array, got {}", encode::compact(v)))
}

fn int(v: &Value) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(format!("expected an integer, got {}", encode::compact(v))),
    }
}

/// A number rounded to the nearest integer, halves up (Java's `Math.round`): Step Functions
/// rounds non-integer arguments of `States.MathAdd`.
fn rounded(v: &Value) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.abs() < 9.0e15 => Ok((f + 0.5).floor() as i64),
        _ => Err(format!("expected a number, got {}", encode::compact(v))),
    }
}

fn partition(arr: &[Value], size: i64) -> R {
    if size <= 0 {
        return Err("the chunk size must be a positive integer".into());
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
    ))
}

fn range(start: i64, end: i64, step: i64) -> R {
    if step == 0 {
        return Err("the step must not be 0".into());
    }
    let count = (end as i128 - start as i128) / step as i128 + 1;
    if count > MAX_RANGE as i128 {
        return Err(format!(
            "the range would have more than {MAX_RANGE} elements"
        ));
    }
    let mut out = Vec::new();
    let mut x = start as i128;
    while (step > 0 && x <= end as i128) || (step < 0 && x >= end as i128) {
        out.push(Value::from(x as i64));
        x += step as i128;
    }
    Ok(Value::Array(out))
}

fn get_item(arr: &[Value], i: i64) -> R {
    usize::try_from(i)
        .ok()
        .and_then(|i| arr.get(i))
        .cloned()
        .ok_or_else(|| format!("index {i} is out of bounds for an array of {}", arr.len()))
}

fn unique(arr: &[Value]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for x in arr {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    Value::Array(out)
}

fn base64_decode(s: &str) -> R {
    let bytes = encode::base64_decode(s).ok_or("not valid base64")?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "the decoded bytes are not UTF-8".into())
}

fn hash(s: &str, algo: &str) -> R {
    let b = s.as_bytes();
    let digest = match algo {
        "MD5" => md5::Md5::digest(b).to_vec(),
        "SHA-1" => sha1::Sha1::digest(b).to_vec(),
        "SHA-256" => sha2::Sha256::digest(b).to_vec(),
        "SHA-384" => sha2::Sha384::digest(b).to_vec(),
        "SHA-512" => sha2::Sha512::digest(b).to_vec(),
        _ => {
            return Err(format!(
                "unknown algorithm '{algo}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
            ));
        }
    };
    Ok(Value::String(encode::hex(&digest)))
}

fn merge(a: &Value, b: &Value, deep: &Value) -> R {
    let (Value::Object(x), Value::Object(y)) = (a, b) else {
        return Err("both values to merge must be objects".into());
    };
    match deep {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err("deep merge is not supported; pass false".into()),
        _ => return Err("the third argument must be a boolean".into()),
    }
    let mut out: Map<String, Value> = x.clone();
    for (k, v) in y {
        out.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(out))
}

fn random(v: &[Value], rng: &mut Rng) -> R {
    let lo = int(v.first().unwrap_or(&Value::Null))?;
    let hi = int(v.get(1).unwrap_or(&Value::Null))?;
    if lo >= hi {
        return Err("the start must be less than the end".into());
    }
    Ok(match v.get(2) {
        Some(seed) => Rng::new(int(seed)? as u64).range_i64(lo, hi),
        None => rng.range_i64(lo, hi),
    }
    .into())
}

fn split(s: &str, delims: &str) -> Value {
    let parts = s
        .split(|c: char| delims.contains(c))
        .filter(|p| !p.is_empty())
        .map(|p| Value::String(p.to_string()));
    Value::Array(parts.collect())
}
