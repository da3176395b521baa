//! SQL shared by the backends: both dialects accept these statements as they
//! are (`$n` placeholders, `BIGINT` microseconds, JSON as `TEXT`), so the
//! query logic lives once and each backend only binds and reads.

use baton_core::event::from_micros;
use baton_core::{Event, EventKind, Handoff, Role};

use crate::{HandoffQuery, Sort, StoreError, TokenRecord};

/// A bind parameter of a built query.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A text value.
    Text(String),
    /// An integer value.
    Int(i64),
}

/// Columns of an event row, in [`EventRow`] order.
pub const EVENT_COLUMNS: &str =
    "position, handoff_id, seq, kind, actor, at_us, data, prev_hash, hash";
/// Columns of a token row, in [`TokenRow`] order.
pub const TOKEN_COLUMNS: &str =
    "id, name, role, groups_json, workflows_json, hash, created_us, revoked_us";

/// Events after a position: `$1` position, `$2` limit.
pub const EVENTS_AFTER: &str = "SELECT position, handoff_id, seq, kind, actor, at_us, data, prev_hash, hash \
     FROM events WHERE position > $1 ORDER BY position LIMIT $2";
/// A handoff's events: `$1` id.
pub const HANDOFF_EVENTS: &str = "SELECT position, handoff_id, seq, kind, actor, at_us, data, prev_hash, hash \
     FROM events WHERE handoff_id = $1 ORDER BY seq";
/// One handoff's document: `$1` id.
pub const HANDOFF_DOC: &str = "SELECT doc FROM handoffs WHERE id = $1";
/// Impact and creation time of open handoffs.
pub const OPEN_AGES: &str =
    "SELECT impact, created_us FROM handoffs WHERE state IN ('pending', 'in_progress', 'waiting')";
/// Open handoffs per owner group and impact: count and oldest creation (µs).
pub const OPEN_TOTALS: &str = "SELECT owner_group, impact, COUNT(*), MIN(created_us) FROM handoffs \
     WHERE state IN ('pending', 'in_progress', 'waiting') GROUP BY owner_group, impact";
/// Set a reviewer's availability: reviewer, available (0/1), now µs.
pub const SET_AVAILABILITY: &str = "INSERT INTO availability (reviewer, available, updated_us) VALUES ($1, $2, $3) \
     ON CONFLICT (reviewer) DO UPDATE SET available = excluded.available, updated_us = excluded.updated_us";
/// Whether a reviewer is available: reviewer.
pub const IS_AVAILABLE: &str = "SELECT available FROM availability WHERE reviewer = $1";
/// Available reviewers and their last assignment µs.
pub const AVAILABLE_REVIEWERS: &str =
    "SELECT reviewer, last_assigned_us FROM availability WHERE available = 1 ORDER BY reviewer";
/// Record a reviewer's turn: reviewer, now µs.
pub const MARK_ASSIGNED: &str = "INSERT INTO availability (reviewer, available, updated_us, last_assigned_us) \
     VALUES ($1, 0, $2, $2) ON CONFLICT (reviewer) DO UPDATE SET last_assigned_us = excluded.last_assigned_us";
/// Open items per assignee.
pub const REVIEWER_LOADS: &str = "SELECT assignee, COUNT(*) FROM handoffs \
     WHERE state IN ('pending', 'in_progress', 'waiting') AND assignee IS NOT NULL GROUP BY assignee";
/// A group's pending unassigned handoffs, oldest first: group, limit.
pub const UNASSIGNED_PENDING: &str = "SELECT id FROM handoffs \
     WHERE owner_group = $1 AND state = 'pending' AND assignee IS NULL \
     ORDER BY created_us, id LIMIT $2";
/// Handoffs created in `[$1, $2)` µs per reason.
pub const REASON_COUNTS: &str = "SELECT reason, COUNT(*) FROM handoffs \
     WHERE created_us >= $1 AND created_us < $2 GROUP BY reason";
