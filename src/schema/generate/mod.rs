//! The entry points the CLI calls: [`generate`] (`dmig revision
//! --autogenerate`), [`check`] (`dmig check --schema`) and
//! [`verify_directory`] (`dmig verify`). They tie the pure core to the
//! revisions and a database: the live one (refused unless at head), or a
//! throwaway one created through an admin URL (`scratch`), migrated to
//! head with dmig's own runner, and dropped again even when something fails.
//! `verify` proves revisions on such databases.
//!
//! The database is reached only through [`crate::online`]: its runner,
//! status and pools, and `online::pg::introspect` for the catalogs.

mod scratch;
mod verify;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use scratch::Scratch;
pub use verify::{verify_directory, VerifyReport};

use super::ddl::{self, Files};
use super::diff::{self, Diff, DiffError, DiffOptions, Notice, Op};
use super::model::{QualName, Schema};
use super::{Models, SchemaError};
use crate::dialect::postgres::quote_ident_if_needed;
use crate::model::{printable, Revision};
use crate::online::pg::introspect as pg;
use crate::online::{self, ConnectOptions, PgPool};

/// Where the database side comes from.
#[derive(Debug, Clone, Copy)]
pub struct Database<'a> {
    /// The application's database (`--database-url`): refused unless at head.
    pub live: Option<&'a PgPool>,
    /// `--scratch-url ADMIN_URL`: throwaway databases are created there, for
    /// the database side when there is no live one, and for `--verify`.
    pub scratch_url: Option<&'a str>,
    /// How to connect to the scratch server.
    pub connect: &'a ConnectOptions,
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Destructive operations, renames.
    pub diff: DiffOptions,
    /// `Some(false)`: `--no-verify`. `None`: verify when a scratch server is at hand.
    pub verify: Option<bool>,
}

/// Something to tell the user about a diff that was not refused: a warning
/// (the revision will fail on this database as it is) or a note (something
/// of schema.rs was left alone). [`fmt::Display`] gives the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// A new `NOT NULL` column without a default, on a table with rows.
    NotNullColumnOnRows {
        /// The table, as schema.rs names it.
        table: QualName,
        /// The column.
        column: String,
        /// The table as the database names it (before a rename).
        db_table: QualName,
        /// Its rows.
        rows: i64,
    },
    /// `SET NOT NULL` on a column that holds NULLs.
    NullsBecomeNotNull {
        /// The table.
        table: QualName,
        /// The column.
        column: String,
        /// The rows holding NULL there.
        nulls: i64,
    },
    /// A table of schema.rs outside the `[print_schema]` schema and filter.
    OutsideScope {
        /// The table.
        table: QualName,
    },
    /// A `table!` that is a view in the database.
    View {
        /// The view.
        table: QualName,
    },
    /// A table without a primary key, which schema.rs cannot describe.
    NoPrimaryKey {
        /// The table.
        table: QualName,
    },
}

impl Finding {
    /// `warning` or `note`.
    pub fn severity(&self) -> &'static str {
        match self {
            Finding::NotNullColumnOnRows { .. } | Finding::NullsBecomeNotNull { .. } => "warning",
            Finding::OutsideScope { .. } | Finding::View { .. } | Finding::NoPrimaryKey { .. } => {
                "note"
            }
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NotNullColumnOnRows {
                table,
                column,
                db_table,
                rows,
            } => write!(
                f,
                "new NOT NULL column `{table}.{}` has no default, and `{db_table}` has {rows} row(s): the revision will fail there; give it a DEFAULT in up.sql, or add it nullable and backfill first",
                printable(column)
            ),
            Finding::NullsBecomeNotNull {
                table,
                column,
                nulls,
            } => write!(
                f,
                "`{table}.{}` becomes NOT NULL, and {nulls} row(s) hold NULL there: the revision will fail; backfill first",
                printable(column)
            ),
            Finding::OutsideScope { table } => write!(
                f,
                "table `{table}` of schema.rs is outside the [print_schema] schema/filter: left alone"
            ),
            Finding::View { table } => write!(
                f,
                "`{table}` of schema.rs is a view in the database: left alone"
            ),
            Finding::NoPrimaryKey { table } => write!(
                f,
                "table `{table}` has no primary key, so schema.rs cannot describe it (print-schema skips it): left alone"
            ),
        }
    }
}

