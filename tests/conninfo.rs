//! Connection settings end to end, through the `dmig` binary: `PGPASSWORD`
//! and the password file for the TLS cluster's password user, the `PG*`
//! environment with no URL at all, keyword/value strings, and the
//! `application_name` the server sees on every session of a run.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use dmig::online::pg::conninfo::{ConnInfo, Environment, Host};
use predicates::prelude::*;

use crate::support::pg::{tls_server, TestDb, TlsServer, TLS_PASSWORD, TLS_PASSWORD_USER};
use crate::support::project::{project, Project};

/// `dmig` in `p` with none of libpq's variables set (the harness removes
/// them) and a password file that does not exist, so `~/.pgpass` stays out.
fn dmig(p: &Project) -> Command {
    let mut cmd = p.dmig();
    cmd.env("PGPASSFILE", p.path().join("no-such-pgpass"));
    cmd
}

/// A project with one revision that records the `application_name` of the
/// session it runs on (the run's work session) and of the run's other
/// sessions on the database (the lock session).
fn recording_project() -> Project {
    project("conninfo")
        .migration(
            "1_seen",
            "CREATE TABLE seen AS SELECT current_setting('application_name') AS name, \
             (SELECT string_agg(DISTINCT application_name, ',') FROM pg_stat_activity \
              WHERE datname = current_database() AND pid <> pg_backend_pid()) AS others;\n",
            Some("DROP TABLE seen;\n"),
        )
        .build()
}

/// The test database's settings, read without the real environment.
fn settings(db: &TestDb) -> ConnInfo {
    fn unset(_: &str) -> Option<String> {
        None
    }
    let env = Environment {
        var: &unset,
        home: None,
        socket_dirs: Vec::new(),
        sysconf_dirs: Vec::new(),
    };
    ConnInfo::parse_with(&db.url(), &env).expect("the test database URL is valid")
}

fn host_of(info: &ConnInfo) -> String {
    match &info.hosts[0] {
        Host::Tcp(name) => name.clone(),
        Host::Unix(dir) => dir.display().to_string(),
    }
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

fn write_private(path: &Path, contents: &str) {
    fs::write(path, contents).expect("write the password file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The password user's URL, without a password.
fn password_user_url(server: &TlsServer) -> String {
    server.url("127.0.0.1", TLS_PASSWORD_USER, None, "")
}

#[test]
fn pgpassword_logs_in_when_the_url_has_no_password() {
    let server = tls_server();
    let p = recording_project();
    let url = password_user_url(server);
    dmig(&p)
        .env("DATABASE_URL", &url)
        .env("PGPASSWORD", TLS_PASSWORD)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("pending"));

    // Without it the server asks for one, and dmig says so.
    dmig(&p)
        .env("DATABASE_URL", &url)
        .arg("status")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the server asks for a password and none was given in the URL, PGPASSWORD or a \
             password file",
        ));

    // With no URL at all, the message says where else it looked.
    dmig(&p)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", server.port.to_string())
        .env("PGUSER", TLS_PASSWORD_USER)
        .env("PGDATABASE", "postgres")
        .arg("status")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "cannot connect to 127.0.0.1:{}/postgres as {TLS_PASSWORD_USER}: the server asks \
             for a password and none was given in PGPASSWORD or a password file",
            server.port
        )));

    // A wrong one is refused and never shown.
    let wrong = "wrong-Zq9Wx7";
    let assert = dmig(&p)
        .env("DATABASE_URL", &url)
        .env("PGPASSWORD", wrong)
        .env("DMIG_LOG", "trace")
        .arg("status")
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("Zq9Wx7"), "{stderr}");
}

