//! dmig's own settings, which `diesel.toml` cannot hold (diesel CLI rejects
//! keys it does not know): an optional `dmig.toml`, and the `DMIG_*`
//! environment variables of the same keys. Each is one [`DmigSettings`]
//! layer, every key optional; the CLI puts its flags above them
//! (flag > `DMIG_*` > `dmig.toml` > default).
//!
//! A key is one line of the [`settings!`] list below: its name (the long
//! flag with `_` for `-`) and its type, which says how a TOML value and an
//! environment variable are read ([`SettingValue`]). Pure: files and the
//! environment in, values out.

use std::path::{Path, PathBuf};

use crate::dialect::PgDuration;
use crate::error::ConfigError;
use crate::plan::TransactionMode;

/// The file name dmig looks for.
pub const FILE_NAME: &str = "dmig.toml";

/// The prefix of the environment variables: `DMIG_LOCK_TIMEOUT` for `lock_timeout`.
pub const ENV_PREFIX: &str = "DMIG_";

/// The commented reference file (`dmig.reference.toml` at the repository
/// root), every key commented out: what `dmig init` writes as `dmig.toml`.
pub const REFERENCE: &str = include_str!("../dmig.reference.toml");

/// One value, as a TOML file or an environment variable gives it.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    /// A value of `dmig.toml`.
    Toml(&'a toml::Value),
    /// The text of a `DMIG_*` variable.
    Env(&'a str),
}

/// A type a setting can have: how it is read from either source, and what
/// it accepts (for messages).
pub trait SettingValue: Sized {
    /// What is accepted, as a message ends: ``a duration as PostgreSQL writes it (`500ms`, `2s`)``.
    const ACCEPTS: &'static str;
    /// Read `raw`; `Err` carries why, when more can be said than [`Self::ACCEPTS`].
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>>;
}

impl SettingValue for PgDuration {
    const ACCEPTS: &'static str =
        "a duration as PostgreSQL writes it: a string such as \"500ms\", \"2s\", \"1min\" (a bare integer is milliseconds)";
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>> {
        let text = match raw {
            Raw::Toml(toml::Value::String(s)) => s.clone(),
            Raw::Toml(toml::Value::Integer(ms)) if *ms >= 0 => ms.to_string(),
            Raw::Toml(_) => return Err(None),
            Raw::Env(text) => text.to_owned(),
        };
        // PgDuration's own message says what is accepted too: ACCEPTS does here.
        PgDuration::parse(&text).map_err(|_| Some(format!("invalid duration `{text}`")))
    }
}

impl SettingValue for Vec<String> {
    const ACCEPTS: &'static str = "an array of SQL strings (from the environment: one SQL string)";
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>> {
        match raw {
            Raw::Toml(toml::Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or(None))
                .collect(),
            Raw::Toml(toml::Value::String(s)) => Ok(vec![s.clone()]),
            Raw::Toml(_) => Err(None),
            Raw::Env(text) => Ok(vec![text.to_owned()]),
        }
    }
}

impl SettingValue for TransactionMode {
    const ACCEPTS: &'static str = "\"per-revision\" or \"single\"";
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>> {
        match text(raw)?.trim() {
            "per-revision" => Ok(TransactionMode::PerRevision),
            "single" => Ok(TransactionMode::Single),
            _ => Err(None),
        }
    }
}

impl SettingValue for bool {
    const ACCEPTS: &'static str = "true or false";
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>> {
        match raw {
            Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
            Raw::Toml(_) => Err(None),
            Raw::Env(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(None),
            },
        }
    }
}

impl SettingValue for u64 {
    const ACCEPTS: &'static str = "a whole number, 0 or more";
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>> {
        whole(raw)
    }
}

impl SettingValue for u32 {
    const ACCEPTS: &'static str = "a whole number, 0 or more";
    fn read(raw: Raw<'_>) -> Result<Self, Option<String>> {
        whole(raw)
    }
}

/// A string value's text.
fn text(raw: Raw<'_>) -> Result<&str, Option<String>> {
    match raw {
        Raw::Toml(toml::Value::String(s)) => Ok(s),
        Raw::Toml(_) => Err(None),
        Raw::Env(text) => Ok(text),
    }
}

/// A whole number that fits `T`.
fn whole<T: TryFrom<i64> + std::str::FromStr>(raw: Raw<'_>) -> Result<T, Option<String>> {
    match raw {
        Raw::Toml(toml::Value::Integer(n)) => T::try_from(*n).map_err(|_| None),
        Raw::Toml(_) => Err(None),
        Raw::Env(text) => text.trim().parse().map_err(|_| None),
    }
}

/// Declares the keys: each line is `name: Type`, the doc comment above it
/// what it does. Adding a key is adding a line here (and to
/// `dmig.reference.toml`, which a test holds to this list).
macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $key:ident: $ty:ty, )*) => {
        /// One layer of dmig's settings (`dmig.toml`, or the `DMIG_*`
        /// environment); `None` where the layer says nothing.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct DmigSettings {
            $( $(#[doc = $doc])* pub $key: Option<$ty>, )*
        }

        impl DmigSettings {
            /// Every key, in the order of the reference file.
            pub const KEYS: &'static [&'static str] = &[$(stringify!($key)),*];

            /// Set `key` from `raw`; `Ok(false)` when there is no such key,
            /// `Err` with what it accepts (and why, when known) when the
            /// value is unusable.
            fn set(
                &mut self,
                key: &str,
                raw: Raw<'_>,
            ) -> Result<bool, (&'static str, Option<String>)> {
                match key {
                    $( stringify!($key) => {
                        let value = <$ty as SettingValue>::read(raw)
                            .map_err(|why| (<$ty as SettingValue>::ACCEPTS, why))?;
                        self.$key = Some(value);
                        Ok(true)
                    } )*
                    _ => Ok(false),
                }
            }

            /// This layer above `lower`: each key from here, else from `lower`.
            pub fn over(self, lower: DmigSettings) -> DmigSettings {
                DmigSettings { $( $key: self.$key.or(lower.$key), )* }
            }
        }
    };
}

