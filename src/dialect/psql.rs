//! The SQL and psql meta-commands of a guarded script (`render::guard`
//! writes them in order): the migration lock, taken as online runs take it;
//! the version table, looked up as online runs look it up; the checks of the
//! database before the first revision; the per-revision guard. Plain psql
//! (`\gset`, `\if`, `\echo`, psql 10 or newer) and SQL: nothing is created on
//! the server; the one `DO` blocks poll the lock and raise refusals.
//!
//! psql interpolates `:name`, `:'name'` and `:"name"` outside quotes, so the
//! texts here avoid colons except where they mean a variable.

use std::fmt::Write as _;
use std::time::Duration;

use super::postgres::{quote_literal, version_table_sql, LOCK_HOLDER_SQL, LOCK_KEY};
use super::{VersionTable, VERSION_TABLE};
use crate::model::Version;

/// The psql variable that holds the version table's schema once the script
/// has looked it up.
pub const SCHEMA_VARIABLE: &str = "dmig_schema";

/// The version table as every statement of a guarded script names it.
pub fn version_table() -> VersionTable {
    VersionTable::in_psql_variable(SCHEMA_VARIABLE)
}

/// What a guarded script sets in psql before anything else: stop at the
/// first error whatever the command line said (the one thing `psql -f`
/// gets wrong by default), no savepoint per statement, and autocommit
/// (a `~/.psqlrc` may turn it off, and the lock loop needs it).
pub const PSQL_SETTINGS: &str =
    "\\set ON_ERROR_STOP on\n\\set ON_ERROR_ROLLBACK off\n\\set AUTOCOMMIT on";

/// Take the migration lock as online runs do: poll `pg_try_advisory_lock`
/// every 100 ms, for at most `wait`, saying once who holds it, and fail
/// naming the holder when the wait runs out. A `COMMIT` between two polls
/// ends the poll's transaction, so the waiting script holds no snapshot that
/// a concurrent `CREATE INDEX CONCURRENTLY` would wait for; a blocking
/// `pg_advisory_lock` would stall it until the wait ran out. The session's
/// own `statement_timeout` is lifted while it waits (the wait is bounded
/// here) and reset to the session's default after. Run inside a
/// transaction (`psql -1`), where its `COMMIT` and the revisions' own
/// transactions cannot work, it refuses at once.
pub fn lock(wait: Duration) -> String {
    let holder_sql = LOCK_HOLDER_SQL.replace("$1", &LOCK_KEY.to_string());
    let seconds = wait.as_secs();
    format!(
        "\\set dmig_show_context :SHOW_CONTEXT
\\set SHOW_CONTEXT never
SET statement_timeout = 0;
DO $dmig$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '{seconds} seconds';
    holder text;
    told boolean := false;
BEGIN
    -- A transaction that started before this statement is psql -1's.
    IF now() <> statement_timestamp() THEN
        RAISE EXCEPTION 'this script runs its own transactions: run it with psql -f, not inside one (psql -1 or --single-transaction); for one transaction, render it with --transaction single';
    END IF;
    LOOP
        IF pg_try_advisory_lock({LOCK_KEY}) THEN
            RETURN;
        END IF;
        SELECT 'pid ' || h.pid || coalesce(' (' || nullif(concat_ws(', ', nullif(h.application, ''), h.client), '') || ')', '')
            INTO holder FROM ({holder_sql}) AS h;
        holder := coalesce(holder, 'another session');
        IF clock_timestamp() >= deadline THEN
            RAISE EXCEPTION 'gave up after {seconds}s waiting for the migration lock (advisory lock {LOCK_KEY}), held by %; another migrator is running: run this script again once it is done (it changed nothing)', holder;
        END IF;
        IF NOT told THEN
            RAISE NOTICE 'waiting for the migration lock (advisory lock {LOCK_KEY}), held by %', holder;
            told := true;
        END IF;
        COMMIT;
        PERFORM pg_sleep(least(0.1, greatest(0, extract(epoch FROM deadline - clock_timestamp()))));
    END LOOP;
END
$dmig$;
RESET statement_timeout;
\\set SHOW_CONTEXT :dmig_show_context"
    )
}

/// Release the migration lock (quietly: `\gset` prints nothing).
pub fn unlock() -> String {
    format!("SELECT pg_advisory_unlock({LOCK_KEY}) AS dmig_unlocked \\gset")
}