/// Columns of a new handoff row, bound in this order by the backends.
pub const HANDOFF_INSERT_COLUMNS: &str = "handoffs (id, workflow, owner_group, impact, reason, state, assignee, created_us, updated_us, last_seq, doc)";
/// Columns of an idempotency key row: key, handoff id, body hash.
pub const IDEMPOTENCY_INSERT_COLUMNS: &str = "idempotency_keys (key, handoff_id, body_hash)";
/// Columns of an event row, as [`EVENT_COLUMNS`].
pub const EVENT_INSERT_COLUMNS: &str =
    "events (position, handoff_id, seq, kind, actor, at_us, data, prev_hash, hash)";
/// Columns of a timer row: handoff_id, kind, level, due_us.
pub const TIMER_INSERT_COLUMNS: &str = "timers (handoff_id, kind, level, due_us)";
/// Columns of a new delivery row: id, channel, handoff_id, event, role,
/// payload, state, next_us, created_us, updated_us.
pub const DELIVERY_INSERT_COLUMNS: &str = "deliveries (id, channel, handoff_id, event, role, payload, state, next_us, created_us, updated_us)";
/// A delivery's columns, as read.
pub const DELIVERY_COLUMNS: &str = "id, channel, handoff_id, event, role, payload, state, attempts, next_us, last_error, created_us, updated_us";
/// Record an attempt: id, state, attempts, next_us, last_error, updated_us.
pub const RECORD_ATTEMPT: &str = "UPDATE deliveries SET state = $2, attempts = $3, next_us = $4, \
     lease_us = 0, last_error = $5, updated_us = $6 WHERE id = $1";
/// Queue a finished delivery again: id, now µs.
pub const REDELIVER: &str = "UPDATE deliveries SET state = 'pending', attempts = 0, next_us = $2, \
     lease_us = 0, updated_us = $2 WHERE id = $1 AND state <> 'pending'";
/// Disable a channel: channel, disabled_us, reason.
pub const DISABLE_CHANNEL: &str = "INSERT INTO disabled_channels (channel, disabled_us, reason) VALUES ($1, $2, $3) \
     ON CONFLICT (channel) DO UPDATE SET disabled_us = excluded.disabled_us, reason = excluded.reason";
/// Disable a channel: channel, disabled_us, reason.
pub const DISABLED_CHANNELS: &str =
    "SELECT channel, disabled_us, reason FROM disabled_channels ORDER BY channel";
/// Enable a channel: channel.
pub const ENABLE_CHANNEL: &str = "DELETE FROM disabled_channels WHERE channel = $1";
/// Disarm every timer of a handoff: handoff_id.
pub const DELETE_TIMERS_OF: &str = "DELETE FROM timers WHERE handoff_id = $1";
/// Take one armed timer as it was armed (the row goes: it fires once):
/// handoff_id, kind, level, due_us.
pub const TAKE_TIMER: &str =
    "DELETE FROM timers WHERE handoff_id = $1 AND kind = $2 AND level = $3 AND due_us = $4";
/// A handoff's armed timers, soonest first: handoff_id.
pub const HANDOFF_TIMERS: &str = "SELECT handoff_id, kind, level, due_us FROM timers \
     WHERE handoff_id = $1 ORDER BY due_us, kind, level";
/// The soonest due time of any armed timer.
pub const NEXT_TIMER_DUE: &str = "SELECT MIN(due_us) FROM timers";
/// How many timers are armed.
pub const COUNT_TIMERS: &str = "SELECT COUNT(*) FROM timers";
/// Binds per multi-row insert. Far under SQLite's 32,766 and PostgreSQL's
/// 65,535 limits on purpose: SQLite looks `$N` names up by a linear scan
/// when it prepares and binds, so a statement costs the square of its binds
/// (measured: 1,000-row event inserts spent 55 % of an import in
/// `sqlite3_bind_parameter_name`).
pub const INSERT_BINDS: usize = 360;

/// Rows per multi-row insert of a table with `columns` columns.
pub const fn insert_chunk(columns: usize) -> usize {
    let rows = INSERT_BINDS / columns;
    if rows == 0 { 1 } else { rows }
}

/// `INSERT INTO {table_columns} VALUES ($1, …), (…)` for `rows` rows of `columns` binds.
pub fn multi_row_insert(table_columns: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table_columns} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..columns {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + col + 1));
        }
        sql.push(')');
    }
    sql
}
/// `SELECT id, doc, claim_token, last_seq FROM handoffs WHERE id IN ($1, …)`
/// for `n` ids.
pub fn load_handoffs(n: usize) -> String {
    format!(
        "SELECT id, doc, claim_token, last_seq FROM handoffs WHERE id IN ({})",
        placeholders(1, n)
    )
}

