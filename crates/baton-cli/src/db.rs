//! Opens the store a database URL names: PostgreSQL for `postgres://`, else a SQLite file.

use std::sync::Arc;

use anyhow::Context;
use baton_store::Store;

/// Opens and migrates the store at `database`.
pub async fn open(database: &str) -> anyhow::Result<Arc<dyn Store>> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let store = baton_store_postgres::PgStore::open(database)
            .await
            .with_context(|| format!("cannot open {}", crate::config::redact(database)))?;
        Ok(Arc::new(store))
    } else {
        let path = database
            .strip_prefix("sqlite://")
            .or_else(|| database.strip_prefix("sqlite:"))
            .unwrap_or(database);
        let store = baton_store_sqlite::SqliteStore::open(path)
            .await
            .with_context(|| format!("cannot open {path}"))?;
        Ok(Arc::new(store))
    }
}