/// Look the version table up as online runs do (`find_version_table`):
/// every schema on the `search_path`, in order, that holds one. Sets
/// `dmig_schema` to the first (unset when there is none) and, when there are
/// two or more, `dmig_refused` with a message naming them (see [`refuse_if_set`]).
pub fn find_version_table() -> String {
    format!(
        "SELECT (array_agg(n.nspname::text ORDER BY s.position))[1] AS {SCHEMA_VARIABLE},
       CASE WHEN count(*) > 1 THEN {} END AS dmig_refused
FROM unnest(current_schemas(false)) WITH ORDINALITY AS s(name, position)
JOIN pg_namespace n ON n.nspname = s.name
JOIN pg_class c ON c.relnamespace = n.oid
WHERE c.relname = '{VERSION_TABLE}' AND c.relkind IN ('r', 'p') \\gset",
        refusal(&format!(
            "'found two version tables on the search_path: ' || string_agg(quote_ident(n.nspname) || '.{VERSION_TABLE}', ' and ' ORDER BY s.position) || '; drop or rename the one that is not in use, or set search_path so only one is visible; {NOTHING_CHANGED}'"
        ))
    )
}

/// After creating the version table: where it went.
pub fn locate_created_table() -> String {
    format!(
        "SELECT n.nspname::text AS {SCHEMA_VARIABLE} FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = to_regclass('{VERSION_TABLE}') \\gset"
    )
}

const NOTHING_CHANGED: &str = "the script changed nothing";

/// The expression that keeps `message` (SQL text) for [`refuse_if_set`]
/// and yields it (a session setting: nothing is written).
fn refusal(message: &str) -> String {
    format!("set_config('dmig.refusal', 'dmig: ' || {message}, false)")
}

/// Stop the script with the message a check kept when it set `dmig_refused`.
pub fn refuse_if_set() -> String {
    "\\if :{?dmig_refused}\n\
     \\set SHOW_CONTEXT never\n\
     DO $dmig$ BEGIN RAISE EXCEPTION USING MESSAGE = current_setting('dmig.refusal'); END $dmig$;\n\
     \\endif"
        .to_owned()
}

/// Stop the script with `message`, known when it was rendered.
pub fn refuse(message: &str) -> String {
    format!(
        "\\set SHOW_CONTEXT never\nDO $dmig$ BEGIN RAISE EXCEPTION USING MESSAGE = {}; END $dmig$;",
        quote_literal(&format!("dmig: {message}; {NOTHING_CHANGED}"))
    )
}

/// What the checks before the first revision expect of the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations<'a> {
    /// Versions that must be applied (an upgrade's revisions below FROM),
    /// and what to say before the list of those that are not.
    pub applied: (&'a [Version], String),
    /// Applied versions newer than this (all of them for `None`, i.e.
    /// base) are refused, unless listed in `known`.
    pub ceiling: Option<&'a Version>,
    /// Versions newer than the ceiling that the script knows of.
    pub known: &'a [Version],
    /// When set, only these versions count as newer (a purging stamp
    /// deletes the rest).
    pub among: Option<&'a [Version]>,
    /// What to say before the list of refused newer versions.
    pub newer: String,
}

/// The checks before the first revision, in one query: sets `dmig_refused`
/// (see [`refuse_if_set`]) when the database is not what the script expects.
pub fn check(expect: &Expectations<'_>, table: &VersionTable) -> String {
    let table = version_table_sql(table);
    let mut checks = Vec::new();
    let (versions, said) = &expect.applied;
    if !versions.is_empty() {
        let mut values = String::new();
        for (i, version) in versions.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(values, "{sep}({})", quote_literal(version.as_str()));
        }
        checks.push(listing(
            said,
            &format!(
                "SELECT k.v, row_number() OVER (ORDER BY k.v COLLATE \"C\") AS n \
                 FROM (VALUES {values}) AS k(v) \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE version = k.v)"
            ),
        ));
    }
    let mut newer = String::from("true");
    if let Some(ceiling) = expect.ceiling {
        newer = format!(
            "version COLLATE \"C\" > {}",
            quote_literal(ceiling.as_str())
        );
    }
    if !expect.known.is_empty() {
        newer.push_str(" AND version NOT IN (");
        for (i, version) in expect.known.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(newer, "{sep}{}", quote_literal(version.as_str()));
        }
        newer.push(')');
    }
    if let Some(among) = expect.among {
        newer.push_str(" AND version IN (");
        for (i, version) in among.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(newer, "{sep}{}", quote_literal(version.as_str()));
        }
        // An empty list would be a syntax error: nothing counts.
        if among.is_empty() {
            newer.push_str("NULL");
        }
        newer.push(')');
    }
    checks.push(listing(
        &expect.newer,
        &format!(
            "SELECT version::text AS v, row_number() OVER (ORDER BY version COLLATE \"C\") AS n \
             FROM {table} WHERE {newer}"
        ),
    ));
    format!(
        "SELECT CASE WHEN m IS NOT NULL THEN {} END AS dmig_refused\n\
         FROM (SELECT coalesce(\n    {}\n) AS m) AS checks \\gset",
        refusal(&format!("m || '; {NOTHING_CHANGED}'")),
        checks.join(",\n    ")
    )
}