#[test]
fn a_password_file_is_used_and_an_unsafe_one_ignored_with_a_warning() {
    let server = tls_server();
    let p = recording_project();
    let url = password_user_url(server);
    let file = p.path().join("pgpass");
    write_private(
        &file,
        &format!(
            "# dmig test\n\
             127.0.0.1:{}:other_db:{TLS_PASSWORD_USER}:not-this-one\n\
             127.0.0.1:{}:postgres:{TLS_PASSWORD_USER}:{TLS_PASSWORD}\n",
            server.port, server.port
        ),
    );
    dmig(&p)
        .env("DATABASE_URL", &url)
        .env("PGPASSFILE", &file)
        .arg("status")
        .assert()
        .success();

    // ~/.pgpass when PGPASSFILE is not set.
    let home = p.path().join("home");
    fs::create_dir(&home).expect("mkdir home");
    fs::copy(&file, home.join(".pgpass")).expect("copy to ~/.pgpass");
    dmig(&p)
        .env_remove("PGPASSFILE")
        .env("HOME", &home)
        .env("DATABASE_URL", &url)
        .arg("status")
        .assert()
        .success();

    // Readable by others: ignored, as libpq does, with libpq's warning.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod 644");
    let assert = dmig(&p)
        .env("DATABASE_URL", &url)
        .env("PGPASSFILE", &file)
        .env("DMIG_LOG", "warn")
        .arg("status")
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "password file `{}` has group or world access; permissions should be u=rw (0600) \
             or less",
            file.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the server asks for a password"),
        "{stderr}"
    );
    assert!(!stderr.contains(TLS_PASSWORD), "{stderr}");
}

#[test]
fn a_wrong_password_from_the_password_file_names_the_file() {
    let server = tls_server();
    let p = recording_project();
    let file = p.path().join("pgpass");
    let wrong = "wrong-Kq8vZ3";
    write_private(
        &file,
        &format!("127.0.0.1:{}:*:{TLS_PASSWORD_USER}:{wrong}\n", server.port),
    );
    let assert = dmig(&p)
        .env("DATABASE_URL", password_user_url(server))
        .env("PGPASSFILE", &file)
        .env("DMIG_LOG", "trace")
        .arg("status")
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "cannot connect to 127.0.0.1:{}/postgres as {TLS_PASSWORD_USER}: password \
             authentication failed for user \"{TLS_PASSWORD_USER}\"; password retrieved from \
             file `{}`",
            server.port,
            file.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Kq8vZ3"), "{stderr}");

    // A wrong password given any other way is not blamed on the file.
    let assert = dmig(&p)
        .env("DATABASE_URL", password_user_url(server))
        .env("PGPASSFILE", &file)
        .env("PGPASSWORD", wrong)
        .arg("status")
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("password retrieved from file"), "{stderr}");
}

#[test]
fn tls_settings_come_from_the_environment_too() {
    let server = tls_server();
    let p = recording_project();
    let url = server.url("localhost", TLS_PASSWORD_USER, Some(TLS_PASSWORD), "");
    dmig(&p)
        .env("DATABASE_URL", &url)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &server.ca_cert)
        .arg("status")
        .assert()
        .success();
    // The wrong CA from the environment fails verification, naming it.
    dmig(&p)
        .env("DATABASE_URL", &url)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &server.other_ca_cert)
        .arg("status")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("certificate verification failed"))
        .stderr(predicate::str::contains("other-ca.crt"));
}

#[test]
fn the_pg_environment_alone_is_enough() {
    let db = TestDb::new("conninfo_env_only");
    let info = settings(&db);
    let p = recording_project();
    let environment = |cmd: &mut Command| {
        cmd.env("PGHOST", host_of(&info))
            .env("PGPORT", info.ports[0].to_string())
            .env("PGDATABASE", &info.dbname);
        if let Some(password) = &info.password {
            cmd.env("PGPASSWORD", password);
        }
    };

    let mut upgrade = dmig(&p);
    environment(&mut upgrade);
    upgrade
        .env("PGUSER", &info.user)
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(db.versions(), ["1"]);

    // No PGUSER: the OS user, as libpq.
    let mut status = dmig(&p);
    environment(&mut status);
    status
        .env("USER", &info.user)
        .env_remove("LOGNAME")
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("applied"));
}

#[test]
fn no_url_and_no_location_variable_is_still_a_usage_error() {
    let p = recording_project();
    // PGPASSWORD says nothing about where to connect.
    dmig(&p)
        .env("PGPASSWORD", "x")
        .env("PGSSLMODE", "require")
        .arg("status")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no database URL"));
}