/// Binds per row of [`update_docs`]: id, updated_us, last_seq, doc,
/// expected state.
pub const UPDATE_DOC_BINDS: usize = 5;

/// Stores the document, update time and last seq of `n` handoffs, each
/// only if still in its expected state; rows of [`UPDATE_DOC_BINDS`] binds.
/// No indexed column changes, so neither dialect touches an index (a
/// heap-only update on PostgreSQL). Both dialects name a `VALUES` list's
/// columns `column1`, `column2`, …, and look each id up by the primary key.
pub fn update_docs(n: usize) -> String {
    format!(
        "UPDATE handoffs SET updated_us = v.column2, last_seq = v.column3, doc = v.column4 \
         FROM (VALUES {}) AS v WHERE handoffs.id = v.column1 AND handoffs.state = v.column5",
        rows(n, UPDATE_DOC_BINDS)
    )
}

/// Takes (deletes) `n` timers armed exactly as given and answers those
/// taken: binds handoff_id, kind, level, due_us per timer. An `OR` of
/// primary-key matches rather than `(…) IN (VALUES …)`, which SQLite
/// answers with a scan of the whole table.
pub fn take_timers(n: usize) -> String {
    let terms: Vec<String> = (0..n)
        .map(|i| {
            let b = i * 4;
            format!(
                "(handoff_id = ${} AND kind = ${} AND level = ${} AND due_us = ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4
            )
        })
        .collect();
    format!(
        "DELETE FROM timers WHERE {} RETURNING handoff_id, kind, level, due_us",
        terms.join(" OR ")
    )
}

/// Disarms `n` timers by key: binds handoff_id, kind, level per timer.
pub fn disarm_timers(n: usize) -> String {
    let terms: Vec<String> = (0..n)
        .map(|i| {
            let b = i * 3;
            format!(
                "(handoff_id = ${} AND kind = ${} AND level = ${})",
                b + 1,
                b + 2,
                b + 3
            )
        })
        .collect();
    format!("DELETE FROM timers WHERE {}", terms.join(" OR "))
}

/// The armed timers of `n` handoffs: binds the ids.
pub fn timers_of(n: usize) -> String {
    format!(
        "SELECT handoff_id, kind, level, due_us FROM timers WHERE handoff_id IN ({})",
        placeholders(1, n)
    )
}

