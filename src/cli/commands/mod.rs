//! One module per command; this one dispatches and holds what they share:
//! loading the revisions and opening the database.

mod autogen;
mod database;
mod inspect;
mod migrate;
mod render;
mod scaffold;
mod show;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::settings::{Online, Settings, Task};
use crate::config::{self, Config, Sources};
use crate::online::{self, ConnectOptions, PgPool};
use crate::source::Discovery;

/// Where a command runs: the configuration's sources and the working directory.
pub(crate) struct Context {
    sources: Sources,
    cwd: PathBuf,
}

/// Run a checked task.
pub(crate) fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let cx = Context {
        sources: settings.sources,
        cwd,
    };
    let online = settings.task.online().cloned();
    let result = dispatch(cx, settings.task);
    match online {
        Some(online) => result.map_err(|error| pooled(error, &online)),
        None => result,
    }
}

/// `error` told as [`online::OnlineError::TransactionPooled`], naming the
/// connection, when it shows the symptom of a transaction pooler.
fn pooled(error: anyhow::Error, online: &Online) -> anyhow::Error {
    let url = if online.url.trim().is_empty() {
        online::pg::target(&online.url)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| "the connection".to_owned())
    } else {
        online::pg::redact_url(&online.url)
    };
    match error.downcast::<online::OnlineError>() {
        Ok(error) => error.for_url(&url).into(),
        // Wrapped in a context: the symptom is still in its text.
        Err(error) => match online::pooler::symptom(&format!("{error:#}")) {
            Some(reason) => online::OnlineError::TransactionPooled {
                reason: reason.to_owned(),
                url: Some(url),
            }
            .into(),
            None => error,
        },
    }
}

fn dispatch(cx: Context, task: Task) -> anyhow::Result<ExitCode> {
    match task {
        Task::Init => scaffold::init(&cx),
        Task::Database {
            drop,
            create,
            online,
            migrate,
        } => database::database(&cx, drop, create, &online, migrate),
        Task::Completions { shell } => {
            let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "dmig", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Task::Revision {
            message,
            version,
            no_transaction,
            with_down,
        } => {
            let spec = crate::scaffold::NewRevision {
                message: &message,
                version: version.as_deref(),
                no_transaction,
                with_down,
            };
            scaffold::revision(&cx, &spec)
        }
        Task::Autogenerate(task) => autogen::revision(&cx, &task),
        Task::Verify {
            scratch_url,
            connect_timeout,
            quiet,
        } => autogen::verify(&cx, &scratch_url, connect_timeout, quiet),
        Task::Show { target, down } => show::show(&cx, &target, down),
        Task::History { format } => inspect::history(&cx, format),
        Task::Render {
            kind,
            range,
            transaction,
            session,
            checksums,
            output,
            purge,
            guard,
        } => render::render(
            &cx,
            render::Script {
                kind,
                range,
                transaction,
                session,
                checksums,
                guard,
                purge,
            },
            &output,
        ),
        Task::Migrate { request, run } => migrate::migrate(&cx, &request, run),
        Task::Current {
            verbose,
            format,
            online,
        } => inspect::current(&cx, &online, verbose, format),
        Task::Status { format, online } => inspect::status(&cx, &online, format),
        Task::Check {
            format,
            quiet,
            online,
            schema,
        } => inspect::check(&cx, &online, format, quiet, schema.as_ref()),
    }
}

impl Context {
    /// Resolve the config and discover revisions, printing discovery warnings.
    fn load(&self) -> anyhow::Result<(Config, Discovery)> {
        let config = config::resolve(&self.sources, &self.cwd)?;
        tracing::debug!(
            config_file = config.config_file.as_ref().map(|p| p.display().to_string()),
            migration_dir = %config.migration_dir.display(),
            "configuration"
        );
        let discovery = crate::source::discover(&config.migration_dir)?;
        tracing::debug!(
            revisions = discovery.revisions.len(),
            head = discovery.revisions.last().map(|r| r.version.to_string()),
            "revisions discovered"
        );
        if let Some(warning) = discovery.metadata_warning() {
            crate::cli::report::warning(warning);
        }
        Ok((config, discovery))
    }

    /// A path shown relative to the working directory when it is below it.
    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.cwd)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The runtime of an online command.
///
/// Multi-thread, as `AsyncMigrationHarness` needs (`block_in_place`),
/// with one worker: the CLI runs one thing at a time, and a second
/// worker only adds wake-ups between threads.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The runtime and pool of an online command.
struct Session {
    runtime: tokio::runtime::Runtime,
    pool: PgPool,
}

impl Session {
    /// Start the runtime and open a pool of `sessions` connections.
    fn open(online: &Online, sessions: u32) -> anyhow::Result<Session> {
        let runtime = runtime()?;
        let options = ConnectOptions {
            connect_timeout: online.connect_timeout,
            sessions,
        };
        match online::pg::target(&online.url) {
            Ok(target) => tracing::debug!(%target, sessions, "connecting"),
            Err(_) => tracing::debug!(sessions, "connecting"),
        }
        let pool = runtime.block_on(online::connect_pool(&online.url, &options))?;
        Ok(Session { runtime, pool })
    }
}
