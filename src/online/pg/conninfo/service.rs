//! The connection service file (`pg_service.conf`), read as libpq reads it:
//! `service=NAME` (or `PGSERVICE`) names an INI group whose `keyword=value`
//! lines fill every setting the input did not give, before the environment
//! fills the rest. The group is sought in the user's file (`PGSERVICEFILE`,
//! else `~/.pg_service.conf`), then in the system's (`pg_service.conf` in
//! `PGSYSCONFDIR`, else in the first of [`Environment::sysconf_dirs`] that
//! has one); the user's wins.
//!
//! As in libpq, lines are trimmed, `#` starts a comment, a keyword is
//! everything before the first `=` (so `host = db` is a syntax error), and a
//! service may not name another.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::ConnInfoError;
use super::settings::{Echo, Settings};
use super::{Environment, Origin};

/// The system-wide file's name, in `PGSYSCONFDIR` or a default directory.
const SYSTEM_FILE: &str = "pg_service.conf";

/// Fill `settings` from the service it names, if it names one.
pub(super) fn apply(settings: &mut Settings, env: &Environment<'_>) -> Result<(), ConnInfoError> {
    let (name, shown) = match settings.nonempty("service") {
        Some(raw) => (raw.value.clone(), raw.echo == Echo::All),
        None => match (env.var)("PGSERVICE").filter(|name| !name.is_empty()) {
            Some(name) => (name, true),
            None => return Ok(()),
        },
    };
    let service = Service { name: &name, shown };
    let mut looked = Vec::new();
    let user = (env.var)("PGSERVICEFILE")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .or_else(|| env.home.as_ref().map(|home| home.join(".pg_service.conf")));
    let system = match (env.var)("PGSYSCONFDIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => Some(Path::new(&dir).join(SYSTEM_FILE)),
        None => env
            .sysconf_dirs
            .iter()
            .map(|dir| dir.join(SYSTEM_FILE))
            .find(|path| path.exists()),
    };
    // The user's file first: its group wins.
    for path in [user, system].into_iter().flatten() {
        match service.apply_file(&path, settings)? {
            Some(true) => return Ok(()),
            Some(false) => looked.push(path),
            None => {}
        }
    }
    Err(ConnInfoError::ServiceNotFound {
        service: service.shown.then(|| name.clone()),
        looked,
    })
}

/// The service sought.
struct Service<'a> {
    name: &'a str,
    /// Whether messages may show the name: not when it may be part of a
    /// password (after an unquoted one in a connection string).
    shown: bool,
}

impl Service<'_> {
    /// Read the group of this service in `path` into `settings`: whether
    /// the file has it, `None` when there is no such file.
    fn apply_file(
        &self,
        path: &Path,
        settings: &mut Settings,
    ) -> Result<Option<bool>, ConnInfoError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(ConnInfoError::ServiceFile {
                    path: path.to_owned(),
                    source: error,
                })
            }
        };
        let at = |line: usize, problem: String| ConnInfoError::ServiceFileLine {
            path: path.to_owned(),
            line,
            problem,
        };
        let mut found = false;
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let line = std::str::from_utf8(line)
                .map_err(|_| at(number, "the line is not UTF-8".to_owned()))?
                .trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(group) = line.strip_prefix('[') {
                if found {
                    break;
                }
                // libpq: the name, then `]`; whatever follows is ignored.
                found = group
                    .strip_prefix(self.name)
                    .is_some_and(|rest| rest.starts_with(']'));
                continue;
            }
            if !found {
                continue;
            }
            let Some((keyword, value)) = line.split_once('=') else {
                return Err(at(number, "expected keyword=value".to_owned()));
            };
            if keyword == "service" {
                return Err(at(
                    number,
                    "a service cannot name another service".to_owned(),
                ));
            }
            // A setting the input gave stays; the old `requiressl` is
            // `sslmode` once stored.
            let stored_as = if keyword == "requiressl" {
                "sslmode"
            } else {
                keyword
            };
            if settings.get(stored_as).is_some() {
                continue;
            }
            settings
                .store(keyword, value.to_owned(), Origin::ServiceFile, Echo::All)
                .map_err(|_| at(number, format!("unknown connection option `{keyword}`")))?;
        }
        Ok(Some(found))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_env::*;
    use super::super::PasswordSource;

    const FILE: &str = "\
# comment
[other]
host=elsewhere

  [prod]  # libpq ignores what follows the bracket
host=db.internal
port=5433
dbname=shop
password=s3cret
application_name=with = sign

