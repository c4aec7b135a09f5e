//! PostgreSQL's bookkeeping SQL.

use super::{
    Dialect, Elapsed, SessionSettings, StepBookkeeping, TableSchema, VersionTable, COMPANION_TABLE,
    VERSION_TABLE,
};
use crate::model::{Direction, Version};

/// Diesel's bookkeeping DDL, byte for byte (`setup_migration_table.sql`).
pub const VERSION_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);";

/// dmig's companion table (see [`COMPANION_TABLE`]), created beside the
/// version table; `{table}` is its name as a statement writes it.
const COMPANION_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS {table} (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       up_sha256 TEXT NOT NULL,
       down_sha256 TEXT,
       applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
       applied_by TEXT NOT NULL DEFAULT current_user,
       dmig_version TEXT NOT NULL,
       mode TEXT NOT NULL,
       duration INTERVAL
);";

/// The session settings every Diesel (and so dmig) connection starts with;
/// scripts set them too, so `now()::timestamp`, `run_on` and non-ASCII
/// literals come out the same online and through psql, whatever the server's
/// or the terminal's defaults.
pub const SESSION_SETTINGS_SQL: &str = "SET TIME ZONE 'UTC';\nSET client_encoding = 'UTF8';";

/// What a script runs after a revision that may have changed `search_path`,
/// so the bookkeeping row lands in the version table the run started with
/// (Diesel 2.3 breaks here, diesel#4729).
pub const RESET_SEARCH_PATH_SQL: &str = "RESET search_path;";

/// The advisory lock key every dmig run (and guarded script) takes: FNV-1a
/// (64 bit) of the version table's name, read as a signed 64-bit integer.
/// It is fixed so every dmig process (and any tool that wants to cooperate)
/// agrees on it: `SELECT pg_try_advisory_lock(3888674113241835903)`.
pub const LOCK_KEY: i64 = fnv1a_64(VERSION_TABLE.as_bytes()) as i64;

const fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Poll for the migration lock (a blocking `pg_advisory_lock` would hold a
/// snapshot while it waits; see `online::lock`).
pub const TRY_LOCK_SQL: &str = "SELECT pg_try_advisory_lock($1) AS locked";

/// Keep the lock's session alive while it idles through a long revision:
/// the server's idle timeouts (`idle_session_timeout`, PostgreSQL 14+; the
/// one for idle transactions) would end it, and the lock with it. Through
/// `pg_settings`, so a server without them (13) sets only what it has.
pub const LOCK_SESSION_SQL: &str = "SELECT count(set_config(name, '0', false)) AS n \
     FROM pg_settings WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout')";

/// Release the migration lock, and give the session back the idle timeouts
/// [`LOCK_SESSION_SQL`] turned off (an application's pool gets its session
/// back as it came).
pub const UNLOCK_SQL: &str = "SELECT pg_advisory_unlock($1) AS locked, \
     (SELECT count(set_config(name, reset_val, false)) FROM pg_settings \
     WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout')) AS n";

/// The work session's server process (to cancel its statement on an
/// interrupt), with `idle_session_timeout` turned off for it: a pooled work
/// session idles while the run waits for the lock.
pub const WORK_SESSION_SQL: &str = "SELECT pg_backend_pid()::bigint AS pid, \
     (SELECT count(set_config(name, '0', false)) FROM pg_settings \
     WHERE name = 'idle_session_timeout') AS n";

/// Whether the session `$1` still runs a statement or holds a transaction
/// open (a cancelled or terminated one may still be rolling back).
pub const SESSION_BUSY_SQL: &str = "SELECT EXISTS (SELECT FROM pg_stat_activity \
     WHERE pid = $1 AND state IS DISTINCT FROM 'idle') AS locked";

/// What a pooled work session gets back at the end of a run.
pub const WORK_SESSION_RESET_SQL: &str = "SELECT count(set_config(name, reset_val, false)) AS n \
     FROM pg_settings WHERE name IN ('idle_session_timeout', 'lock_timeout', 'statement_timeout')";

/// The session holding the migration lock, with what `pg_stat_activity`
/// knows of it. A bigint advisory key is stored as classid = high 32 bits,
/// objid = low 32 bits, objsubid = 1. Advisory locks belong to one database
/// and `pg_locks` lists every database's: without the filter a dmig on
/// another database of the same server would be named as the holder.
pub const LOCK_HOLDER_SQL: &str = "SELECT l.pid, a.application_name AS application, \
     host(a.client_addr) AS client \
     FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
     WHERE l.locktype = 'advisory' AND l.granted \
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND l.classid::bigint = ($1 >> 32) & 4294967295 AND l.objid::bigint = $1 & 4294967295 \
     AND l.objsubid = 1 LIMIT 1";

/// The session's server process, which the lock's session then watches.
pub const SESSION_PID_SQL: &str = "SELECT pg_backend_pid()::bigint AS pid";

/// What session `$1` waits to lock and who it waits for, one row per
/// blocker (`pg_blocking_pids`: the holders of conflicting locks and the
/// sessions queued ahead of it), asked from the lock's session. Relations
/// are named with their kind and schema; a row lock shows as the wait for
/// the transaction that holds it.
pub const LOCK_WAIT_SQL: &str = "SELECT CASE l.locktype \
     WHEN 'relation' THEN CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' \
       WHEN 'i' THEN 'index ' WHEN 'I' THEN 'index ' WHEN 'S' THEN 'sequence ' \
       WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' \
       WHEN 'f' THEN 'foreign table ' ELSE 'relation ' END \
       || coalesce(quote_ident(n.nspname) || '.' || quote_ident(c.relname), l.relation::text) \
     WHEN 'tuple' THEN 'a row of table ' || coalesce(quote_ident(n.nspname) || '.' || quote_ident(c.relname), '?') \
     WHEN 'transactionid' THEN 'transaction ' || l.transactionid::text \
     ELSE l.locktype END AS object, \
     l.mode, (extract(epoch FROM clock_timestamp() - a.query_start) * 1000)::bigint AS waited_ms, \
     b.pid AS blocker, b.application_name AS application, host(b.client_addr) AS client \
     FROM pg_stat_activity a \
     JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted \
     LEFT JOIN pg_class c ON c.oid = l.relation \
     LEFT JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS bp(pid) ON true \
     LEFT JOIN pg_stat_activity b ON b.pid = bp.pid \
     WHERE a.pid = $1 AND a.wait_event_type = 'Lock' ORDER BY b.pid";

/// Indexes PostgreSQL marks invalid (a failed `CREATE INDEX CONCURRENTLY` leaves one).
pub const INVALID_INDEXES_SQL: &str =
    "SELECT indexrelid::regclass::text AS value FROM pg_index WHERE NOT indisvalid ORDER BY 1";

/// Whether a revision's SQL may change `search_path` (a plain, case-insensitive
/// mention is enough: restoring it when it did not change is harmless).
pub fn may_change_search_path(sql: &str) -> bool {
    sql.as_bytes()
        .windows(b"search_path".len())
        .any(|w| w.eq_ignore_ascii_case(b"search_path"))
}

/// The statement that puts `search_path` back to `saved` for the rest of the
/// session (online; scripts use [`RESET_SEARCH_PATH_SQL`]).
pub fn restore_search_path_sql(saved: &str) -> String {
    format!(
        "SELECT pg_catalog.set_config('search_path', {}, false)",
        quote_literal(saved)
    )
}

/// `text` as a string literal (`standard_conforming_strings` on, as on every
/// supported server): quotes doubled.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `text` as a quoted identifier: double quotes doubled.
pub fn quote_ident(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// An identifier as a person would write it: bare when PostgreSQL reads it
/// back unchanged (lowercase ASCII letters, digits and `_`, not starting
/// with a digit, not a key word), else quoted by [`quote_ident`]. Generated
/// DDL uses it, so `users` stays `users` and `Users` becomes `"Users"`.
pub fn quote_ident_if_needed(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && RESERVED.binary_search(&name).is_err();
    if plain {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// PostgreSQL's reserved key words (and the type and function names that
/// also need quotes as column names), for [`quote_ident_if_needed`]; sorted.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// The version table's name as a statement writes it.
pub fn version_table_sql(table: &VersionTable) -> String {
    qualified_sql(table, VERSION_TABLE)
}

/// `name` in the version table's schema, as a statement writes it (for
/// tables kept beside it): `"app".name`, `:"dmig_schema".name` in a guarded
/// script, or the bare name.
pub fn qualified_sql(table: &VersionTable, name: &str) -> String {
    match table.location() {
        TableSchema::Named(schema) => format!("{}.{name}", quote_ident(schema)),
        TableSchema::PsqlVariable(variable) => format!(":\"{variable}\".{name}"),
        TableSchema::SearchPath => name.to_owned(),
    }
}

/// The version table's name as messages print it: the schema quoted only
/// where PostgreSQL needs it (`public.__diesel_schema_migrations`).
pub fn version_table_name(table: &VersionTable) -> String {
    match table.schema() {
        Some(schema) => format!("{}.{VERSION_TABLE}", quote_ident_if_needed(schema)),
        None => VERSION_TABLE.to_owned(),
    }
}

/// Versions as a list of SQL literals: `'1', '2'`.
fn literal_list(versions: &[Version]) -> String {
    versions
        .iter()
        .map(|v| quote_literal(v.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The companion table's name as a statement writes it: in the version
/// table's schema once resolved, else bare (so it lands where the version
/// table does).
pub fn companion_table_sql(table: &VersionTable) -> String {
    qualified_sql(table, COMPANION_TABLE)
}

/// `elapsed` as the `duration` column's value.
fn elapsed_sql(elapsed: Elapsed) -> String {
    match elapsed {
        Elapsed::Unknown => "NULL".to_owned(),
        Elapsed::Transaction => "clock_timestamp() - now()".to_owned(),
        Elapsed::Measured(duration) => {
            format!("interval '{} microseconds'", duration.as_micros())
        }
    }
}

/// PostgreSQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

impl Dialect for Postgres {
    fn create_version_table(&self) -> &'static str {
        VERSION_TABLE_DDL
    }

    fn table_name(&self, table: &VersionTable) -> String {
        version_table_name(table)
    }

    fn ident(&self, name: &str) -> String {
        quote_ident_if_needed(name)
    }

    fn insert_version(&self, table: &VersionTable, version: &Version) -> String {
        format!(
            "INSERT INTO {} (version) VALUES ({});",
            version_table_sql(table),
            quote_literal(version.as_str())
        )
    }

    fn delete_versions(&self, table: &VersionTable, versions: &[Version]) -> String {
        format!(
            "DELETE FROM {} WHERE version IN ({});",
            version_table_sql(table),
            literal_list(versions)
        )
    }

    fn delete_versions_except(&self, table: &VersionTable, keep: &[Version]) -> String {
        if keep.is_empty() {
            return format!("DELETE FROM {};", version_table_sql(table));
        }
        format!(
            "DELETE FROM {} WHERE version NOT IN ({});",
            version_table_sql(table),
            literal_list(keep)
        )
    }

    fn delete_version(&self, table: &VersionTable, version: &Version) -> String {
        format!(
            "DELETE FROM {} WHERE version = {};",
            version_table_sql(table),
            quote_literal(version.as_str())
        )
    }

    fn prepare_companion_table(&self, table: &VersionTable) -> String {
        let companion = companion_table_sql(table);
        format!(
            "{}\nDELETE FROM {companion} r\n WHERE NOT EXISTS (SELECT 1 FROM {} d WHERE d.version = r.version);",
            COMPANION_TABLE_DDL.replace("{table}", &companion),
            version_table_sql(table)
        )
    }

    fn companion_statement(
        &self,
        table: &VersionTable,
        step: &StepBookkeeping<'_>,
    ) -> Option<String> {
        let record = step.record?;
        let version = quote_literal(step.version.as_str());
        let companion = companion_table_sql(table);
        Some(match step.direction {
            Direction::Up => {
                let checksums = record.checksums?;
                format!(
                    "INSERT INTO {companion} (version, up_sha256, down_sha256, dmig_version, mode, duration) \
                     VALUES ({version}, {}, {}, {}, {}, {});",
                    quote_literal(&checksums.up),
                    checksums
                        .down
                        .as_deref()
                        .map_or_else(|| "NULL".to_owned(), quote_literal),
                    quote_literal(env!("CARGO_PKG_VERSION")),
                    quote_literal(record.mode.as_str()),
                    elapsed_sql(record.elapsed),
                )
            }
            Direction::Down => format!("DELETE FROM {companion} WHERE version = {version};"),
        })
    }

    fn session_settings(&self) -> &'static str {
        SESSION_SETTINGS_SQL
    }

    fn session_statements(&self, settings: &SessionSettings) -> Vec<String> {
        let mut statements = Vec::new();
        if let Some(timeout) = &settings.lock_timeout {
            statements.push(format!(
                "SET lock_timeout = {};",
                quote_literal(timeout.as_str())
            ));
        }
        if let Some(timeout) = &settings.statement_timeout {
            statements.push(format!(
                "SET statement_timeout = {};",
                quote_literal(timeout.as_str())
            ));
        }
        for sql in &settings.init_sql {
            statements.push(crate::sql::terminated(sql).into_owned());
        }
        statements
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_are_sorted_for_binary_search() {
        let mut sorted = RESERVED.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED);
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident_if_needed("users"), "users");
        assert_eq!(quote_ident_if_needed("Users"), "\"Users\"");
        assert_eq!(quote_ident_if_needed("user"), "\"user\"");
        assert_eq!(quote_ident_if_needed("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident_if_needed("1st"), "\"1st\"");
    }

    #[test]
    fn lock_key_is_the_documented_constant() {
        assert_eq!(LOCK_KEY, 3888674113241835903);
    }

    #[test]
    fn search_path_mention_is_detected_case_insensitively() {
        assert!(may_change_search_path("SET Search_Path TO app;"));
        assert!(!may_change_search_path("CREATE TABLE t (id int);"));
    }

    #[test]
    fn bookkeeping_rows_quote_what_they_write() {
        let version = Version::from_row("1'; DROP TABLE x; --".to_owned());
        assert_eq!(
            Postgres.delete_version(&VersionTable::unqualified(), &version),
            "DELETE FROM __diesel_schema_migrations WHERE version = '1''; DROP TABLE x; --';"
        );
        assert_eq!(
            Postgres.insert_version(
                &VersionTable::in_schema("my \"app\""),
                &Version::from_dir_name("20240101_x")
            ),
            "INSERT INTO \"my \"\"app\"\"\".__diesel_schema_migrations (version) VALUES ('20240101');"
        );
        let checksums = crate::model::Checksums {
            up: "ab".into(),
            down: None,
        };
        let step = StepBookkeeping {
            version: &version,
            direction: Direction::Up,
            record: Some(super::super::Record {
                checksums: Some(&checksums),
                mode: super::super::RecordMode::Offline,
                elapsed: Elapsed::Unknown,
            }),
        };
        let statements = Postgres.step_bookkeeping(&VersionTable::in_schema("s"), &step);
        assert_eq!(statements.len(), 2);
        assert!(
            statements[1].starts_with("INSERT INTO \"s\".__dmig_revisions ")
                && statements[1].contains("VALUES ('1''; DROP TABLE x; --', 'ab', NULL, "),
            "{}",
            statements[1]
        );
        let off = StepBookkeeping {
            record: None,
            ..step
        };
        assert_eq!(
            Postgres.step_bookkeeping(&VersionTable::unqualified(), &off),
            [Postgres.insert_version(&VersionTable::unqualified(), &version)]
        );
        assert_eq!(
            restore_search_path_sql("\"$user\", public"),
            "SELECT pg_catalog.set_config('search_path', '\"$user\", public', false)"
        );
    }
}
