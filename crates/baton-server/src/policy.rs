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
    reloading: tokio::sync::Mutex<()>,
}

impl PolicyHandle {
    /// A handle holding `policy` built from `text`.
    pub fn new(policy: Policy, text: String) -> Self {
        Self {
            current: RwLock::new(Arc::new(LoadedPolicy { policy, text })),
            reloading: tokio::sync::Mutex::new(()),
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

    /// Builds `text` and, only if it builds clean, keeps its version with
    /// `keep` (the store) and then makes it the active policy. Reloads run one
    /// at a time, so a slow reload never overwrites a later one.
    ///
    /// # Errors
    /// Every problem of the new text, or `keep`'s error; the active policy is
    /// then unchanged.
    pub async fn reload<F, Fut>(
        &self,
        text: &str,
        loader: &(dyn Fn(&str) -> Result<String, String> + Sync),
        keep: F,
    ) -> Result<Arc<LoadedPolicy>, ReloadError>
    where
        F: FnOnce(String, String) -> Fut,
        Fut: std::future::Future<Output = Result<(), baton_store::StoreError>>,
    {
        let _one_at_a_time = self.reloading.lock().await;
        let policy = Policy::build(text, loader).map_err(ReloadError::Invalid)?;
        keep(policy.version.clone(), text.to_owned())
            .await
            .map_err(ReloadError::Store)?;
        let loaded = Arc::new(LoadedPolicy {
            policy,
            text: text.to_owned(),
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded.clone();
        Ok(loaded)
    }
}

/// Why a reload did not happen.
#[derive(Debug)]
pub enum ReloadError {
    /// The text does not check clean.
    Invalid(Vec<PolicyError>),
    /// Its version could not be kept.
    Store(baton_store::StoreError),
}