[later]
host=never
";

    fn service_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).expect("write the service file");
        path
    }

    #[test]
    fn a_service_fills_what_the_input_does_not_give() {
        let dir = tempfile::tempdir().expect("tempdir");
        service_file(dir.path(), ".pg_service.conf", FILE);
        let env = TestEnv::new().home(dir.path()).var("PGUSER", "app");
        let info = env.ok("service=prod port=6000");
        assert_eq!(info.hosts, [tcp("db.internal")]);
        assert_eq!(info.ports, [6000], "the input wins over the service");
        assert_eq!(info.dbname, "shop");
        assert_eq!(info.user, "app", "the environment fills what is left");
        assert_eq!(info.password.as_deref(), Some("s3cret"));
        assert_eq!(
            info.password_source,
            Some(PasswordSource::Given(super::Origin::ServiceFile))
        );
        assert!(info.secrets.contains(&"s3cret".to_owned()));
        assert_eq!(info.application_name, "with = sign");
    }

    #[test]
    fn the_service_wins_over_the_environment_and_pgservice_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = service_file(dir.path(), "services", FILE);
        let env = TestEnv::new()
            .var("PGSERVICEFILE", path.to_str().unwrap())
            .var("PGSERVICE", "prod")
            .var("PGHOST", "from-env")
            .var("PGPORT", "7000");
        let info = env.ok("");
        assert_eq!(info.hosts, [tcp("db.internal")]);
        assert_eq!(info.ports, [5433]);
    }

    #[test]
    fn the_user_file_wins_and_the_system_file_is_the_fallback() {
        let home = tempfile::tempdir().expect("tempdir");
        let sys = tempfile::tempdir().expect("tempdir");
        service_file(home.path(), ".pg_service.conf", "[prod]\nhost=user-file\n");
        service_file(
            sys.path(),
            "pg_service.conf",
            "[prod]\nhost=system-file\n[ci]\nhost=ci-db\n",
        );
        let env = TestEnv::new()
            .home(home.path())
            .var("PGSYSCONFDIR", sys.path().to_str().unwrap());
        assert_eq!(env.ok("service=prod").hosts, [tcp("user-file")]);
        assert_eq!(env.ok("service=ci").hosts, [tcp("ci-db")]);
        // Without PGSYSCONFDIR, the first default directory that has one.
        let none = tempfile::tempdir().expect("tempdir");
        let env = TestEnv::new()
            .sysconf_dir(none.path())
            .sysconf_dir(sys.path());
        assert_eq!(env.ok("service=prod").hosts, [tcp("system-file")]);
    }

    #[test]
    fn a_missing_service_names_it_and_where_it_was_sought() {
        let home = tempfile::tempdir().expect("tempdir");
        service_file(home.path(), ".pg_service.conf", FILE);
        let env = TestEnv::new().home(home.path());
        let message = env.err("postgres://db/shop?service=staging").to_string();
        assert_eq!(
            message,
            format!(
                "definition of service `staging` not found in {}",
                home.path().join(".pg_service.conf").display()
            )
        );
        let message = TestEnv::new().err("service=staging").to_string();
        assert_eq!(
            message,
            "definition of service `staging` not found: no service file (~/.pg_service.conf, \
             or the files PGSERVICEFILE and PGSYSCONFDIR name)"
        );
    }

    #[test]
    fn a_service_named_after_an_unquoted_password_is_not_shown() {
        let message = TestEnv::new().err("password=abc service=xyzzy").to_string();
        assert!(!message.contains("xyzzy"), "{message}");
        assert!(
            message.starts_with("definition of service named in the connection string (not shown"),
            "{message}"
        );
    }

    #[test]
    fn bad_lines_name_the_file_and_line_and_never_a_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (text, problem) in [
            ("[prod]\nhost = db\n", "unknown connection option `host `"),
            ("[prod]\n\nhost\n", "expected keyword=value"),
            (
                "[prod]\nservice=other\n",
                "a service cannot name another service",
            ),
        ] {
            let path = service_file(dir.path(), "services", text);
            let env = TestEnv::new().var("PGSERVICEFILE", path.to_str().unwrap());
            let message = env.err("service=prod").to_string();
            assert!(
                message.starts_with(&format!("service file `{}` line ", path.display())),
                "{message}"
            );
            assert!(message.ends_with(problem), "{message}");
        }
        fs::write(dir.path().join("bin"), b"[prod]\npassword=\xff\n").unwrap();
        let env = TestEnv::new().var("PGSERVICEFILE", dir.path().join("bin").to_str().unwrap());
        assert!(env
            .err("service=prod")
            .to_string()
            .ends_with("line 2: the line is not UTF-8"));
    }

    #[test]
    fn an_unreadable_service_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = TestEnv::new().var("PGSERVICEFILE", dir.path().to_str().unwrap());
        let message = env.err("service=prod").to_string();
        assert!(
            message.starts_with(&format!(
                "cannot read service file `{}`",
                dir.path().display()
            )),
            "{message}"
        );
    }
}
