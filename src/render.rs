//! The offline sink: a [`Plan`] rendered as a plain PostgreSQL script for
//! `psql -v ON_ERROR_STOP=1 -f`. Pure: it writes into any `io::Write`, streams
//! revision by revision, and is byte-identical for the same inputs (no clock,
//! no absolute path).

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::RenderError;
use crate::plan::{Direction, Kind, Plan, Step, TransactionMode};

/// Diesel's bookkeeping DDL, byte for byte (`setup_migration_table.sql`).
pub const VERSION_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);";

/// The statement that records an applied version (versions are validated to
/// be ASCII alphanumeric, so quoting them cannot go wrong).
pub fn insert_version_sql(version: &str) -> String {
    format!("INSERT INTO __diesel_schema_migrations (version) VALUES ('{version}');")
}

/// The statement that forgets a reverted version.
pub fn delete_version_sql(version: &str) -> String {
    format!("DELETE FROM __diesel_schema_migrations WHERE version = '{version}';")
}

/// Statement both sinks run after a revision that may have changed
/// `search_path`, so the bookkeeping row lands in the version table the run
/// started with (Diesel 2.3 breaks here, diesel#4729).
pub const RESTORE_SEARCH_PATH_SQL: &str = "RESET search_path;";

/// Whether a revision's SQL may change `search_path` (a plain, case-insensitive
/// mention is enough: restoring it when it did not change is harmless).
pub fn may_change_search_path(sql: &str) -> bool {
    sql.as_bytes()
        .windows(b"search_path".len())
        .any(|w| w.eq_ignore_ascii_case(b"search_path"))
}

/// A directory name made safe for a `--` comment: control characters (a
/// newline would end the comment and turn the rest into SQL) become `?`.
pub fn comment_safe(name: &str) -> Cow<'_, str> {
    if name.chars().any(char::is_control) {
        Cow::Owned(
            name.chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(name)
    }
}

/// The file name a script gets inside an output directory, e.g.
/// `upgrade_base_20240103000000.sql`.
pub fn script_file_name(plan: &Plan<'_>) -> String {
    format!("{}_{}_{}.sql", plan.kind.as_str(), plan.from, plan.to)
}

/// Render `plan` to `out`. `sql[i]` is the text of `plan.steps[i]`, as
/// returned by [`Plan::load_sql`] (empty for a stamp).
pub fn render(plan: &Plan<'_>, sql: &[Cow<'_, str>], out: &mut dyn Write) -> io::Result<()> {
    let single = plan.transaction == TransactionMode::Single || plan.kind == Kind::Stamp;
    write_header(plan, out)?;
    if single {
        out.write_all(b"BEGIN;\n\n")?;
    }
    writeln!(out, "{VERSION_TABLE_DDL}\n")?;
    for (index, step) in plan.steps.iter().enumerate() {
        match sql.get(index) {
            Some(body) if plan.kind != Kind::Stamp => write_step(step, body, single, out)?,
            _ => write_stamp_step(step, out)?,
        }
    }
    if single {
        out.write_all(b"COMMIT;\n")?;
    }
    Ok(())
}

fn write_header(plan: &Plan<'_>, out: &mut dyn Write) -> io::Result<()> {
    let count = plan.steps.len();
    let noun = if count == 1 { "revision" } else { "revisions" };
    let grouping = match (plan.kind, plan.transaction) {
        (Kind::Stamp, _) => "version table only, one transaction",
        (_, TransactionMode::Single) => "one transaction for the whole script",
        (_, TransactionMode::PerRevision) => "one transaction per revision",
    };
    writeln!(
        out,
        "-- dmig {}: {} {}:{} ({count} {noun}, {grouping})",
        env!("CARGO_PKG_VERSION"),
        plan.kind.as_str(),
        plan.from,
        plan.to,
    )?;
    writeln!(out, "-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>\n")?;
    writeln!(out, "{SESSION_SETTINGS_SQL}\n")
}

/// The session settings every Diesel (and so dmig) connection starts with;
/// the script sets them too, so `now()::timestamp`, `run_on` and non-ASCII
/// literals come out the same online and through psql, whatever the server's
/// or the terminal's defaults.
pub const SESSION_SETTINGS_SQL: &str = "SET TIME ZONE 'UTC';\nSET client_encoding = 'UTF8';";

fn write_step(step: &Step<'_>, body: &str, single: bool, out: &mut dyn Write) -> io::Result<()> {
    let revision = step.revision;
    let (verb, bookkeeping) = match step.direction {
        Direction::Up => ("upgrade", insert_version_sql(&revision.version)),
        Direction::Down => ("downgrade", delete_version_sql(&revision.version)),
    };
    writeln!(
        out,
        "-- Running {verb} {} ({})",
        revision.version,
        comment_safe(&revision.name)
    )?;
    let own_transaction = !single && revision.run_in_transaction;
    if !revision.run_in_transaction {
        out.write_all(
            b"-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own\n",
        )?;
    } else if own_transaction {
        out.write_all(b"BEGIN;\n")?;
    }
    write_terminated(body, out)?;
    if may_change_search_path(body) {
        writeln!(out, "{RESTORE_SEARCH_PATH_SQL}")?;
    }
    writeln!(out, "{bookkeeping}")?;
    if own_transaction {
        out.write_all(b"COMMIT;\n")?;
    }
    out.write_all(b"\n")
}

