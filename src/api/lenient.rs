//! Forgiving serde helpers for the shapes the Tallyfy API is known to send (see
//! ../shared/tallyfy-api.md): ids that are numbers or strings, scalars where strings are
//! expected, `links` as `[]`, `{}` or null. Anything unexpected decodes to "absent", never to an
//! error, so one odd field cannot break a page of guests.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Any scalar as text; null, arrays and objects as absent. Empty strings are absent too.
pub(super) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(scalar_text(Value::deserialize(d)?))
}

/// An id that is an integer in newer payloads and a string code in older ones, kept exactly as
/// the server wrote it: read as its raw JSON text, so an integer beyond 2^64 stays its digits
/// (as a `Value` it became the float `1e40`), and a string is unescaped as usual.
pub(super) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
    Ok(raw_id(raw))
}

/// The text of a raw id: a number's own digits, a string's content, true/false as words;
/// null, arrays and objects are no id.
fn raw_id(raw: Box<serde_json::value::RawValue>) -> String {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'"') if !text.contains('\\') => text[1..text.len() - 1].to_string(),
        Some(b'"') => serde_json::from_str(text).unwrap_or_default(),
        Some(b'-' | b'0'..=b'9') if text.len() == raw.get().len() => Box::<str>::from(raw).into_string(),
        Some(b'-' | b'0'..=b'9' | b't' | b'f') => text.to_string(),
        _ => String::new(),
    }
}

/// A count that may come as a number, a numeric string, or null.
pub(super) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(value_u64(&Value::deserialize(d)?))
}

/// Like [`opt_u64`] but absent means zero (pagination counters).
pub(super) fn u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(value_u64(&Value::deserialize(d)?).unwrap_or(0))
}

/// Member ids: an array of numbers or numeric strings; anything else is skipped.
pub(super) fn member_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.iter().filter_map(value_u64).collect(),
        other => value_u64(&other).into_iter().collect(),
    })
}

/// An object's member as text: a string (empty is none) or a number.
pub(super) fn text_of(map: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).cloned().and_then(scalar_text)
}

fn scalar_text(value: Value) -> Option<String> {
    match value {
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn value_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}