settings! {
    /// `--lock-timeout`.
    lock_timeout: PgDuration,
    /// `--statement-timeout`.
    statement_timeout: PgDuration,
    /// `--init-sql` (repeatable; here an array).
    init_sql: Vec<String>,
    /// `--transaction`.
    transaction: TransactionMode,
    /// `--lock-wait` (seconds).
    lock_wait: u64,
    /// `--connect-timeout` (seconds).
    connect_timeout: u64,
    /// `--strict`.
    strict: bool,
    /// `--retries`: retries of a revision that hit the lock timeout.
    retries: u32,
    /// `--checksums` / `--no-checksums`: dmig's companion table.
    checksums: bool,
}

impl DmigSettings {
    /// Read a `dmig.toml`: unknown keys and unusable values are errors
    /// naming the key and the file.
    pub fn from_file(path: &Path) -> Result<DmigSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        DmigSettings::from_toml(&text, path)
    }

    /// Read the text of a `dmig.toml` found at `path` (named in errors).
    pub fn from_toml(text: &str, path: &Path) -> Result<DmigSettings, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        let mut settings = DmigSettings::default();
        for (key, value) in &table {
            let known = settings
                .set(key, Raw::Toml(value))
                .map_err(|(accepts, reason)| ConfigError::BadSetting {
                    origin: format!("`{key}` in `{}`", path.display()),
                    accepts,
                    reason,
                })?;
            if !known {
                return Err(ConfigError::UnknownSetting {
                    key: key.clone(),
                    path: path.to_path_buf(),
                    known: DmigSettings::KEYS,
                });
            }
        }
        Ok(settings)
    }

    /// The `DMIG_*` variables of the known keys, read through `var` (the
    /// process environment: `|name| std::env::var(name).ok()`). Other
    /// `DMIG_*` variables (`DMIG_LOG`) are not settings and are left alone.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<DmigSettings, ConfigError> {
        let mut settings = DmigSettings::default();
        for key in DmigSettings::KEYS {
            let name = env_name(key);
            let Some(value) = var(&name) else { continue };
            settings
                .set(key, Raw::Env(&value))
                .map_err(|(accepts, reason)| ConfigError::BadSetting {
                    origin: format!("environment variable {name}"),
                    accepts,
                    reason,
                })?;
        }
        Ok(settings)
    }
}

