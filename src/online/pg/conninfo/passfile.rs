//! The password file: `passfile` / `PGPASSFILE`, else `~/.pgpass`, read
//! as libpq reads it (`hostname:port:database:username:password`, `*`
//! matching anything, `\` escaping, the first matching line wins) and ignored
//! when group or others may read it.

use std::fs;
use std::path::{Path, PathBuf};

use super::settings::Settings;
use super::{ConnInfoError, Environment, Host};

/// The password file's password for the first of `hosts` that has a line,
/// and the file's path. The file is `passfile` (or `PGPASSFILE`), else
/// `~/.pgpass`.
pub(super) fn lookup(
    s: &Settings,
    env: &Environment<'_>,
    hosts: &[Host],
    ports: &[u16],
    dbname: &str,
    user: &str,
) -> Result<Option<(String, PathBuf)>, ConnInfoError> {
    let file = s
        .nonempty("passfile")
        .map(|raw| PathBuf::from(&raw.value))
        .or_else(|| env.home.as_ref().map(|home| home.join(".pgpass")));
    let Some(path) = file else {
        return Ok(None);
    };
    let password = password_from_file(&path, hosts, ports, dbname, user, env)?;
    Ok(password.map(|password| (password, path)))
}

/// libpq's `passwordFromFile`, for the first host that has a line. A file
/// that is missing is no file; one that is not a plain file, or that group
/// or others may read, is ignored with a warning (as libpq).
fn password_from_file(
    path: &Path,
    hosts: &[Host],
    ports: &[u16],
    dbname: &str,
    user: &str,
    env: &Environment<'_>,
) -> Result<Option<String>, ConnInfoError> {
    let Ok(metadata) = fs::metadata(path) else {
        return Ok(None);
    };
    if !metadata.is_file() {
        tracing::warn!(
            "password file `{}` is not a plain file; ignoring it",
            path.display()
        );
        return Ok(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file `{}` has group or world access; permissions should be u=rw \
                 (0600) or less; ignoring it",
                path.display()
            );
            return Ok(None);
        }
    }
    let data = fs::read(path).map_err(|source| ConnInfoError::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    for (host, port) in hosts.iter().zip(ports) {
        // libpq: the default socket directory is `localhost` in the file.
        let host = match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(dir) if env.socket_dirs.iter().any(|default| default == dir) => {
                "localhost".to_owned()
            }
            Host::Unix(dir) => dir.display().to_string(),
        };
        let port = port.to_string();
        if let Some(password) = passfile_lookup(&data, path, &host, &port, dbname, user)? {
            return Ok(Some(password));
        }
    }
    Ok(None)
}

/// The password of the first line of `data` matching the four fields.
fn passfile_lookup(
    data: &[u8],
    path: &Path,
    host: &str,
    port: &str,
    dbname: &str,
    user: &str,
) -> Result<Option<String>, ConnInfoError> {
    for (number, line) in data.split(|byte| *byte == b'\n').enumerate() {
        if line.first() == Some(&b'#') {
            continue;
        }
        let mut end = line.len();
        while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
            end -= 1;
        }
        let line = &line[..end];
        if line.is_empty() {
            continue;
        }
        let Some(rest) = passfile_field(line, host.as_bytes())
            .and_then(|rest| passfile_field(rest, port.as_bytes()))
            .and_then(|rest| passfile_field(rest, dbname.as_bytes()))
            .and_then(|rest| passfile_field(rest, user.as_bytes()))
        else {
            continue;
        };
        // The password runs to an unescaped `:` or the end; `\` escapes.
        let mut password = Vec::with_capacity(rest.len());
        let mut i = 0;
        while i < rest.len() && rest[i] != b':' {
            if rest[i] == b'\\' && i + 1 < rest.len() {
                i += 1;
            }
            password.push(rest[i]);
            i += 1;
        }
        return String::from_utf8(password).map(Some).map_err(|_| {
            ConnInfoError::PasswordFileNotUtf8 {
                path: path.to_owned(),
                line: number + 1,
            }
        });
    }
    Ok(None)
}

