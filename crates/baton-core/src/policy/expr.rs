//! `Expr`: the one entry point to CEL. Compiled once at load, with limits
//! checked before the parser sees the text, then evaluated against JSON facts.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;

/// Longest accepted expression, in bytes.
pub const MAX_EXPR_BYTES: usize = 4 * 1024;
/// Deepest accepted nesting of `(`, `[` and `{`.
pub const MAX_EXPR_DEPTH: usize = 100;

/// A compiled CEL condition, with its fast-path form when it has one
/// (see [`super::fast`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    program: Arc<cel::Program>,
    fast: Option<Arc<super::fast::Fast>>,
}

impl Expr {
    /// Compiles `source`, refusing it before parsing when it is over
    /// [`MAX_EXPR_BYTES`] or nested over [`MAX_EXPR_DEPTH`] levels, and after
    /// parsing when it names a variable outside `variables` (an empty slice
    /// allows any).
    ///
    /// # Errors
    /// A lowercase message saying what is wrong and how to fix it.
    pub fn compile(source: &str, variables: &[&str]) -> Result<Self, String> {
        if source.len() > MAX_EXPR_BYTES {
            return Err(format!(
                "the expression is {} bytes; the limit is {MAX_EXPR_BYTES}: split the rule",
                source.len()
            ));
        }
        let depth = nesting(source);
        if depth > MAX_EXPR_DEPTH {
            return Err(format!(
                "the expression nests {depth} levels; the limit is {MAX_EXPR_DEPTH}"
            ));
        }
        let program = cel::Program::compile(source)
            .map_err(|e| format!("invalid cel: {}", e.to_string().replace('\n', " ")))?;
        if !variables.is_empty() {
            let references = program.references();
            let mut unknown: Vec<&str> = references
                .variables()
                .into_iter()
                .filter(|v| !variables.contains(v) && !bound_by_macro(source, v))
                .collect();
            unknown.sort_unstable();
            unknown.dedup();
            if !unknown.is_empty() {
                return Err(format!(
                    "unknown variable {}; use {}",
                    unknown.join(", "),
                    variables.join(", ")
                ));
            }
        }
        Ok(Self {
            source: source.to_owned(),
            program: Arc::new(program),
            fast: super::fast::compile(source).map(Arc::new),
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates to a boolean in `scope` (see [`Facts::scope`]).
    ///
    /// # Errors
    /// A message when evaluation fails (a missing key, a type mismatch) or
    /// the result is not a boolean.
    pub fn matches(&self, scope: &Scope<'_>) -> Result<bool, String> {
        use super::fast::Outcome;
        if let Some(fast) = &self.fast {
            let outcome = super::fast::eval(fast, scope.json);
            if let Some(b) = outcome.as_bool() {
                return Ok(b);
            }
            if let Outcome::Error(e) = outcome {
                return Err(e);
            }
        }
        self.matches_cel(scope)
    }

    /// Evaluates with CEL alone, never the fast path.
    ///
    /// # Errors
    /// As [`Expr::matches`].
    pub fn matches_cel(&self, scope: &Scope<'_>) -> Result<bool, String> {
        match self.program.execute(scope.cel()) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("the expression gave {other:?}, not a boolean")),
            Err(err) => Err(err.to_string()),
        }
    }
}

/// Variables for [`Expr::matches`]: a JSON object, converted to CEL values
/// only if some rule needs CEL.
#[derive(Debug, Clone, Default)]
pub struct Facts(Json);

thread_local! {
    /// The standard functions, registered once per thread: building a fresh
    /// CEL context per rule cost ~20 µs, most of a decision's time.
    static ROOT: cel::Context<'static, 'static> = cel::Context::default();
}

/// An evaluation scope: the facts of one decision, and (built on first use)
/// a CEL context holding them over the standard functions.
pub struct Scope<'a> {
    json: &'a Json,
    root: &'a cel::Context<'static, 'static>,
    cel: std::cell::OnceCell<cel::Context<'a, 'static>>,
}

impl<'a> Scope<'a> {
    fn cel(&self) -> &cel::Context<'a, 'static> {
        self.cel.get_or_init(|| {
            let mut context = self.root.new_inner_scope();
            if let Json::Object(map) = self.json {
                for (name, value) in map {
                    context.add_variable_from_value(name.as_str(), to_cel(value));
                }
            }
            context
        })
    }
}