fn write_stamp_step(step: &Step<'_>, out: &mut dyn Write) -> io::Result<()> {
    let revision = step.revision;
    let (verb, bookkeeping) = match step.direction {
        Direction::Up => ("Stamping", insert_version_sql(&revision.version)),
        Direction::Down => ("Unstamping", delete_version_sql(&revision.version)),
    };
    writeln!(
        out,
        "-- {verb} {} ({})\n{bookkeeping}\n",
        revision.version,
        comment_safe(&revision.name)
    )
}

/// Copy a file's SQL verbatim, then make sure it ends cleanly: a missing final
/// `;` is added, and a trailing `--` comment gets its newline, so the next
/// line of the script cannot be swallowed. Trailing whitespace is dropped.
fn write_terminated(body: &str, out: &mut dyn Write) -> io::Result<()> {
    let body = body.trim_end();
    out.write_all(body.as_bytes())?;
    // Files were lexed when loaded; a lex error here cannot happen, and the
    // safe fallback is to terminate.
    let tail = crate::sql::tail(body).unwrap_or(crate::sql::Tail {
        needs_semicolon: true,
        ends_in_line_comment: true,
        is_empty: false,
    });
    match (tail.needs_semicolon, tail.ends_in_line_comment) {
        (true, true) => out.write_all(b"\n;\n"),
        (true, false) => out.write_all(b";\n"),
        (false, _) => out.write_all(b"\n"),
    }
}

/// Where a script goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// This file, replaced atomically.
    File(PathBuf),
    /// A file named by [`script_file_name`] inside this directory.
    Dir(PathBuf),
}

impl Output {
    /// `--out PATH`: an existing directory, or a path ending in `/`, is a
    /// directory; anything else is a file.
    pub fn from_arg(path: Option<&Path>) -> Output {
        match path {
            None => Output::Stdout,
            Some(p) if p.as_os_str() == "-" => Output::Stdout,
            Some(p) if p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/') => {
                Output::Dir(p.to_path_buf())
            }
            Some(p) => Output::File(p.to_path_buf()),
        }
    }
}

/// Render `plan` to `output`. A file is written to a temporary sibling and
/// renamed into place, so a failure never leaves half a script behind.
/// Returns the path written, if any.
pub fn write_script(
    plan: &Plan<'_>,
    sql: &[Cow<'_, str>],
    output: &Output,
) -> Result<Option<PathBuf>, RenderError> {
    let path = match output {
        Output::Stdout => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            let result = render(plan, sql, &mut out).and_then(|()| out.flush());
            return result.map(|()| None).map_err(|source| RenderError::Write {
                path: PathBuf::from("-"),
                source,
            });
        }
        Output::File(path) => path.clone(),
        Output::Dir(dir) => dir.join(script_file_name(plan)),
    };
    let fail = |source| RenderError::Write {
        path: path.clone(),
        source,
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(fail)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".dmig-")
        .suffix(".sql.tmp")
        .tempfile_in(&parent)
        .map_err(fail)?;
    {
        let mut out = io::BufWriter::with_capacity(64 * 1024, temp.as_file_mut());
        render(plan, sql, &mut out)
            .and_then(|()| out.flush())
            .map_err(fail)?;
    }
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(&path).map_err(|e| fail(e.error))?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_safe_replaces_control_characters() {
        assert_eq!(comment_safe("1_a\nDROP TABLE x;"), "1_a?DROP TABLE x;");
        assert!(matches!(comment_safe("1_plain name"), Cow::Borrowed(_)));
    }

    #[test]
    fn search_path_mention_is_detected_case_insensitively() {
        assert!(may_change_search_path("SET Search_Path TO app;"));
        assert!(!may_change_search_path("CREATE TABLE t (id int);"));
    }

    fn terminated(body: &str) -> String {
        let mut out = Vec::new();
        write_terminated(body, &mut out).expect("write");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn bodies_are_terminated_safely() {
        assert_eq!(terminated("select 1;\n\n"), "select 1;\n");
        assert_eq!(terminated("select 1"), "select 1;\n");
        assert_eq!(terminated("select 1; -- done"), "select 1; -- done\n");
        assert_eq!(terminated("select 1 -- done"), "select 1 -- done\n;\n");
        assert_eq!(
            terminated("create function f() returns int as $$ select 1; $$ language sql"),
            "create function f() returns int as $$ select 1; $$ language sql;\n"
        );
    }
}