/// The environment variable of `key`: `DMIG_LOCK_TIMEOUT`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The `dmig.toml` in use: the one beside `diesel_toml` (the `diesel.toml`
/// in use), else the nearest one from `cwd` upward; `None` when there is none.
pub fn find(diesel_toml: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    let beside = diesel_toml
        .and_then(Path::parent)
        .map(|dir| dir.join(FILE_NAME))
        .filter(|candidate| candidate.is_file());
    beside.or_else(|| {
        cwd.ancestors()
            .map(|dir| dir.join(FILE_NAME))
            .find(|candidate| candidate.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DmigSettings, String> {
        DmigSettings::from_toml(text, Path::new("/p/dmig.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_reference_file_parses_with_every_key_uncommented() {
        assert_eq!(parse(REFERENCE), Ok(DmigSettings::default()));
        let uncommented: String = REFERENCE
            .lines()
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| {
                line.split_once(" = ")
                    .is_some_and(|(key, _)| DmigSettings::KEYS.contains(&key))
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let all = parse(&uncommented).expect("reference values parse");
        let documented: Vec<&str> = uncommented
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .collect();
        assert_eq!(documented, DmigSettings::KEYS, "every key, in order");
        assert_eq!(all.lock_timeout, PgDuration::parse("2s").ok());
        assert_eq!(all.init_sql, Some(vec!["SET role app_owner".to_owned()]));
        assert_eq!(all.transaction, Some(TransactionMode::PerRevision));
        assert_eq!(all.retries, Some(0));
        assert_eq!(all.checksums, Some(true));
    }

    #[test]
    fn unknown_keys_are_named_with_the_file() {
        let error = parse("lock_timout = \"2s\"\n").expect_err("unknown");
        assert!(
            error.starts_with("unknown key `lock_timout` in `/p/dmig.toml`"),
            "{error}"
        );
        assert!(error.contains("lock_timeout, statement_timeout"), "{error}");
        let error = parse("[dmig]\nretries = 1\n").expect_err("a table");
        assert!(error.contains("unknown key `dmig`"), "{error}");
    }

    #[test]
    fn bad_values_name_the_key_the_file_and_what_is_accepted() {
        let error = parse("lock_timeout = \"2 minutes\"\n").expect_err("bad");
        assert!(
            error.contains("`lock_timeout` in `/p/dmig.toml`")
                && error.contains("invalid duration `2 minutes`; expected a duration")
                && error.contains("\"500ms\""),
            "{error}"
        );
        let error = parse("retries = -1\n").expect_err("negative");
        assert!(
            error.contains("`retries` in `/p/dmig.toml`") && error.contains("a whole number"),
            "{error}"
        );
        let error = parse("transaction = \"each\"\n").expect_err("enum");
        assert!(error.contains("\"per-revision\" or \"single\""), "{error}");
        let error = parse("checksums = \"no\"\n").expect_err("bool");
        assert!(error.contains("true or false"), "{error}");
        let error = parse("init_sql = [1]\n").expect_err("array");
        assert!(error.contains("an array of SQL strings"), "{error}");
        let error = parse("lock_timeout = \n").expect_err("syntax");
        assert!(error.contains("/p/dmig.toml"), "{error}");
    }

    #[test]
    fn the_environment_reads_the_same_keys_and_names_the_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let read = DmigSettings::from_env(env(&[
            ("DMIG_LOCK_TIMEOUT", "500ms"),
            ("DMIG_STRICT", "yes"),
            ("DMIG_INIT_SQL", "SELECT 1"),
            ("DMIG_LOG", "debug"),
        ]))
        .expect("env");
        assert_eq!(read.lock_timeout, PgDuration::parse("500ms").ok());
        assert_eq!(read.strict, Some(true));
        assert_eq!(read.init_sql, Some(vec!["SELECT 1".to_owned()]));
        let error = DmigSettings::from_env(env(&[("DMIG_RETRIES", "many")])).expect_err("bad");
        assert!(
            error
                .to_string()
                .starts_with("environment variable DMIG_RETRIES: expected a whole number"),
            "{error}"
        );
    }

    #[test]
    fn a_higher_layer_wins_key_by_key() {
        let env = DmigSettings {
            lock_wait: Some(5),
            ..DmigSettings::default()
        };
        let file = DmigSettings {
            lock_wait: Some(9),
            connect_timeout: Some(3),
            ..DmigSettings::default()
        };
        let merged = env.over(file);
        assert_eq!(
            (merged.lock_wait, merged.connect_timeout),
            (Some(5), Some(3))
        );
    }

    #[test]
    fn found_beside_diesel_toml_else_upward() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("app/sub")).expect("mkdir");
        std::fs::create_dir_all(root.join("db")).expect("mkdir");
        std::fs::write(root.join(FILE_NAME), "").expect("write");
        assert_eq!(
            find(None, &root.join("app/sub")),
            Some(root.join(FILE_NAME))
        );
        std::fs::write(root.join("db").join(FILE_NAME), "").expect("write");
        let diesel = root.join("db/diesel.toml");
        assert_eq!(
            find(Some(&diesel), &root.join("app/sub")),
            Some(root.join("db").join(FILE_NAME))
        );
        let nothing = tempfile::tempdir().expect("tempdir");
        assert_eq!(find(None, nothing.path()), None);
    }
}
