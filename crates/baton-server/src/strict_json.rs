//! JSON read strictly: a key twice in one object, or U+0000 in any string
//! or key, is refused naming its path; numbers keep their exact text.
//!
//! `serde_json::Value` keeps the last of duplicate keys and PostgreSQL
//! cannot store U+0000, so both are found here, in the one pass that parses
//! the body, before any handler or database sees it. Numbers are exact
//! because serde_json is built with `arbitrary_precision`.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The key serde_json uses to carry a number's text with `arbitrary_precision`.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Why a body that is valid JSON text is still refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The same key twice in one object; the path of the repeated key.
    DuplicateKey(String),
    /// U+0000 in a string or key; the path of the field.
    Nul(String),
}

/// Why [`parse`] failed.
#[derive(Debug)]
pub enum StrictError {
    /// Not one JSON value.
    Syntax(serde_json::Error),
    /// Valid JSON refused for a [`Problem`].
    Refused(Problem),
}

/// Parses `bytes` as exactly one JSON value, refusing duplicate keys and NUL.
///
/// # Errors
/// [`StrictError`] saying why.
pub fn parse(bytes: &[u8]) -> Result<Value, StrictError> {
    let problem = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Seed {
        path: String::new(),
        problem: &problem,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, problem.into_inner()) {
        (_, Some(problem)) => Err(StrictError::Refused(problem)),
        (Ok(value), None) => Ok(value),
        (Err(err), None) => Err(StrictError::Syntax(err)),
    }
}

/// Builds a `Value` at `path`, recording the first problem met.
struct Seed<'a> {
    path: String,
    problem: &'a RefCell<Option<Problem>>,
}

impl Seed<'_> {
    fn child(&self, path: String) -> Self {
        Seed {
            path,
            problem: self.problem,
        }
    }

    fn refuse<E: serde::de::Error>(&self, problem: Problem) -> E {
        let message = format!("{problem:?}");
        self.problem.borrow_mut().get_or_insert(problem);
        E::custom(message)
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn text<E: serde::de::Error>(&self, s: String) -> Result<Value, E> {
        if s.contains('\0') {
            let path = if self.path.is_empty() {
                "body".to_owned()
            } else {
                self.path.clone()
            };
            return Err(self.refuse(Problem::Nul(path)));
        }
        Ok(Value::String(s))
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.text(v.to_owned())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.text(v)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == NUMBER_TOKEN && out.is_empty() {
                // A number, carried as its exact text (`arbitrary_precision`).
                let text: String = map.next_value()?;
                let number: Number = text.parse().map_err(A::Error::custom)?;
                return Ok(Value::Number(number));
            }
            let path = self.key_path(&key);
            if key.contains('\0') {
                return Err(self.refuse(Problem::Nul(path)));
            }
            if out.contains_key(&key) {
                return Err(self.refuse(Problem::DuplicateKey(path)));
            }
            let value = map.next_value_seed(self.child(path))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<Problem> {
        match parse(text.as_bytes()) {
            Err(StrictError::Refused(p)) => Some(p),
            _ => None,
        }
    }

    #[test]
    fn duplicate_keys_are_named_at_any_depth() {
        assert_eq!(
            problem(r#"{"a": 1, "a": 2}"#),
            Some(Problem::DuplicateKey("a".into()))
        );
        assert_eq!(
            problem(r#"{"context": {"payload": {"x": [{"k": 1, "k": 1}]}}}"#),
            Some(Problem::DuplicateKey("context.payload.x[0].k".into()))
        );
        assert!(parse(br#"{"a": {"k": 1}, "b": {"k": 1}}"#).is_ok());
    }

    #[test]
    fn nul_is_named_in_values_and_keys() {
        assert_eq!(
            problem(r#"{"title": "a\u0000b"}"#),
            Some(Problem::Nul("title".into()))
        );
        assert_eq!(
            problem(r#"{"p": {"k\u0000": 1}}"#),
            Some(Problem::Nul("p.k\0".into()))
        );
        assert_eq!(problem(r#""\u0000""#), Some(Problem::Nul("body".into())));
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        let text =
            r#"{"big":123456789012345678901234567890,"f":0.1,"n":-7,"x":-12345678901234567890.5}"#;
        let value = parse(text.as_bytes()).unwrap();
        assert_eq!(value.to_string(), text);
        assert!(matches!(
            parse(b"{\"a\": 1} x"),
            Err(StrictError::Syntax(_))
        ));
    }
}
