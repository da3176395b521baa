//! The active policy: the database says which version is active for every
//! instance; this handle holds it built, swapped whole so a request sees one
//! version from start to end. Activations (`PUT /v1/policy`, `serve
//! --policy`, SIGHUP) go through [`PolicyHandle::activate`]; the watcher
//! (`policy_watch`) adopts versions other instances activated with
//! [`PolicyHandle::sync`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use baton_core::policy::{Policy, PolicyError};
use baton_store::{ActivatePolicy, Activated, Store, StoreError, StoredPolicy};
use jiff::Timestamp;

/// A built policy with the text and files it came from.
#[derive(Debug)]
pub struct LoadedPolicy {
    /// The compiled policy (shared with the writer's commands).
    pub policy: Arc<Policy>,
    /// Its TOML text.
    pub text: String,
    /// The files the text loaded (contracts), by the path the text names.
    pub files: BTreeMap<String, String>,
}

/// Who activates a policy, and how; recorded in the `policy_activated` event.
#[derive(Debug, Clone)]
pub struct Activation {
    /// A token name, or `serve --policy`.
    pub actor: String,
    /// `api`, `serve --policy`, `sighup` or `serve`.
    pub source: String,
    /// When.
    pub now: Timestamp,
}

/// The active policy; cheap to read, replaced only by a policy that builds
/// clean and is active in the database.
#[derive(Debug)]
pub struct PolicyHandle {
    current: RwLock<Arc<LoadedPolicy>>,
    switching: tokio::sync::Mutex<()>,
}

impl PolicyHandle {
    /// A handle holding `policy` built from `text` (which loaded no files).
    pub fn new(policy: impl Into<Arc<Policy>>, text: String) -> Self {
        Self::with_files(policy, text, BTreeMap::new())
    }

    /// A handle holding `policy` built from `text` and the `files` it loaded.
    pub fn with_files(
        policy: impl Into<Arc<Policy>>,
        text: String,
        files: BTreeMap<String, String>,
    ) -> Self {
        Self {
            current: RwLock::new(Arc::new(LoadedPolicy {
                policy: policy.into(),
                text,
                files,
            })),
            switching: tokio::sync::Mutex::new(()),
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

    fn set(&self, loaded: Arc<LoadedPolicy>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded;
    }

    /// Builds `text` (loading files with `loader`) and, only if it builds
    /// clean, activates it in the store for every instance and then here.
    /// Switches run one at a time, so a slow one never overwrites a later one.
    ///
    /// # Errors
    /// Every problem of the new text, or the store's error; the active
    /// policy is then unchanged.
    pub async fn activate(
        &self,
        store: &dyn Store,
        text: &str,
        loader: &(dyn Fn(&str) -> Result<String, String> + Sync),
        who: Activation,
    ) -> Result<(Arc<LoadedPolicy>, Activated), ReloadError> {
        let loaded = Arc::new(build_recording(text, loader).map_err(ReloadError::Invalid)?);
        let _one_at_a_time = self.switching.lock().await;
        let activated = self
            .activate_loaded(store, &loaded, who, false)
            .await
            .map_err(ReloadError::Store)?;
        self.set(loaded.clone());
        Ok((loaded, activated))
    }

    /// Activates the policy this handle holds (start-up: `--policy`, the
    /// demo's, or the built-in default in an empty database).
    ///
    /// # Errors
    /// The store's.
    pub async fn activate_current(
        &self,
        store: &dyn Store,
        who: Activation,
    ) -> Result<Activated, StoreError> {
        let _one_at_a_time = self.switching.lock().await;
        self.activate_loaded(store, &self.current(), who, false)
            .await
    }

    /// Activates the policy this handle holds only if the database has no
    /// active version (a first start-up's default); if another instance
    /// activated one meanwhile, adopts that one instead.
    ///
    /// # Errors
    /// The store's, or the stored version's build errors.
    pub async fn activate_if_none(
        &self,
        store: &dyn Store,
        who: Activation,
    ) -> Result<(), SyncError> {
        let activated = {
            let _one_at_a_time = self.switching.lock().await;
            self.activate_loaded(store, &self.current(), who, true)
                .await
                .map_err(SyncError::Store)?
        };
        if activated.event.is_none() {
            self.sync(store).await?;
        }
        Ok(())
    }

    async fn activate_loaded(
        &self,
        store: &dyn Store,
        loaded: &LoadedPolicy,
        who: Activation,
        only_if_none_active: bool,
    ) -> Result<Activated, StoreError> {
        store
            .activate_policy(ActivatePolicy {
                version: loaded.policy.version.clone(),
                text: loaded.text.clone(),
                files: loaded.files.clone(),
                actor: who.actor,
                source: who.source,
                now: who.now,
                only_if_none_active,
            })
            .await
    }

    /// Makes the database's active version the one here, if it differs.
    /// Answers the newly adopted policy, or `None` when nothing changed (or
    /// the database has no active version yet).
    ///
    /// # Errors
    /// The store's, or the stored text's build errors (the active policy
    /// here then stays).
    pub async fn sync(&self, store: &dyn Store) -> Result<Option<Arc<LoadedPolicy>>, SyncError> {
        let _one_at_a_time = self.switching.lock().await;
        let Some(stored) = store.active_policy().await.map_err(SyncError::Store)? else {
            return Ok(None);
        };
        if stored.version == self.current().policy.version {
            return Ok(None);
        }
        let version = stored.version.clone();
        let loaded = Arc::new(
            build_stored(stored).map_err(|errors| SyncError::Invalid { version, errors })?,
        );
        self.set(loaded.clone());
        Ok(Some(loaded))
    }
}

/// Builds `text`, keeping every file `loader` gave it.
///
/// # Errors
/// Every build error.
pub fn build_recording(
    text: &str,
    loader: &(dyn Fn(&str) -> Result<String, String> + Sync),
) -> Result<LoadedPolicy, Vec<PolicyError>> {
    let files = RefCell::new(BTreeMap::new());
    let recording = |path: &str| {
        let content = loader(path)?;
        files.borrow_mut().insert(path.to_owned(), content.clone());
        Ok(content)
    };
    let policy = Policy::build(text, &recording)?;
    Ok(LoadedPolicy {
        policy: Arc::new(policy),
        text: text.to_owned(),
        files: files.into_inner(),
    })
}

/// Builds a policy as the database keeps it: its files come from the
/// database too, never from this machine's disk.
///
/// # Errors
/// Every build error (e.g. a policy written for a newer Baton).
pub fn build_stored(stored: StoredPolicy) -> Result<LoadedPolicy, Vec<PolicyError>> {
    let files = stored.files;
    let loader = |path: &str| {
        files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("{path}: not among the files kept with this policy version"))
    };
    let policy = Policy::build(&stored.text, &loader)?;
    Ok(LoadedPolicy {
        policy: Arc::new(policy),
        text: stored.text,
        files,
    })
}

/// Why an activation did not happen.
#[derive(Debug)]
pub enum ReloadError {
    /// The text does not check clean.
    Invalid(Vec<PolicyError>),
    /// It could not be activated in the store.
    Store(StoreError),
}

/// Why the database's active version was not adopted.
#[derive(Debug)]
pub enum SyncError {
    /// The store did not answer.
    Store(StoreError),
    /// The stored version does not build here.
    Invalid {
        /// The version active in the database.
        version: String,
        /// Its build errors.
        errors: Vec<PolicyError>,
    },
}
