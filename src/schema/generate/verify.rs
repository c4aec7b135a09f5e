//! Proving revisions on scratch databases: `--verify` for a new revision
//! (up.sql applies to a copy of head and leaves nothing to diff, down.sql
//! gives head back), and `dmig verify` for the whole directory (every
//! down.sql an inverse, up again the same, the offline script the same as
//! the online run).

use std::path::Path;

use super::scratch::{self, Scratch};
use crate::model::{Revision, SqlSource, Version};
use crate::online::pg::introspect as pg;
use crate::online::{ConnectOptions, PgPool};
use crate::plan::{self, Kind, Range, TransactionMode};
use crate::schema::ddl::{self, Files};
use crate::schema::diff::{self, DiffOptions};
use crate::schema::model::Schema;
use crate::schema::{Models, SchemaError};

/// The version the verifying copy of a new revision gets: letters only (a
/// valid version), and it sorts after any version made of digits, so it is
/// always the newest.
const VERIFY_VERSION: &str = "zzzzdmigverify";

/// What `dmig verify` checked.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Revisions whose down.sql was checked (newest first).
    pub checked: Vec<String>,
    /// Revisions not checked, with why (no down.sql, or below one without).
    pub skipped: Vec<String>,
    /// How the offline script ran: `psql` or dmig's statement runner.
    pub offline_runner: &'static str,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SchemaError {
    let path = path.to_path_buf();
    move |source| SchemaError::Io { path, source }
}

/// The new revision as a [`Revision`] in `dir`, for `--verify`.
fn verify_revision(dir: &Path, files: &Files) -> Result<Revision, SchemaError> {
    let name = format!("{VERIFY_VERSION}_new_revision");
    let rev = dir.join(&name);
    std::fs::create_dir_all(&rev).map_err(io_error(&rev))?;
    let up = rev.join("up.sql");
    let down = rev.join("down.sql");
    std::fs::write(&up, &files.up).map_err(io_error(&up))?;
    std::fs::write(&down, &files.down).map_err(io_error(&down))?;
    Ok(Revision {
        version: Version::from_dir_name(&name),
        name,
        up: SqlSource::File(up),
        down: Some(SqlSource::File(down)),
        run_in_transaction: files.metadata.is_none(),
    })
}

/// On a scratch database at head (whose snapshot is `head`): apply the new
/// revision, diff again (must be empty), revert it (must give `head` back).
pub(super) async fn verify_on(
    pool: &PgPool,
    revisions: &[Revision],
    models: &Models,
    head: &Schema,
    files: &Files,
) -> Result<(), SchemaError> {
    let tmp = tempfile::Builder::new()
        .prefix("dmig-verify-")
        .tempdir()
        .map_err(io_error(&std::env::temp_dir()))?;
    let mut all = revisions.to_vec();
    all.push(verify_revision(tmp.path(), files)?);
    scratch::upgrade(pool, &all)
        .await
        .map_err(|e| SchemaError::Verify {
            what: "the new up.sql does not apply to a copy of head".into(),
            differences: vec![format!("{e:#}")],
        })?;
    let (after_up, version) = scratch::snapshot(pool).await?;
    let permissive = DiffOptions {
        allow_destructive: true,
        ..DiffOptions::default()
    };
    let still = "after up.sql the database still differs from schema.rs";
    match super::diff_against(models, &after_up, version, &permissive) {
        Ok(d) if d.is_empty() => {}
        Ok(d) => {
            return Err(SchemaError::Verify {
                what: still.into(),
                differences: d
                    .ops
                    .iter()
                    .map(|op| ddl::up_sql(op).trim().to_string())
                    .collect(),
            })
        }
        Err(e) => {
            return Err(SchemaError::Verify {
                what: still.into(),
                differences: vec![e.to_string()],
            })
        }
    }
    scratch::step(pool, &all, Kind::Downgrade, "-1")
        .await
        .map_err(|e| SchemaError::Verify {
            what: "the new down.sql does not apply".into(),
            differences: vec![format!("{e:#}")],
        })?;
    let (after_down, _) = scratch::snapshot(pool).await?;
    let differences = diff::snapshot_differences(head, &after_down);
    if !differences.is_empty() {
        return Err(SchemaError::Verify {
            what: "down.sql does not return the database to head".into(),
            differences,
        });
    }
    Ok(())
}

