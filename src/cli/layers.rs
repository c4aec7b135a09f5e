//! dmig's settings in layers: a flag given on the command line, else the
//! `DMIG_*` variable, else `dmig.toml`, else the flag's default. clap fills
//! in defaults, so which flags were *given* comes from its matches
//! ([`Given`]); the other layers are [`crate::settings_file`]'s.

use std::collections::HashSet;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::ArgMatches;

use super::args::SessionArgs;
use crate::config::{self, Sources};
use crate::dialect::SessionSettings;
use crate::settings_file::{self, DmigSettings};

/// The options given on the command line (by clap id, the field name:
/// `lock_wait`), at every level of subcommands.
#[derive(Debug, Clone, Default)]
pub struct Given(HashSet<String>);

impl Given {
    /// What `matches` says was typed, not defaulted.
    pub fn from_matches(matches: &ArgMatches) -> Given {
        let mut given = HashSet::new();
        let mut level = Some(matches);
        while let Some(matches) = level {
            for id in matches.ids() {
                if matches.value_source(id.as_str()) == Some(ValueSource::CommandLine) {
                    given.insert(id.as_str().to_owned());
                }
            }
            level = matches.subcommand().map(|(_, sub)| sub);
        }
        Given(given)
    }

    fn has(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

/// The layers below the flags, merged (`DMIG_*` over `dmig.toml`).
#[derive(Debug, Default)]
pub(crate) struct Layers {
    given: Given,
    below: DmigSettings,
}

impl Layers {
    /// Only the flags: for commands that take none of dmig's settings, so a
    /// broken `dmig.toml` does not stop `init` or `completions`.
    pub(crate) fn flags_only(given: Given) -> Layers {
        Layers {
            given,
            below: DmigSettings::default(),
        }
    }

    /// Read the environment and the `dmig.toml` in use (beside the
    /// `diesel.toml` of `sources`, else upward from the current directory).
    pub(crate) fn load(given: Given, sources: &Sources) -> anyhow::Result<Layers> {
        let cwd = std::env::current_dir()
            .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?;
        let diesel_toml = config::find_config_file(sources.config_file.as_deref(), &cwd)?;
        let file: Option<PathBuf> = settings_file::find(diesel_toml.as_deref(), &cwd);
        tracing::debug!(
            dmig_toml = file.as_ref().map(|p| p.display().to_string()),
            "dmig settings file"
        );
        let from_file = match &file {
            Some(path) => DmigSettings::from_file(path)?,
            None => DmigSettings::default(),
        };
        let from_env = DmigSettings::from_env(|name| std::env::var(name).ok())?;
        let below = from_env.over(from_file);
        let layers = Layers { given, below };
        Ok(layers)
    }

    /// `flag` when given, else the layers' `value`, else `flag` (clap's default).
    pub(crate) fn pick<T>(&self, id: &str, flag: T, value: Option<T>) -> T {
        if self.given.has(id) {
            flag
        } else {
            value.unwrap_or(flag)
        }
    }

    /// The layers below the flags.
    pub(crate) fn below(&self) -> &DmigSettings {
        &self.below
    }

    /// `--lock-timeout`, `--statement-timeout` and `--init-sql`, each from
    /// its best layer.
    pub(crate) fn session(&self, args: SessionArgs) -> SessionSettings {
        let below = self.below.clone();
        SessionSettings {
            lock_timeout: self.pick(
                "lock_timeout",
                args.lock_timeout,
                below.lock_timeout.map(Some),
            ),
            statement_timeout: self.pick(
                "statement_timeout",
                args.statement_timeout,
                below.statement_timeout.map(Some),
            ),
            init_sql: self.pick("init_sql", args.init_sql, below.init_sql),
        }
    }
}