/// A scalar subquery: `said` and the first five `v` of `rows` (ordered by
/// `n`), or NULL when `rows` is empty.
fn listing(said: &str, rows: &str) -> String {
    format!(
        "(SELECT {}\n        || string_agg(v, ', ' ORDER BY n) FILTER (WHERE n <= 5)\n        \
         || CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END\n      \
         FROM ({rows}) AS found HAVING count(*) > 0)",
        quote_literal(said)
    )
}

/// The guard of one revision: sets `dmig_skip` to whether its version row
/// is there (`present`, an upgrade's) or gone (a downgrade's).
pub fn skip_when(table: &VersionTable, version: &Version, present: bool) -> String {
    format!(
        "SELECT {}EXISTS (SELECT 1 FROM {} WHERE version = {}) AS dmig_skip \\gset",
        if present { "" } else { "NOT " },
        version_table_sql(table),
        quote_literal(version.as_str())
    )
}

/// PostgreSQL takes at most 1,664 columns in a select list: the skips of a
/// long script are read in several queries of this many.
const SKIPS_PER_QUERY: usize = 1000;

/// The guards of a whole script at once, read under the migration lock
/// before the first revision: one query (per [`SKIPS_PER_QUERY`] steps)
/// sets `dmig_skip_<index>` for each `(index, version, present)` to whether
/// its version row is there (`present`, an upgrade's) or gone (a
/// downgrade's). One round trip instead of one per revision; the lock keeps
/// anyone else from changing the rows meanwhile.
pub fn skips(table: &VersionTable, steps: &[(usize, &Version, bool)]) -> Vec<String> {
    let table = version_table_sql(table);
    steps
        .chunks(SKIPS_PER_QUERY)
        .map(|chunk| {
            let columns: Vec<String> = chunk
                .iter()
                .map(|(index, version, present)| {
                    format!(
                        "{}coalesce(bool_or(version = {}), false) AS dmig_skip_{index}",
                        if *present { "" } else { "NOT " },
                        quote_literal(version.as_str())
                    )
                })
                .collect();
            format!("SELECT {}\nFROM {table} \\gset", columns.join(",\n       "))
        })
        .collect()
}

/// `\echo` of `text`, quoted for psql (which reads `\\` and `''` in quotes).
pub fn echo(text: &str) -> String {
    format!("\\echo {}", psql_quote(text))
}

/// `text` as a single-quoted psql meta-command argument.
pub fn psql_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// Keep the session's `search_path` (after `--init-sql`) in a variable.
pub const SAVE_SEARCH_PATH: &str =
    "SELECT current_setting('search_path') AS dmig_search_path \\gset";

/// Put `search_path` back to what [`SAVE_SEARCH_PATH`] kept (after a
/// revision that may have changed it), as online runs restore theirs.
pub const RESTORE_SEARCH_PATH: &str =
    "SELECT pg_catalog.set_config('search_path', :'dmig_search_path', false) AS dmig_search_path \\gset";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_command_arguments_are_quoted_for_psql() {
        assert_eq!(psql_quote("it's a\\b"), "'it''s a\\\\b'");
        assert_eq!(echo("skipping x"), "\\echo 'skipping x'");
    }

    #[test]
    fn the_lock_loop_names_the_key_and_uses_the_online_holder_query() {
        let sql = lock(Duration::from_secs(7));
        assert!(sql.contains(&format!("pg_try_advisory_lock({LOCK_KEY})")));
        assert!(sql.contains("interval '7 seconds'"));
        assert!(!sql.contains("$1"), "{sql}");
        assert!(sql.contains("COMMIT;"));
    }

    #[test]
    fn checks_list_expected_and_known_versions() {
        let below = [Version::from_row("1".into()), Version::from_row("2".into())];
        let known = [Version::from_row("4".into())];
        let ceiling = Version::from_row("3".into());
        let sql = check(
            &Expectations {
                applied: (&below, "not applied: ".into()),
                ceiling: Some(&ceiling),
                known: &known,
                among: None,
                newer: "newer: ".into(),
            },
            &version_table(),
        );
        assert!(sql.contains("(VALUES ('1'), ('2'))"), "{sql}");
        assert!(
            sql.contains("version COLLATE \"C\" > '3' AND version NOT IN ('4')"),
            "{sql}"
        );
        assert!(sql.contains(":\"dmig_schema\".__diesel_schema_migrations"));
        assert!(sql.ends_with("\\gset"));
    }
}