/// `$first, $first+1, …`, `n` of them.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $c), ($c+1, …), …`: `n` rows of `columns` binds.
fn rows(n: usize, columns: usize) -> String {
    (0..n)
        .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Find an idempotency key.
pub const FIND_IDEMPOTENCY: &str =
    "SELECT handoff_id, body_hash FROM idempotency_keys WHERE key = $1";
/// Store the chain head: `$1` position, `$2` hash.
pub const SET_CHAIN_HEAD: &str = "UPDATE chain_head SET position = $1, hash = $2 WHERE id = 1";
/// Insert a token, columns as [`TOKEN_COLUMNS`].
pub const INSERT_TOKEN: &str = "INSERT INTO tokens \
     (id, name, role, groups_json, workflows_json, hash, created_us, revoked_us) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// A token by hash.
pub const TOKEN_BY_HASH: &str = "SELECT id, name, role, groups_json, workflows_json, hash, created_us, revoked_us \
     FROM tokens WHERE hash = $1";
/// Every token.
pub const LIST_TOKENS: &str = "SELECT id, name, role, groups_json, workflows_json, hash, created_us, revoked_us \
     FROM tokens ORDER BY created_us, name";
/// Revoke a token by name: `$1` revoked_us, `$2` name.
pub const REVOKE_TOKEN: &str =
    "UPDATE tokens SET revoked_us = $1 WHERE name = $2 AND revoked_us IS NULL";

/// Every kept policy version, oldest first.
pub const POLICY_VERSIONS: &str =
    "SELECT version, text, loaded_us FROM policy_versions ORDER BY loaded_us, version";
/// A conversation's streak counts (JSON).
pub const LOAD_STREAKS: &str = "SELECT counts FROM streaks WHERE conversation_id = $1";
/// Store a conversation's streak counts: conversation_id, counts, updated_us.
pub const SAVE_STREAKS: &str = "INSERT INTO streaks (conversation_id, counts, updated_us) VALUES ($1, $2, $3) \
     ON CONFLICT (conversation_id) DO UPDATE SET counts = excluded.counts, updated_us = excluded.updated_us";

/// Keep a policy version with the files it loaded (first kept wins):
/// version, text, loaded_us, files (JSON object).
pub const KEEP_POLICY_VERSION: &str = "INSERT INTO policy_versions (version, text, loaded_us, files) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING";
/// The active policy: version, text, files, activated_us, activated_by.
pub const ACTIVE_POLICY: &str = "SELECT a.version, v.text, v.files, a.activated_us, a.activated_by \
     FROM policy_active a JOIN policy_versions v ON v.version = a.version WHERE a.id = 1";
/// The active version alone.
pub const ACTIVE_POLICY_VERSION: &str = "SELECT version FROM policy_active WHERE id = 1";
/// Make a version the active one: version, activated_us, activated_by.
pub const SET_ACTIVE_POLICY: &str = "INSERT INTO policy_active (id, version, activated_us, activated_by) \
     VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET version = excluded.version, \
     activated_us = excluded.activated_us, activated_by = excluded.activated_by";
/// The last seq of one stream of the log (0 if none): handoff_id.
pub const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE handoff_id = $1";
/// Lock a conversation's streak row, creating it with empty counts if
/// missing, and answer its counts: conversation_id, updated_us. The upsert
/// takes the row lock on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already
/// holds the one write lock.
pub const LOCK_STREAKS: &str = "INSERT INTO streaks (conversation_id, counts, updated_us) VALUES ($1, '', $2) \
     ON CONFLICT (conversation_id) DO UPDATE SET updated_us = streaks.updated_us RETURNING counts";

/// The handoff list query for `q`: `SELECT doc FROM handoffs …` with its parameters.
pub fn list_handoffs(q: &HandoffQuery) -> (String, Vec<Param>) {
    let mut sql = String::from("SELECT doc FROM handoffs WHERE 1 = 1");
    let mut params = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, param: Param| {
        params.push(param);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
    };
    if !q.states.is_empty() {
        let list: Vec<String> = q
            .states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql.push_str(&format!(" AND state IN ({})", list.join(", ")));
    }
    for (column, value) in [
        ("owner_group", &q.owner_group),
        ("impact", &q.impact),
        ("reason", &q.reason),
        ("workflow", &q.workflow),
    ] {
        if let Some(value) = value {
            bind(
                &mut sql,
                &format!(" AND {column} = ?"),
                Param::Text(value.clone()),
            );
        }
    }
    match &q.assignee {
        Some(Some(name)) => bind(&mut sql, " AND assignee = ?", Param::Text(name.clone())),
        Some(None) => sql.push_str(" AND assignee IS NULL"),
        None => {}
    }
    for (column, scope) in [("owner_group", &q.groups_in), ("workflow", &q.workflows_in)] {
        if let Some(values) = scope {
            if values.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                sql.push_str(&format!(" AND {column} IN ("));
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    bind(&mut sql, "?", Param::Text(value.clone()));
                }
                sql.push(')');
            }
        }
    }
    let (cmp, order) = match q.sort {
        Sort::Age => (">", "ASC"),
        Sort::Created => ("<", "DESC"),
    };
    if let Some(cursor) = q.cursor {
        bind(
            &mut sql,
            &format!(" AND (created_us {cmp} ?"),
            Param::Int(cursor.created_us),
        );
        bind(
            &mut sql,
            " OR (created_us = ?",
            Param::Int(cursor.created_us),
        );
        bind(
            &mut sql,
            &format!(" AND id {cmp} ?))"),
            Param::Text(cursor.id.to_string()),
        );
    }
    sql.push_str(&format!(" ORDER BY created_us {order}, id {order}"));
    bind(&mut sql, " LIMIT ?", Param::Int(i64::from(q.limit) + 1));
    (sql, params)
}

/// Reads a handoff document column.
pub fn handoff_from_doc(doc: &str) -> Result<Handoff, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::backend(format!("corrupt handoff row: {e}")))
}