/// libpq's `pwdfMatchesString`: whether the first field of `line` is `*` or
/// equals `token` (with `\` escaping the next character); the rest of the
/// line after the field's `:` when it does.
fn passfile_field<'a>(line: &'a [u8], token: &[u8]) -> Option<&'a [u8]> {
    if line.starts_with(b"*:") {
        return Some(&line[2..]);
    }
    let mut i = 0;
    let mut t = 0;
    while i < line.len() {
        let mut escaped = false;
        if line[i] == b'\\' {
            i += 1;
            escaped = true;
        }
        let byte = line.get(i).copied();
        if byte == Some(b':') && t == token.len() && !escaped {
            return Some(&line[i + 1..]);
        }
        if t == token.len() || byte != Some(token[t]) {
            return None;
        }
        i += 1;
        t += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_env::*;
    use super::super::*;
    use super::*;

    #[test]
    fn the_password_file_is_matched_like_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        write_private(
            &file,
            "# a comment line\n\
             \n\
             other:5432:*:*:wrong-host\n\
             db:5433:*:*:wrong-port\n\
             db:5432:other:*:wrong-db\n\
             db:5432:*:other:wrong-user\n\
             db:5432:shop:app:first\\:match\\\\x:ignored\r\n\
             *:*:*:*:second\n",
        );
        let env = TestEnv::new().var("PGPASSFILE", file.to_str().unwrap());
        let info = env.ok("host=db dbname=shop user=app");
        assert_eq!(info.password.as_deref(), Some(r"first:match\x"));
        assert_eq!(
            info.password_source,
            Some(PasswordSource::File(file.clone()))
        );
        assert!(info.secrets().contains(&r"first:match\x".to_owned()));
        assert_eq!(
            env.ok("host=elsewhere dbname=shop user=app")
                .password
                .as_deref(),
            Some("second")
        );
        // `passfile` in the string, too.
        let info = TestEnv::new().ok(&format!(
            "host=db dbname=shop user=app passfile='{}'",
            file.display()
        ));
        assert_eq!(info.password.as_deref(), Some(r"first:match\x"));
    }

    #[test]
    fn password_file_fields_unescape_and_match_whole() {
        let line = br"h\:1:5432:d\\b:u:pw";
        let rest = passfile_field(line, b"h:1").unwrap();
        let rest = passfile_field(rest, b"5432").unwrap();
        let rest = passfile_field(rest, br"d\b").unwrap();
        assert_eq!(passfile_field(rest, b"u"), Some(&b"pw"[..]));
        // No prefix matches, and `*` only as a whole field.
        assert_eq!(passfile_field(b"db:x", b"d"), None);
        assert_eq!(passfile_field(b"d:x", b"db"), None);
        assert_eq!(passfile_field(b"d*:x", b"db"), None);
        assert_eq!(passfile_field(b"*:x", b"anything"), Some(&b"x"[..]));
        assert_eq!(passfile_field(b"db", b"db"), None);
        assert_eq!(passfile_field(b"db\\", b"db"), None);
    }

    #[test]
    fn localhost_in_the_password_file_matches_the_default_socket() {
        let dir = tempfile::tempdir().unwrap();
        let sockets = tempfile::tempdir().unwrap();
        fs::write(sockets.path().join(".s.PGSQL.5432"), "").unwrap();
        let file = dir.path().join(".pgpass");
        write_private(
            &file,
            &format!(
                "/elsewhere:*:*:*:by-path\nlocalhost:5432:*:*:local\n{}:*:*:*:never\n",
                sockets.path().display()
            ),
        );
        let env = TestEnv::new().home(dir.path()).socket_dir(sockets.path());
        // ~/.pgpass by default; the default socket is `localhost`.
        let info = env.ok("");
        assert_eq!(info.hosts, [Host::Unix(sockets.path().to_owned())]);
        assert_eq!(info.password.as_deref(), Some("local"));
        // So is a host spelled out as the default directory.
        let info = env.ok(&format!("host={}", sockets.path().display()));
        assert_eq!(info.password.as_deref(), Some("local"));
        // Another directory goes by its path.
        assert_eq!(
            env.ok("host=/elsewhere").password.as_deref(),
            Some("by-path")
        );
        // And TCP localhost is localhost.
        assert_eq!(env.ok("host=localhost").password.as_deref(), Some("local"));
    }

    #[test]
    fn the_password_file_serves_the_first_host_with_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        write_private(&file, "b:5433:*:*:for-b\n");
        let info = TestEnv::new()
            .home(dir.path())
            .ok("host=a,b port=5432,5433");
        assert_eq!(info.password.as_deref(), Some("for-b"));
    }

    #[test]
    fn an_unsafe_or_odd_password_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        fs::write(&file, "*:*:*:*:pw\n").unwrap();
        let env = TestEnv::new().home(dir.path());
        for mode in [0o644, 0o640, 0o604, 0o660, 0o700] {
            fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
            let expected = if mode & 0o077 == 0 { Some("pw") } else { None };
            assert_eq!(env.ok("").password.as_deref(), expected, "{mode:o}");
        }
        // A directory is no password file; a missing file neither.
        let env = TestEnv::new().var("PGPASSFILE", dir.path().to_str().unwrap());
        assert_eq!(env.ok("").password, None);
        let env = TestEnv::new().var("PGPASSFILE", "/nonexistent/dmig/pgpass");
        assert_eq!(env.ok("").password, None);
        // No home, no file.
        assert_eq!(TestEnv::new().ok("").password, None);
    }

    #[test]
    fn a_given_password_skips_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        // Not even read when a password is given: its non-UTF-8 line would
        // be an error.
        fs::write(&file, b"*:*:*:*:\xff\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let env = TestEnv::new().home(dir.path());
        assert_eq!(env.ok("password=given").password.as_deref(), Some("given"));
        assert_eq!(
            env.err("").to_string(),
            format!(
                "password file `{}` line 1: the password is not UTF-8",
                file.display()
            )
        );
        // An empty password is none: the file is read.
        assert!(env.parse("password=''").is_err());
    }
}
