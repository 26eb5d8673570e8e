//! How a parameter struct travels through links and command lines: its serde field names are the
//! keys, each key is decoded on its own over the defaults, and a key that is unknown, malformed
//! or out of range leaves its field at the default with a notice instead of failing. Also the
//! link's outer form: `key=value` pairs joined by `&`, %-encoded.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// A field whose value parses but makes no sense (a range, a matrix that is not SPD).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A demo's parameters, round-tripped through the link.
pub trait UrlParams:
    Serialize + DeserializeOwned + Default + Clone + PartialEq + std::fmt::Debug
{
    /// Checks that types alone cannot express. An empty list means the state is usable.
    fn problems(&self) -> Vec<FieldProblem>;

    /// Option lists of the fields that take one of a closed set of names, for the page's controls.
    fn choices() -> Vec<(&'static str, Vec<&'static str>)>;
}

/// The names of a closed set of options, for the page's selectors and the CLI's help.
pub fn choice_names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|c| name(*c)).collect()
}

/// Adds a problem when `value` lies outside `low..=high` (NaN included).
pub fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    problems: &mut Vec<FieldProblem>,
    field: &'static str,
    value: T,
    low: T,
    high: T,
) {
    if !(value >= low && value <= high) {
        problems.push(FieldProblem::new(
            field,
            format!("{value} is outside {low}…{high}"),
        ));
    }
}

/// Adds a problem unless `0 < value ≤ high`.
pub fn check_positive(
    problems: &mut Vec<FieldProblem>,
    field: &'static str,
    value: f64,
    high: f64,
) {
    if !(value > 0.0 && value <= high) {
        problems.push(FieldProblem::new(
            field,
            format!("{value} must be above 0 and at most {high}"),
        ));
    }
}

/// A finite number in a compact link value, or why not.
pub fn finite_number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a finite number"))
}

/// Link values with a compact text form (`a,b,d`, `brush;x,y;…`) serialise as that text.
#[macro_export]
macro_rules! serde_as_text {
    ($($name:ty),*) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

/// A parameter struct as its JSON object: one entry per link key.
pub fn to_object<T: Serialize>(params: &T) -> Map<String, Value> {
    match serde_json::to_value(params) {
        Ok(Value::Object(map)) => map,
        other => unreachable!("parameter structs serialize to objects, got {other:?}"),
    }
}

/// A parameter struct as link pairs, in field order, values as their link text.
pub fn encode_params<T: UrlParams>(params: &T) -> Vec<(String, String)> {
    to_object(params)
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

/// Applies each pair on its own over the defaults; later pairs win over earlier ones, and a
/// rejected pair leaves whatever value the field had.
pub fn decode_params<T: UrlParams>(pairs: &[(String, String)], notices: &mut Vec<String>) -> T {
    let defaults = to_object(&T::default());
    let mut current = defaults.clone();
    for (key, raw) in pairs {
        let Some(template) = defaults.get(key) else {
            notices.push(format!("unknown parameter `{key}` ignored"));
            continue;
        };
        let accepted = parse_like(template, raw).and_then(|value| {
            let mut candidate = current.clone();
            candidate.insert(key.clone(), value);
            serde_json::from_value::<T>(Value::Object(candidate.clone()))
                .map(|_| candidate)
                .map_err(|e| e.to_string())
        });
        match accepted {
            Ok(candidate) => current = candidate,
            Err(why) => notices.push(format!(
                "{key}: `{raw}` rejected ({why}); kept {}",
                value_text(&current[key])
            )),
        }
    }
    // Out-of-range fields go back to their defaults, one at a time, so a cross-field check
    // settles; the number of rounds is bounded by the number of fields.
    for _ in 0..=defaults.len() {
        let params: T = serde_json::from_value(Value::Object(current.clone()))
            .expect("every accepted field deserialized on its own");
        let problems = params.problems();
        let Some(problem) = problems.first() else {
            return params;
        };
        let default = defaults[problem.field].clone();
        notices.push(format!(
            "{}: {}; using the default {}",
            problem.field,
            problem.message,
            value_text(&default)
        ));
        current.insert(problem.field.to_string(), default);
    }
    notices.push("parameters were inconsistent; using all defaults".into());
    T::default()
}

/// A JSON value as the text a link or a message shows (strings without quotes).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns the link's text into a JSON value of the same kind as the field's default.
fn parse_like(template: &Value, raw: &str) -> Result<Value, String> {
    match template {
        Value::Bool(_) => match raw {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".into()),
        },
        Value::Number(_) => {
            if let Ok(n) = raw.parse::<u64>() {
                return Ok(Value::Number(n.into()));
            }
            if let Ok(n) = raw.parse::<i64>() {
                return Ok(Value::Number(n.into()));
            }
            raw.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| "not a finite number".into())
        }
        Value::String(_) => Ok(Value::String(raw.to_string())),
        _ => serde_json::from_str(raw).map_err(|e| e.to_string()),
    }
}

/// The `key=value` pairs of a link's text, %-decoded; a malformed segment is skipped with a notice.
pub fn split_pairs(hash: &str, notices: &mut Vec<String>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for segment in hash.split('&').filter(|s| !s.is_empty()) {
        let Some((key, value)) = segment.split_once('=') else {
            notices.push(format!("`{}` is not key=value; ignored", shorten(segment)));
            continue;
        };
        match (percent_decode(key), percent_decode(value)) {
            (Ok(key), Ok(value)) => pairs.push((key, value)),
            _ => notices.push(format!(
                "`{}` has a broken %-escape; ignored",
                shorten(segment)
            )),
        }
    }
    pairs
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.~,".contains(&byte)
}

/// %-encodes every byte but the unreserved ones (and `,`, which the compact values use).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Undoes [`percent_encode`]; fails on a broken escape or bytes that are not UTF-8.
pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("broken %-escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding_round_trips_unicode() {
        let text = "a b&c=d%é☃";
        assert_eq!(percent_decode(&percent_encode(text)).unwrap(), text);
        assert!(percent_decode("%e").is_err());
        assert!(percent_decode("%ff").is_err());
    }
}