/// A generated revision, not yet written.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The files.
    pub files: Files,
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// What to tell the user (NOT NULL columns on tables with rows, tables left alone).
    pub notices: Vec<Finding>,
    /// Whether `--verify` ran (and passed: a failure is an error).
    pub verified: bool,
}

/// What [`generate`] found.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The database already matches the models.
    NoChanges {
        /// What to tell the user.
        notices: Vec<Finding>,
    },
    /// A revision to write.
    Changes(Box<Generated>),
}

/// Refuse a live database that is not exactly at head.
async fn require_head(pool: &PgPool, revisions: &[Revision]) -> Result<(), SchemaError> {
    let status = online::status(pool, revisions).await?;
    if status.is_at_head() {
        return Ok(());
    }
    if !status.missing_on_disk.is_empty() {
        return Err(SchemaError::MissingOnDisk(
            status
                .missing_on_disk
                .iter()
                .map(|m| m.version.to_string())
                .collect(),
        ));
    }
    Err(SchemaError::NotAtHead {
        pending: status
            .pending()
            .map(|e| e.revision.printable_name().into_owned())
            .collect(),
    })
}

/// The diff's notices as findings, counting rows on the database the diff
/// was made against: a NOT NULL notice is a finding only when rows would
/// make the revision fail.
async fn findings(pool: &PgPool, diff: &Diff) -> Result<Vec<Finding>, SchemaError> {
    let mut conn = online::checkout(pool).await?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for notice in &diff.notices {
        match notice {
            Notice::NotNullOnExisting {
                table,
                column,
                new_column,
            } => {
                // A column of a table renamed in this revision: count under the old name.
                let db_table = diff
                    .ops
                    .iter()
                    .find_map(|op| match op {
                        Op::RenameTable { from, to } if to == table => Some(from.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| table.clone());
                if *new_column {
                    if !seen.insert((db_table.clone(), column.clone())) {
                        continue;
                    }
                    let rows = pg::count(&mut conn, &db_table.sql()).await?;
                    if rows > 0 {
                        out.push(Finding::NotNullColumnOnRows {
                            table: table.clone(),
                            column: column.clone(),
                            db_table,
                            rows,
                        });
                    }
                } else {
                    let from_where = format!(
                        "{} WHERE {} IS NULL",
                        db_table.sql(),
                        quote_ident_if_needed(column)
                    );
                    // Only a warning: a failed count is no reason to stop.
                    let nulls = pg::count(&mut conn, &from_where).await.unwrap_or(0);
                    if nulls > 0 {
                        out.push(Finding::NullsBecomeNotNull {
                            table: table.clone(),
                            column: column.clone(),
                            nulls,
                        });
                    }
                }
            }
            Notice::OutsideScope { table } => out.push(Finding::OutsideScope {
                table: table.clone(),
            }),
            Notice::View { table } => out.push(Finding::View {
                table: table.clone(),
            }),
            Notice::NoPrimaryKey { table } => out.push(Finding::NoPrimaryKey {
                table: table.clone(),
            }),
        }
    }
    Ok(out)
}

/// The diff of `models` against a database snapshot.
fn diff_against(
    models: &Models,
    database: &Schema,
    server_version_num: i32,
    options: &DiffOptions,
) -> Result<Diff, DiffError> {
    let mut options = options.clone();
    options.server_version_num = server_version_num;
    diff::diff(&models.schema, &models.scopes, database, &options)
}

/// Diff `models` against the database and build the next revision.
///
/// With a live database it must be at head (every revision applied, none
/// missing on disk); without one, a scratch database is created through
/// `database.scratch_url`, migrated to head with dmig's own runner, read,
/// and dropped, even when something fails. `--verify` (on by default when a
/// scratch server is at hand) then proves the files on a scratch copy of
/// head: up.sql applies and leaves nothing to diff, down.sql restores head.
///
/// # Examples
///
/// ```no_run
/// # async fn example(pool: dmig::online::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// use dmig::schema::{self, Database, GenerateOptions, ModelSources};
/// let revisions = dmig::source::discover(std::path::Path::new("migrations"))?.revisions;
/// let models = schema::load_models(&ModelSources {
///     files: vec!["src/schema.rs".into()],
///     ..ModelSources::default()
/// })?;
/// let connect = dmig::online::ConnectOptions::default();
/// let database = Database { live: Some(&pool), scratch_url: None, connect: &connect };
/// match schema::generate(&revisions, &models, database, &GenerateOptions::default()).await? {
///     schema::Outcome::NoChanges { .. } => println!("no changes"),
///     schema::Outcome::Changes(generated) => print!("{}", generated.files.up),
/// }
/// # Ok(())
/// # }
/// ```
pub async fn generate(
    revisions: &[Revision],
    models: &Models,
    database: Database<'_>,
    options: &GenerateOptions,
) -> Result<Outcome, SchemaError> {
    let verify_on = match options.verify {
        Some(false) => None,
        _ => database.scratch_url,
    };
    if let Some(pool) = database.live {
        require_head(pool, revisions).await?;
        let (db, version) = scratch::snapshot(pool).await?;
        let d = diff_against(models, &db, version, &options.diff)?;
        let notices = findings(pool, &d).await?;
        if d.is_empty() {
            return Ok(Outcome::NoChanges { notices });
        }
        let files = ddl::render(&d);
        if let Some(url) = verify_on {
            let scratch = Scratch::create(url, database.connect).await?;
            let result = async {
                let pool = scratch.pool().await?;
                scratch::upgrade(&pool, revisions).await?;
                let (head, _) = scratch::snapshot(&pool).await?;
                verify::verify_on(&pool, revisions, models, &head, &files).await
            }
            .await;
            scratch.drop_database().await;
            result?;
        }
        return Ok(Outcome::Changes(Box::new(Generated {
            files,
            ops: d.ops,
            notices,
            verified: verify_on.is_some(),
        })));
    }
    let Some(url) = database.scratch_url else {
        return Err(SchemaError::NoDatabase);
    };
    let scratch = Scratch::create(url, database.connect).await?;
    let result = async {
        let pool = scratch.pool().await?;
        scratch::upgrade(&pool, revisions).await?;
        let (head, version) = scratch::snapshot(&pool).await?;
        let d = diff_against(models, &head, version, &options.diff)?;
        let notices = findings(&pool, &d).await?;
        if d.is_empty() {
            return Ok(Outcome::NoChanges { notices });
        }
        let files = ddl::render(&d);
        if verify_on.is_some() {
            verify::verify_on(&pool, revisions, models, &head, &files).await?;
        }
        Ok(Outcome::Changes(Box::new(Generated {
            files,
            ops: d.ops,
            notices,
            verified: verify_on.is_some(),
        })))
    }
    .await;
    scratch.drop_database().await;
    result
}

/// `dmig check --schema`: what would bring the database to `schema.rs`, one
/// line per operation (empty: they agree). Destructive operations and
/// probable renames count as differences too; nothing is refused.
pub async fn check(
    revisions: &[Revision],
    models: &Models,
    database: Database<'_>,
) -> Result<Vec<String>, SchemaError> {
    let options = DiffOptions {
        allow_destructive: true,
        ..DiffOptions::default()
    };
    let describe = |result: Result<Diff, DiffError>| -> Result<Vec<String>, SchemaError> {
        match result {
            Ok(d) => Ok(d.ops.iter().map(ddl::describe).collect()),
            Err(DiffError::ProbableRename(lines)) => Ok(lines),
            Err(e) => Err(e.into()),
        }
    };
    if let Some(pool) = database.live {
        require_head(pool, revisions).await?;
        let (db, version) = scratch::snapshot(pool).await?;
        return describe(diff_against(models, &db, version, &options));
    }
    let Some(url) = database.scratch_url else {
        return Err(SchemaError::NoDatabase);
    };
    let scratch = Scratch::create(url, database.connect).await?;
    let result = async {
        let pool = scratch.pool().await?;
        scratch::upgrade(&pool, revisions).await?;
        let (db, version) = scratch::snapshot(&pool).await?;
        describe(diff_against(models, &db, version, &options))
    }
    .await;
    scratch.drop_database().await;
    result
}

/// Write `files` as `<migration_dir>/<UTC timestamp>_<slug>/` (with Diesel's
/// subversion suffix when that second is taken: see
/// [`crate::scaffold::write_revision`]).
pub fn write_revision(
    migration_dir: &Path,
    message: &str,
    files: &Files,
    now: SystemTime,
) -> Result<PathBuf, SchemaError> {
    let mut list = vec![
        ("up.sql", files.up.as_str()),
        ("down.sql", files.down.as_str()),
    ];
    if let Some(metadata) = &files.metadata {
        list.push(("metadata.toml", metadata.as_str()));
    }
    Ok(crate::scaffold::write_revision(
        migration_dir,
        message,
        None,
        &list,
        now,
    )?)
}