impl Facts {
    /// Runs `f` with a scope holding these facts; build one per decision and
    /// evaluate every rule in it.
    pub fn scope<R>(&self, f: impl FnOnce(&Scope<'_>) -> R) -> R {
        ROOT.with(|root| {
            f(&Scope {
                json: &self.0,
                root,
                cel: std::cell::OnceCell::new(),
            })
        })
    }

    /// Facts from the fields of a JSON object (anything else gives none).
    /// Every number becomes a CEL double, so `payload.amount > 5000` works
    /// whether the JSON said `5000` or `5000.0`.
    pub fn from_json(object: &Json) -> Self {
        match object {
            Json::Object(_) => Self(object.clone()),
            _ => Self::default(),
        }
    }

    /// Facts from an owned JSON object (anything else gives none).
    pub fn from_value(object: Json) -> Self {
        match object {
            Json::Object(_) => Self(object),
            _ => Self::default(),
        }
    }
}

fn to_cel(value: &Json) -> cel::Value {
    match value {
        Json::Null => cel::Value::Null,
        Json::Bool(b) => cel::Value::Bool(*b),
        Json::Number(n) => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => cel::Value::String(Arc::new(s.clone())),
        Json::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Json::Object(map) => {
            let map: HashMap<String, cel::Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::from(map)
        }
    }
}

/// Nesting depth of brackets outside string literals.
fn nesting(source: &str) -> usize {
    let (mut depth, mut max, mut quote, mut escaped) = (0usize, 0usize, None, false);
    for c in source.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    max
}

/// True if `name` is a macro's loop variable, as `x` in `list.exists(x, …)`.
fn bound_by_macro(source: &str, name: &str) -> bool {
    ["all", "exists", "exists_one", "map", "filter"]
        .iter()
        .any(|m| {
            source.match_indices(&format!("{m}(")).any(|(i, pat)| {
                source[i + pat.len()..]
                    .trim_start()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.trim_start().starts_with(','))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(source: &str, facts: Json) -> Result<bool, String> {
        let expr = Expr::compile(source, &[])?;
        Facts::from_json(&facts).scope(|scope| expr.matches(scope))
    }

    #[test]
    fn conditions_evaluate_over_json_facts() {
        let facts = json!({"confidence": 0.4, "intent": "loan_refinance",
                           "payload": {"amount": 7000, "po": null, "tags": ["vip"]}});
        let cases = [
            ("confidence < 0.7", Ok(true)),
            ("intent == 'loan_refinance'", Ok(true)),
            ("payload.amount > 5000", Ok(true)),
            ("payload.amount > 5000.5 && confidence > 0.5", Ok(false)),
            ("has(payload.po) && payload.po == null", Ok(true)),
            ("'vip' in payload.tags", Ok(true)),
            ("payload.tags.exists(t, t == 'vip')", Ok(true)),
        ];
        for (source, want) in cases {
            assert_eq!(eval(source, facts.clone()), want, "{source}");
        }
        assert!(eval("payload.missing > 1", facts.clone()).is_err());
        assert!(
            eval("confidence + 1.0", facts)
                .unwrap_err()
                .contains("not a boolean")
        );
    }

    #[test]
    fn limits_are_checked_before_parsing() {
        let long = format!("confidence < 0.5 || {}", "true || ".repeat(600)) + "true";
        assert!(
            Expr::compile(&long, &[])
                .unwrap_err()
                .contains("limit is 4096")
        );
        let deep = format!("{}true{}", "(".repeat(101), ")".repeat(101));
        assert!(
            Expr::compile(&deep, &[])
                .unwrap_err()
                .contains("nests 101 levels")
        );
        let ok = format!("{}true{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(nesting(&ok), 100);
        assert_eq!(nesting("'((((' == text"), 0);
    }

    #[test]
    fn unknown_variables_and_bad_syntax_are_refused() {
        let vars = ["confidence", "payload"];
        assert!(
            Expr::compile("confidnce < 0.5", &vars)
                .unwrap_err()
                .contains("unknown variable confidnce")
        );
        assert!(Expr::compile("payload.items.all(i, i.ok)", &vars).is_ok());
        assert!(
            Expr::compile("confidence <", &vars)
                .unwrap_err()
                .starts_with("invalid cel")
        );
    }
}