#[test]
fn a_keyword_value_database_url_works() {
    let db = TestDb::new("conninfo_keywords");
    let info = settings(&db);
    let quote = |value: &str| format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut conninfo = format!(
        "host={} port = {} dbname={} user={}",
        quote(&host_of(&info)),
        info.ports[0],
        quote(&info.dbname),
        quote(&info.user)
    );
    if let Some(password) = &info.password {
        conninfo.push_str(&format!(" password={}", quote(password)));
    }
    let p = recording_project();
    dmig(&p)
        .env("DATABASE_URL", &conninfo)
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(db.versions(), ["1"]);
    dmig(&p)
        .args(["--database-url", &conninfo, "current"])
        .assert()
        .success()
        .stdout("1 (head)\n");
}

#[test]
fn the_server_sees_application_name_dmig_unless_told_otherwise() {
    let db = TestDb::new("conninfo_application_name");
    let p = recording_project();
    // The revision's own session, then the run's others (the lock's).
    let seen = |db: &TestDb| db.psql("SELECT name || ' ' || others FROM seen");

    dmig(&p)
        .env("DATABASE_URL", db.url())
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(seen(&db), "dmig dmig");

    // PGAPPNAME says otherwise...
    dmig(&p)
        .env("DATABASE_URL", db.url())
        .args(["downgrade", "base"])
        .assert()
        .success();
    dmig(&p)
        .env("DATABASE_URL", db.url())
        .env("PGAPPNAME", "from-env")
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(seen(&db), "from-env from-env");

    // ...and the URL over PGAPPNAME.
    dmig(&p)
        .env("DATABASE_URL", db.url())
        .args(["downgrade", "base"])
        .assert()
        .success();
    dmig(&p)
        .env(
            "DATABASE_URL",
            with_param(&db.url(), "application_name=from-url"),
        )
        .env("PGAPPNAME", "from-env")
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(seen(&db), "from-url from-url");
}

#[test]
fn an_unencoded_at_in_the_password_is_refused_without_showing_it() {
    let p = recording_project();
    let password = "Zq@9x/Kv";
    let url = format!("postgres://app:{password}@127.0.0.1:1/db");
    let assert = dmig(&p)
        .env("DATABASE_URL", &url)
        .env("DMIG_LOG", "trace")
        .arg("status")
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(
            "invalid database URL `postgres://app:***@127.0.0.1:1/db`: the database URL has an \
             `@` that is not percent-encoded"
        ),
        "{stderr}"
    );
    let chars: Vec<char> = password.chars().collect();
    for start in 0..chars.len() {
        for end in start + 3..=chars.len() {
            let part: String = chars[start..end].iter().collect();
            assert!(!stderr.contains(&part), "shows {part:?}: {stderr}");
        }
    }
}

#[test]
fn a_service_file_names_the_server_as_for_psql() {
    let db = TestDb::new("conninfo_service");
    let info = settings(&db);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = format!(
        "# written by the test\n[other]\nhost=elsewhere.invalid\n\n[migrations]\nhost={}\nport={}\ndbname={}\nuser={}\n",
        host_of(&info),
        info.ports[0],
        info.dbname,
        info.user
    );
    if let Some(password) = &info.password {
        group.push_str(&format!("password={password}\n"));
    }
    let file = dir.path().join("services.conf");
    write_private(&file, &group);
    let p = recording_project();

    // PGSERVICE alone says where to go, as for `psql` with no arguments.
    dmig(&p)
        .env("PGSERVICEFILE", &file)
        .env("PGSERVICE", "migrations")
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(db.versions(), ["1"]);
    // `service=` in a connection string, and ~/.pg_service.conf without
    // PGSERVICEFILE.
    fs::copy(&file, dir.path().join(".pg_service.conf")).expect("copy the service file");
    dmig(&p)
        .env("HOME", dir.path())
        .args(["--database-url", "service=migrations", "current"])
        .assert()
        .success()
        .stdout("1 (head)\n");
    // A service no file has: named, with the file looked in.
    let assert = dmig(&p)
        .env("PGSERVICEFILE", &file)
        .args(["--database-url", "service=staging", "current"])
        .assert()
        .failure();
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "definition of service `staging` not found in {}",
            file.display()
        )),
        "{stderr}"
    );
}
