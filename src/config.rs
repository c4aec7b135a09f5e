//! Where the migrations live, resolved the way diesel CLI does it:
//! `--migration-dir` > `MIGRATION_DIRECTORY` > `diesel.toml`
//! `[migrations_directory] dir` (relative to that file) > `migrations/` in the
//! current directory or a parent.
//!
//! `diesel.toml` belongs to Diesel, whose CLI rejects unknown keys, so dmig
//! only reads it and never adds a section of its own.

use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// The config file name diesel CLI looks for.
pub const CONFIG_FILE_NAME: &str = "diesel.toml";

/// What the user told us, from flags or the environment (clap merges the two).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config-file` / `DIESEL_CONFIG_FILE`.
    pub config_file: Option<PathBuf>,
    /// `--migration-dir` / `MIGRATION_DIRECTORY`.
    pub migration_dir: Option<PathBuf>,
}

/// The part of `diesel.toml` dmig reads; other sections are Diesel's and ignored.
#[derive(Debug, Default, serde::Deserialize)]
struct DieselToml {
    migrations_directory: Option<MigrationsDirectory>,
}

#[derive(Debug, serde::Deserialize)]
struct MigrationsDirectory {
    dir: PathBuf,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `diesel.toml` in effect, if any.
    pub config_file: Option<PathBuf>,
    /// The migrations directory.
    pub migration_dir: PathBuf,
}

/// Find `diesel.toml`: the explicit path (which must exist), else the nearest
/// one from `cwd` upward.
pub fn find_config_file(
    explicit: Option<&Path>,
    cwd: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(Some(path.to_path_buf()))
        } else {
            Err(ConfigError::MissingConfigFile {
                path: path.to_path_buf(),
            })
        };
    }
    Ok(cwd
        .ancestors()
        .map(|dir| dir.join(CONFIG_FILE_NAME))
        .find(|candidate| candidate.is_file()))
}

/// Read `[migrations_directory] dir` from a `diesel.toml`, resolved against
/// the file's own directory.
pub fn migration_dir_from_config(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let parsed: DieselToml = toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    Ok(parsed.migrations_directory.map(|m| {
        let base = path.parent().unwrap_or(Path::new("."));
        base.join(m.dir)
    }))
}

/// Resolve the configuration from `sources`, searching from `cwd`.
pub fn resolve(sources: &Sources, cwd: &Path) -> Result<Config, ConfigError> {
    let config_file = find_config_file(sources.config_file.as_deref(), cwd)?;
    if let Some(dir) = &sources.migration_dir {
        return existing(
            dir.clone(),
            "--migration-dir or MIGRATION_DIRECTORY",
            config_file,
        );
    }
    if let Some(file) = &config_file {
        if let Some(dir) = migration_dir_from_config(file)? {
            let origin = format!("`{}`", file.display());
            return existing(dir, &origin, config_file);
        }
    }
    let found = cwd
        .ancestors()
        .map(|dir| dir.join("migrations"))
        .find(|candidate| candidate.is_dir())
        .ok_or_else(|| ConfigError::NoMigrationDir {
            start: cwd.to_path_buf(),
        })?;
    Ok(Config {
        config_file,
        migration_dir: found,
    })
}

fn existing(
    dir: PathBuf,
    origin: &str,
    config_file: Option<PathBuf>,
) -> Result<Config, ConfigError> {
    if dir.is_dir() {
        Ok(Config {
            config_file,
            migration_dir: dir,
        })
    } else {
        Err(ConfigError::MissingMigrationDir {
            path: dir,
            origin: origin.to_string(),
        })
    }
}

/// The `diesel.toml` that `dmig init` writes: what diesel CLI's `setup`
/// writes, so both tools keep working on the project.
pub const INIT_DIESEL_TOML: &str = r#"# For documentation on how to configure this file,
# see https://diesel.rs/guides/configuring-diesel-cli

[migrations_directory]
dir = "migrations"
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn project() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(tmp.path().join("sub/deeper")).expect("mkdir");
        tmp
    }

    #[test]
    fn flag_wins_over_config_file() {
        let tmp = project();
        fs::create_dir_all(tmp.path().join("elsewhere")).expect("mkdir");
        fs::create_dir_all(tmp.path().join("db/migrations")).expect("mkdir");
        fs::write(
            tmp.path().join(CONFIG_FILE_NAME),
            "[migrations_directory]\ndir = \"db/migrations\"\n",
        )
        .expect("write");
        let sources = Sources {
            config_file: None,
            migration_dir: Some(tmp.path().join("elsewhere")),
        };
        let config = resolve(&sources, &tmp.path().join("sub")).expect("resolve");
        assert_eq!(config.migration_dir, tmp.path().join("elsewhere"));
    }

    #[test]
    fn config_dir_is_relative_to_the_file_found_upward() {
        let tmp = project();
        fs::create_dir_all(tmp.path().join("db/migrations")).expect("mkdir");
        fs::write(
            tmp.path().join(CONFIG_FILE_NAME),
            "[print_schema]\nfile = \"src/schema.rs\"\n\n[migrations_directory]\ndir = \"db/migrations\"\n",
        )
        .expect("write");
        let config = resolve(&Sources::default(), &tmp.path().join("sub/deeper")).expect("resolve");
        assert_eq!(config.migration_dir, tmp.path().join("db/migrations"));
        assert_eq!(config.config_file, Some(tmp.path().join(CONFIG_FILE_NAME)));
    }

    #[test]
    fn falls_back_to_migrations_upward() {
        let tmp = project();
        fs::create_dir_all(tmp.path().join("migrations")).expect("mkdir");
        let config = resolve(&Sources::default(), &tmp.path().join("sub/deeper")).expect("resolve");
        assert_eq!(config.migration_dir, tmp.path().join("migrations"));
    }

    #[test]
    fn errors_name_the_file_or_directory() {
        let tmp = project();
        fs::write(tmp.path().join(CONFIG_FILE_NAME), "[migrations_directory\n").expect("write");
        let err = resolve(&Sources::default(), tmp.path()).expect_err("malformed");
        assert!(err.to_string().contains("diesel.toml"), "{err}");

        let sources = Sources {
            config_file: Some(tmp.path().join("nope.toml")),
            migration_dir: None,
        };
        let err = resolve(&sources, tmp.path()).expect_err("missing");
        assert!(err.to_string().contains("nope.toml"), "{err}");

        fs::write(
            tmp.path().join(CONFIG_FILE_NAME),
            "[migrations_directory]\ndir = \"gone\"\n",
        )
        .expect("write");
        let err = resolve(&Sources::default(), tmp.path()).expect_err("missing dir");
        assert!(err.to_string().contains("gone"), "{err}");
    }

    #[test]
    fn init_toml_parses_and_points_at_migrations() {
        let parsed: DieselToml = toml::from_str(INIT_DIESEL_TOML).expect("parse");
        let dir = parsed.migrations_directory.expect("section").dir;
        assert_eq!(dir, PathBuf::from("migrations"));
    }
}
