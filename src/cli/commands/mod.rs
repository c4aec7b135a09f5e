//! One module per command; this one dispatches and holds what they share:
//! loading the revisions and opening the database.

mod inspect;
mod migrate;
mod render;
mod scaffold;
mod show;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::settings::{Online, Settings, Task};
use crate::cli::output::say;
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
    match settings.task {
        Task::Init => scaffold::init(&cx),
        Task::Revision {
            message,
            no_transaction,
        } => scaffold::revision(&cx, &message, no_transaction),
        Task::Show { target, down } => show::show(&cx, &target, down),
        Task::History { format } => inspect::history(&cx, format),
        Task::Render {
            kind,
            range,
            transaction,
            session,
            output,
        } => render::render(&cx, kind, &range, transaction, session, &output),
        Task::Migrate {
            request,
            online,
            session,
            lock_wait,
            quiet,
        } => migrate::migrate(&cx, &request, &online, session, lock_wait, quiet),
        Task::Current {
            verbose,
            format,
            online,
        } => inspect::current(&online, verbose, format),
        Task::Status { format, online } => inspect::status(&cx, &online, format),
        Task::Check {
            format,
            quiet,
            online,
        } => inspect::check(&cx, &online, format, quiet),
    }
}

impl Context {
    /// Resolve the config and discover revisions, printing discovery warnings.
    fn load(&self) -> anyhow::Result<(Config, Discovery)> {
        let config = config::resolve(&self.sources, &self.cwd)?;
        let discovery = crate::source::discover(&config.migration_dir)?;
        if let Some(warning) = discovery.metadata_warning() {
            say!("warning: {warning}");
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

/// The runtime and pool of an online command.
struct Session {
    runtime: tokio::runtime::Runtime,
    pool: PgPool,
}

impl Session {
    /// Start the runtime and open a pool of `sessions` connections.
    ///
    /// Multi-thread, as `AsyncMigrationHarness` needs (`block_in_place`),
    /// with one worker: the CLI runs one thing at a time, and a second
    /// worker only adds wake-ups between threads.
    fn open(online: &Online, sessions: u32) -> anyhow::Result<Session> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let options = ConnectOptions {
            connect_timeout: online.connect_timeout,
            sessions,
        };
        let pool = runtime.block_on(online::connect_pool(&online.url, &options))?;
        Ok(Session { runtime, pool })
    }
}
