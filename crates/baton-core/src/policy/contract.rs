//! Payload contracts: a workflow's minimum acceptable payload, as JSON Schema
//! (draft 2020-12, no remote references), compiled once.

use std::sync::Arc;

use serde_json::Value;

use super::build::Loader;

/// A compiled payload contract.
#[derive(Debug, Clone)]
pub struct Contract {
    validator: Arc<jsonschema::Validator>,
}

/// One way a payload misses its contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractViolation {
    /// The field, as a dotted path under `context.payload`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Contract {
    /// Compiles a contract given inline (a TOML table) or as a path to a JSON file.
    ///
    /// # Errors
    /// A message naming the unreadable file or the schema problem.
    pub fn from_toml(value: &toml::Value, loader: Loader<'_>) -> Result<Self, String> {
        let schema: Value = match value {
            toml::Value::String(path) => {
                let text = loader(path).map_err(|e| format!("cannot read {path}: {e}"))?;
                serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?
            }
            toml::Value::Table(_) => serde_json::to_value(value).map_err(|e| e.to_string())?,
            _ => {
                return Err(
                    "give a JSON Schema as an inline table or a path to a .json file".into(),
                );
            }
        };
        Self::from_json(&schema)
    }

    /// Compiles a JSON Schema.
    ///
    /// # Errors
    /// The schema's problem.
    pub fn from_json(schema: &Value) -> Result<Self, String> {
        let validator =
            jsonschema::validator_for(schema).map_err(|e| format!("invalid JSON Schema: {e}"))?;
        Ok(Self {
            validator: Arc::new(validator),
        })
    }

    /// Every violation of the contract by `payload`, in schema order.
    pub fn check(&self, payload: &Value) -> Vec<ContractViolation> {
        self.validator
            .iter_errors(payload)
            .map(|e| {
                let pointer = e.instance_path().as_str().to_owned();
                let message = e.to_string();
                let mut field = String::from("context.payload");
                for segment in pointer.split('/').filter(|s| !s.is_empty()) {
                    field.push('.');
                    field.push_str(&segment.replace("~1", "/").replace("~0", "~"));
                }
                if let Some(name) = message
                    .strip_suffix(" is a required property")
                    .map(|q| q.trim_matches('"'))
                {
                    field.push('.');
                    field.push_str(name);
                }
                ContractViolation { field, message }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_name_the_payload_field() {
        let contract = Contract::from_json(&json!({
            "type": "object",
            "required": ["po_number", "amount"],
            "properties": {"amount": {"type": "number", "minimum": 0},
                           "vendor": {"type": "object", "required": ["id"]}}
        }))
        .unwrap();
        let fields = |payload| {
            let mut f: Vec<String> = contract
                .check(&payload)
                .into_iter()
                .map(|v| v.field)
                .collect();
            f.sort();
            f
        };
        assert_eq!(
            fields(json!({"po_number": "P1", "amount": 5})),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(json!({"amount": -1, "vendor": {}})),
            vec![
                "context.payload.amount",
                "context.payload.po_number",
                "context.payload.vendor.id"
            ]
        );
    }

    #[test]
    fn bad_schemas_and_files_are_reported() {
        let loader = |p: &str| -> Result<String, String> {
            if p == "ok.json" {
                Ok(r#"{"type": "object"}"#.into())
            } else {
                Err("no such file".into())
            }
        };
        assert!(Contract::from_toml(&toml::Value::String("ok.json".into()), &loader).is_ok());
        let err =
            Contract::from_toml(&toml::Value::String("gone.json".into()), &loader).unwrap_err();
        assert!(err.contains("cannot read gone.json"), "{err}");
        assert!(
            Contract::from_json(&json!({"type": 12}))
                .unwrap_err()
                .contains("invalid JSON Schema")
        );
    }
}
