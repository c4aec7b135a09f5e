//! `dmig revision --autogenerate`, the schema half of `dmig check --schema`,
//! and `dmig verify`: the wiring of [`crate::schema`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use super::{runtime, Context, Session};
use crate::cli::report::autogen as report;
use crate::cli::settings::{Autogenerate, SchemaFiles};
use crate::config;
use crate::error::ConfigError;
use crate::model::Revision;
use crate::online::{ConnectOptions, PgPool};
use crate::schema::{self, Database, ModelSources, Models, Outcome};

/// The `diesel.toml` in use and the migrations directory, which need not
/// exist yet (the first generated revision creates it, as `revision` does).
fn project(cx: &Context) -> anyhow::Result<(Option<PathBuf>, PathBuf)> {
    Ok(match config::resolve(&cx.sources, &cx.cwd) {
        Ok(config) => (config.config_file, config.migration_dir),
        Err(ConfigError::NoMigrationDir { .. }) => (
            config::find_config_file(cx.sources.config_file.as_deref(), &cx.cwd)?,
            cx.cwd.join("migrations"),
        ),
        Err(e) => return Err(e.into()),
    })
}

/// The revisions of `dir`; none when it does not exist yet.
fn revisions(dir: &Path) -> anyhow::Result<Vec<Revision>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let discovery = crate::source::discover(dir)?;
    if let Some(warning) = discovery.metadata_warning() {
        crate::cli::report::warning(warning);
    }
    Ok(discovery.revisions)
}

/// Read the models `schema` names (paths relative to the working directory).
pub(super) fn load_models(
    cx: &Context,
    config_file: Option<PathBuf>,
    schema: &SchemaFiles,
) -> anyhow::Result<Models> {
    Ok(schema::load_models(&ModelSources {
        config_file,
        files: schema.files.iter().map(|f| cx.cwd.join(f)).collect(),
        key: schema.key.clone(),
    })?)
}

/// The files `models` were read from, as people see them.
pub(super) fn model_files(cx: &Context, models: &Models) -> Vec<String> {
    models.files.iter().map(|f| cx.relative(f)).collect()
}

/// `dmig revision --autogenerate`.
pub(super) fn revision(cx: &Context, task: &Autogenerate) -> anyhow::Result<ExitCode> {
    let (config_file, dir) = project(cx)?;
    let revisions = revisions(&dir)?;
    let models = load_models(cx, config_file, &task.schema)?;
    let (runtime, pool): (_, Option<PgPool>) = match &task.online {
        Some(online) => {
            let session = Session::open(online, 1)?;
            (session.runtime, Some(session.pool))
        }
        None => (runtime()?, None),
    };
    let connect = scratch_connect(task.connect_timeout);
    let database = Database {
        live: pool.as_ref(),
        scratch_url: task.scratch_url.as_deref(),
        connect: &connect,
    };
    let outcome = runtime.block_on(schema::generate(
        &revisions,
        &models,
        database,
        &task.options,
    ))?;
    match outcome {
        Outcome::NoChanges { notices } => {
            report::findings(&notices);
            crate::cli::output::to_stdout(|out| writeln!(out, "no changes"))?;
        }
        Outcome::Changes(generated) => {
            report::generated(&generated, task.options.verify == Some(false));
            let written = schema::generate::write_revision(
                &dir,
                &task.message,
                &generated.files,
                SystemTime::now(),
            )?;
            let shown = cx.relative(&written);
            crate::cli::output::to_stdout(|out| writeln!(out, "{shown}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `check --schema` once the database is at head: what would bring it to
/// `models`, one line per operation (empty: they agree).
pub(super) fn compare(
    session: &Session,
    revisions: &[Revision],
    models: &Models,
    connect_timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    let connect = scratch_connect(connect_timeout);
    let database = Database {
        live: Some(&session.pool),
        scratch_url: None,
        connect: &connect,
    };
    Ok(session
        .runtime
        .block_on(schema::check(revisions, models, database))?)
}

/// `dmig verify`.
pub(super) fn verify(
    cx: &Context,
    scratch_url: &str,
    connect_timeout: Duration,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let (_, discovery) = cx.load()?;
    let connect = scratch_connect(connect_timeout);
    let verified = runtime()?.block_on(schema::verify_directory(
        &discovery.revisions,
        scratch_url,
        &connect,
    ))?;
    report::verify(&verified, quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// Connecting to the scratch server (each scratch pool sizes itself).
fn scratch_connect(connect_timeout: Duration) -> ConnectOptions {
    ConnectOptions {
        connect_timeout,
        ..ConnectOptions::default()
    }
}
