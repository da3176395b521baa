//! The active policy, swapped whole on reload so a request sees one version
//! from start to end.

use std::sync::{Arc, RwLock};

use baton_core::policy::{Policy, PolicyError};

/// A built policy with the text it came from.
#[derive(Debug)]
pub struct LoadedPolicy {
    /// The compiled policy.
    pub policy: Policy,
    /// Its TOML text.
    pub text: String,
}

/// The active policy; cheap to read, replaced only by a policy that builds clean.
#[derive(Debug)]
pub struct PolicyHandle {
    current: RwLock<Arc<LoadedPolicy>>,
}

impl PolicyHandle {
    /// A handle holding `policy` built from `text`.
    pub fn new(policy: Policy, text: String) -> Self {
        Self {
            current: RwLock::new(Arc::new(LoadedPolicy { policy, text })),
        }
    }

    /// The built-in default policy.
    pub fn default_policy() -> Self {
        Self::new(
            Policy::default_policy(),
            baton_core::policy::DEFAULT_POLICY.to_owned(),
        )
    }

    /// The active policy.
    pub fn current(&self) -> Arc<LoadedPolicy> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Builds `text` and, only if it builds clean, makes it the active policy.
    ///
    /// # Errors
    /// Every problem of the new text; the active policy is then unchanged.
    pub fn replace(
        &self,
        text: &str,
        loader: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Arc<LoadedPolicy>, Vec<PolicyError>> {
        let policy = Policy::build(text, loader)?;
        let loaded = Arc::new(LoadedPolicy {
            policy,
            text: text.to_owned(),
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded.clone();
        Ok(loaded)
    }
}