/// An `events` row as read from either backend.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Log position.
    pub position: i64,
    /// Handoff id (hyphenated uuid text).
    pub handoff_id: String,
    /// Per-handoff sequence number.
    pub seq: i64,
    /// Kind wire name.
    pub kind: String,
    /// Actor.
    pub actor: String,
    /// Time, µs since the epoch.
    pub at_us: i64,
    /// Data, JSON text.
    pub data: String,
    /// Previous hash, hex.
    pub prev_hash: String,
    /// Hash, hex.
    pub hash: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str| StoreError::backend(format!("corrupt event {}: {what}", row.position));
        Ok(Event {
            position: row.position,
            handoff_id: row.handoff_id.parse().map_err(|_| corrupt("handoff_id"))?,
            seq: row.seq,
            kind: EventKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            actor: row.actor.clone(),
            at: from_micros(row.at_us),
            data: serde_json::from_str(&row.data).map_err(|_| corrupt("data"))?,
            prev_hash: row.prev_hash.clone(),
            hash: row.hash.clone(),
        })
    }
}

/// A `tokens` row as read from either backend.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Id text.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Role wire name.
    pub role: String,
    /// Owner groups, JSON array text.
    pub groups_json: String,
    /// Workflows, JSON array text.
    pub workflows_json: String,
    /// Hex SHA-256.
    pub hash: String,
    /// Creation, µs.
    pub created_us: i64,
    /// Revocation, µs.
    pub revoked_us: Option<i64>,
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;
    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str| StoreError::backend(format!("corrupt token {}: {what}", row.name));
        Ok(TokenRecord {
            id: row.id.parse().map_err(|_| corrupt("id"))?,
            name: row.name.clone(),
            role: Role::parse(&row.role).ok_or_else(|| corrupt("role"))?,
            groups: serde_json::from_str(&row.groups_json).map_err(|_| corrupt("groups"))?,
            workflows: serde_json::from_str(&row.workflows_json)
                .map_err(|_| corrupt("workflows"))?,
            hash: row.hash.clone(),
            created_at: from_micros(row.created_us),
            revoked_at: row.revoked_us.map(from_micros),
        })
    }
}

/// The text columns of a token insert, in [`TOKEN_COLUMNS`] order (less the integers).
pub fn token_params(t: &TokenRecord) -> [String; 6] {
    [
        t.id.to_string(),
        t.name.clone(),
        t.role.as_str().to_owned(),
        serde_json::to_string(&t.groups).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&t.workflows).unwrap_or_else(|_| "[]".into()),
        t.hash.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cursor;

    #[test]
    fn multi_row_insert_numbers_every_bind() {
        assert_eq!(
            multi_row_insert("t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }

    #[test]
    fn batch_statements_number_every_bind() {
        assert_eq!(
            take_timers(2),
            "DELETE FROM timers WHERE (handoff_id = $1 AND kind = $2 AND level = $3 AND due_us = $4) \
             OR (handoff_id = $5 AND kind = $6 AND level = $7 AND due_us = $8) \
             RETURNING handoff_id, kind, level, due_us"
        );
        assert!(update_docs(2).contains("VALUES ($1, $2, $3, $4, $5), ($6, $7, "));
        assert!(load_handoffs(3).ends_with("IN ($1, $2, $3)"));
    }

    #[test]
    fn list_sql_numbers_placeholders_in_order() {
        let q = HandoffQuery {
            owner_group: Some("g".into()),
            groups_in: Some(vec!["a".into(), "b".into()]),
            cursor: Some(Cursor {
                created_us: 5,
                id: uuid::Uuid::nil(),
            }),
            limit: 10,
            ..Default::default()
        };
        let (sql, params) = list_handoffs(&q);
        assert!(sql.contains("owner_group = $1"), "{sql}");
        assert!(sql.contains("owner_group IN ($2, $3)"), "{sql}");
        assert!(
            sql.contains("(created_us < $4 OR (created_us = $5 AND id < $6))"),
            "{sql}"
        );
        assert!(sql.ends_with("LIMIT $7"), "{sql}");
        assert_eq!(params.len(), 7);
        assert_eq!(params[6], Param::Int(11));
    }
}