/// `dmig verify`: on scratch databases, apply every revision (snapshotting
/// after each), then newest first revert and re-apply each one comparing
/// snapshots, then run the offline script and compare it with the online
/// run. The first revision whose down.sql is no inverse is the error, with
/// the objects that differ.
pub async fn verify_directory(
    revisions: &[Revision],
    admin_url: &str,
    connect: &ConnectOptions,
) -> Result<VerifyReport, SchemaError> {
    let mut report = VerifyReport::default();
    let scratch = Scratch::create(admin_url, connect).await?;
    let result = walk(&scratch, revisions, &mut report).await;
    scratch.drop_database().await;
    let snapshots = result?;
    let head = snapshots.last().cloned().unwrap_or_default();

    // The offline script against the online run.
    let offline = Scratch::create(admin_url, connect).await?;
    let result = async {
        let script = render_script(revisions)?;
        report.offline_runner = run_script(&offline, &script).await?;
        let pool = offline.pool().await?;
        let (model, _) = scratch::snapshot(&pool).await?;
        let differences = diff::snapshot_differences(&head, &model);
        if !differences.is_empty() {
            return Err(SchemaError::Verify {
                what: format!(
                    "the offline script (`dmig upgrade --sql`, run by {}) leaves another schema than the online upgrade",
                    report.offline_runner
                ),
                differences,
            });
        }
        Ok(())
    }
    .await;
    offline.drop_database().await;
    result?;
    Ok(report)
}

/// Up one revision at a time (a snapshot after each), then newest first:
/// down (must give the snapshot below), up (must give its own again), down.
/// Returns the snapshots, base first.
async fn walk(
    scratch: &Scratch,
    revisions: &[Revision],
    report: &mut VerifyReport,
) -> Result<Vec<Schema>, SchemaError> {
    let pool = scratch.pool().await?;
    let (empty, _) = scratch::snapshot(&pool).await?;
    let mut snapshots = vec![empty];
    for revision in revisions {
        scratch::step(&pool, revisions, Kind::Upgrade, &revision.name).await?;
        snapshots.push(scratch::snapshot(&pool).await?.0);
    }
    for k in (1..=revisions.len()).rev() {
        let revision = &revisions[k - 1];
        let name = revision.printable_name();
        if revision.down.is_none() {
            report
                .skipped
                .push(format!("{name} (no down.sql; older revisions not checked)"));
            for older in revisions[..k - 1].iter().rev() {
                report.skipped.push(older.printable_name().into_owned());
            }
            break;
        }
        scratch::step(&pool, revisions, Kind::Downgrade, "-1").await?;
        let after_down = scratch::snapshot(&pool).await?.0;
        let differences = diff::snapshot_differences(&snapshots[k - 1], &after_down);
        if !differences.is_empty() {
            return Err(SchemaError::Verify {
                what: format!("down.sql of `{name}` is not the inverse of its up.sql"),
                differences,
            });
        }
        scratch::step(&pool, revisions, Kind::Upgrade, "+1").await?;
        let again = scratch::snapshot(&pool).await?.0;
        let differences = diff::snapshot_differences(&snapshots[k], &again);
        if !differences.is_empty() {
            return Err(SchemaError::Verify {
                what: format!("`{name}` applied again after its down.sql gives another schema"),
                differences,
            });
        }
        scratch::step(&pool, revisions, Kind::Downgrade, "-1").await?;
        report.checked.push(name.into_owned());
    }
    Ok(snapshots)
}

/// The offline script of `base:head`, as `dmig upgrade --sql` renders it.
fn render_script(revisions: &[Revision]) -> Result<String, SchemaError> {
    let range = Range::parse("base:head")?;
    let planned = plan::plan_range(
        revisions,
        Kind::Upgrade,
        &range,
        TransactionMode::PerRevision,
    )?;
    let mut out = Vec::new();
    crate::render::render(&planned, &crate::render::ScriptOptions::default(), &mut out)
        .map_err(io_error(Path::new("<offline script>")))?;
    // Revisions are UTF-8 (discovery checks) and so is what dmig adds.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Run the script with `psql -X -v ON_ERROR_STOP=1` when psql is on PATH,
/// else statement by statement through one diesel-async connection (dmig's
/// splitter, psql's split). Returns which.
async fn run_script(scratch: &Scratch, script: &str) -> Result<&'static str, SchemaError> {
    let psql = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("psql"))
            .find(|p| p.is_file())
    });
    let Some(psql) = psql else {
        pg::run_statements(&scratch.url, script, scratch.connect.connect_timeout).await?;
        return Ok("dmig's statement runner (psql not found)");
    };
    let tmp = tempfile::NamedTempFile::new().map_err(io_error(&std::env::temp_dir()))?;
    std::fs::write(tmp.path(), script).map_err(io_error(tmp.path()))?;
    let output = std::process::Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &scratch.url,
            "-f",
        ])
        .arg(tmp.path())
        .output()
        .map_err(io_error(&psql))?;
    if !output.status.success() {
        return Err(SchemaError::Verify {
            what: "the offline script failed under psql".into(),
            differences: vec![String::from_utf8_lossy(&output.stderr).trim().to_string()],
        });
    }
    Ok("psql")
}
