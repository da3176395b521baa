//! Baton's `Store` on SQLite, the embedded default: WAL, `synchronous=FULL`,
//! one writer connection committing batches (group commit), readers on a pool.

mod backend;

#[doc(hidden)]
pub use backend::SqliteWriteTx;

use std::str::FromStr;
use std::time::Duration;

use baton_store::{StoreError, Writer};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The migrations of this backend, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A Baton store in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    /// The writer's one connection, shared with evaluate's streak
    /// transactions: they queue for it in order instead of sleeping in
    /// SQLite's busy handler.
    streaks: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, applies pending
    /// migrations and starts the writer task.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or migrated.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(StoreError::backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::backend(format!("cannot open {path}: {e}")))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::backend(format!("cannot migrate {path}: {e}")))?;
        // The writer's own pool of one connection: SQLite has one writer anyway.
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::backend(format!("cannot open {path}: {e}")))?;
        let writer = Writer::spawn(backend::SqliteWriteTx::new(write_pool.clone()));
        Ok(Self {
            pool,
            writer,
            streaks: write_pool,
        })
    }

    /// The read pool, for tests that need to reach under the store (e.g. to tamper).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}
