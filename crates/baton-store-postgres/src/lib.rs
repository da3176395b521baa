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

    /// The pool, for tests that need to reach under the store (e.g. to tamper).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
