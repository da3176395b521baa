//! Baton's `Store` on PostgreSQL, for several instances sharing one database.
//!
//! Every write batch locks the one `chain_head` row, so the instances append
//! to a single hash chain in turn; claims go through a CTE with
//! `FOR UPDATE SKIP LOCKED`, so of concurrent claims on one item exactly one wins.

mod backend;
mod listen;

#[doc(hidden)]
pub use backend::PgWriteTx;

use std::str::FromStr;
use std::time::Duration;

use baton_store::{StoreError, Writer};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// The migrations of this backend, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A Baton store in a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    writer: Writer,
    /// Evaluate's streak transactions, on a small pool of their own: a turn
    /// waiting for another's row lock holds one of these, never one the
    /// writer or the reads need.
    streaks: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`), applies pending migrations and
    /// starts the writer task.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server is unreachable or migrations fail.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::backend)?;
        let streaks = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.clone());
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::backend(format!("cannot connect to postgres: {e}")))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::backend(format!("cannot migrate: {e}")))?;
        let writer = Writer::spawn(backend::PgWriteTx::new(pool.clone()));
        Ok(Self {
            streaks,
            pool,
            writer,
        })
    }

    /// A small pool on `url` without migrating: for creating test databases.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server is unreachable.
    pub async fn admin_pool(url: &str) -> Result<PgPool, StoreError> {
        PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(|e| StoreError::backend(format!("cannot connect to postgres: {e}")))
    }

    /// Creates an empty database named `baton_<purpose>_<random>` on the
    /// server of `url` (`postgres://…/db`, a database to connect to) and
    /// answers its URL and name: a scratch database for benchmarks. Drop it
    /// with [`PgStore::drop_scratch_database`].
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server is unreachable or refuses.
    pub async fn create_scratch_database(
        url: &str,
        purpose: &str,
    ) -> Result<(String, String), StoreError> {
        let name = format!("baton_{purpose}_{}", uuid::Uuid::new_v4().simple());
        let (base, _) = url
            .split('?')
            .next()
            .and_then(|u| u.rsplit_once('/'))
            .ok_or_else(|| StoreError::backend("the URL names no database"))?;
        let admin = Self::admin_pool(url).await?;
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await;
        admin.close().await;
        created.map_err(StoreError::backend)?;
        Ok((format!("{base}/{name}"), name))
    }

    /// Drops a database [`PgStore::create_scratch_database`] made,
    /// disconnecting whoever is still on it.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server is unreachable or refuses.
    pub async fn drop_scratch_database(url: &str, name: &str) -> Result<(), StoreError> {
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(StoreError::backend(format!(
                "not a scratch database: {name}"
            )));
        }
        let admin = Self::admin_pool(url).await?;
        let dropped = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
        admin.close().await;
        dropped.map_err(StoreError::backend)?;
        Ok(())
    }

    /// The pool, for tests that need to reach under the store (e.g. to tamper).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
