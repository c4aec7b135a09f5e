//! Checks of the PostgreSQL test harness itself (`support/pg/`), so a
//! broken harness fails here and not as a puzzling migrator failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::pg::{
    admin_psql, admin_url, pg_bin, server_binaries_dir, server_binaries_major, tls_server,
    uses_external_server, PrivateServer, TestDb,
};

fn database_count(name: &str) -> String {
    admin_psql(&format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    ))
}

#[test]
fn test_databases_are_isolated() {
    let a = TestDb::new("isolated a");
    let b = TestDb::new("isolated b");
    assert_ne!(a.name(), b.name());
    assert!(a.url().contains(&format!("/{}", a.name())), "{}", a.url());
    assert_eq!(a.psql("SELECT current_database()"), a.name());

    a.psql("CREATE TABLE only_in_a (id int)");
    let count = "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'";
    assert_eq!(a.psql(count), "1");
    assert_eq!(b.psql(count), "0");
}

#[test]
fn test_database_is_dropped_on_drop() {
    let db = TestDb::new("dropped");
    let name = db.name().to_owned();
    assert_eq!(database_count(&name), "1");
    drop(db);
    assert_eq!(database_count(&name), "0");
}

#[test]
fn test_database_is_dropped_despite_an_open_connection() {
    let db = TestDb::new("dropped_busy");
    let name = db.name().to_owned();
    let mut session = Command::new(pg_bin("psql"))
        .args(["-X", "-q", "-d", &db.url(), "-c", "SELECT pg_sleep(60)"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a psql session");
    let connected = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'");
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin_psql(&connected) == "0" {
        assert!(Instant::now() < deadline, "psql session never connected");
        sleep(Duration::from_millis(50));
    }

    drop(db);
    assert_eq!(database_count(&name), "0");
    let status = session.wait().expect("wait for the psql session");
    assert!(!status.success(), "the session should have been terminated");
}

#[test]
fn database_names_are_sanitized_and_fit_postgres_limit() {
    let db = TestDb::new(&format!("Ünïcode-and \"quotes\" {}", "x".repeat(100)));
    assert!(db.name().len() <= 63, "{}", db.name());
    assert!(db
        .name()
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    assert_eq!(database_count(db.name()), "1");
}

#[test]
fn schema_dump_of_empty_database_is_stable() {
    let db = TestDb::new("dump_stable");
    let first = db.schema_dump();
    assert!(first.contains("PostgreSQL database dump"), "{first}");
    assert!(!first.contains("-- Dumped"), "{first}");
    assert!(!first.contains("\\restrict"), "{first}");
    assert_eq!(first, db.schema_dump());
    assert_eq!(first, TestDb::new("dump_stable_other").schema_dump());
}

#[test]
fn versions_of_fresh_database_is_empty() {
    let db = TestDb::new("versions_fresh");
    assert!(db.versions().is_empty());
}

#[test]
fn versions_lists_applied_versions_in_order() {
    let db = TestDb::new("versions_rows");
    let empty_dump = db.schema_dump();
    db.psql(
        "CREATE TABLE __diesel_schema_migrations (
             version VARCHAR(50) PRIMARY KEY NOT NULL,
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
         );
         INSERT INTO __diesel_schema_migrations (version)
         VALUES ('20240102000000'), ('20240101000000');",
    );
    assert_eq!(db.versions(), ["20240101000000", "20240102000000"]);
    assert_ne!(db.schema_dump(), empty_dump);
    assert_eq!(db.schema_dump_without_version_table(), empty_dump);
}

#[test]
fn psql_file_returns_failures_instead_of_panicking() {
    let db = TestDb::new("psql_file");
    let path = std::env::temp_dir().join(format!("{}.sql", db.name()));
    std::fs::write(
        &path,
        "CREATE TABLE before_error (id int);\nSELECT no_such_function();\nCREATE TABLE after_error (id int);\n",
    )
    .expect("write the SQL file");
    let out = db.psql_file(&path);
    std::fs::remove_file(&path).expect("remove the SQL file");

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_function"), "{stderr}");
    assert_eq!(
        db.psql("SELECT to_regclass('before_error') IS NOT NULL"),
        "t"
    );
    assert_eq!(
        db.psql("SELECT to_regclass('after_error') IS NOT NULL"),
        "f"
    );
    assert!(!db.try_psql("SELECT no_such_function()").status.success());
}

#[test]
fn admin_url_points_at_a_live_server() {
    let url = admin_url();
    assert!(url.starts_with("postgres"), "{url}");
    assert_eq!(admin_psql("SELECT 1"), "1");
}

/// The major of `<bin> --version`, read here rather than through the harness.
fn binary_major(bin: &Path) -> u32 {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{}`: {error}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .split_whitespace()
        .find(|token| token.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no version in `{text}`"));
    let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a major version")
}

fn server_major(server_version_num: &str) -> u32 {
    server_version_num
        .parse::<u32>()
        .unwrap_or_else(|_| panic!("server_version_num `{server_version_num}`"))
        / 10_000
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Every cluster the harness starts (shared, TLS, private) runs the server
/// binaries of `DMIG_TEST_PG_BIN` when it is set, so a run "on PostgreSQL
/// 13" really is one.
#[test]
fn clusters_run_the_chosen_server_binaries() {
    let major = server_binaries_major();
    if let Some(dir) = env_dir("DMIG_TEST_PG_BIN") {
        assert_eq!(server_binaries_dir(), dir);
        assert_eq!(binary_major(&dir.join("postgres")), major);
    }
    let version = "SHOW server_version_num";
    if !uses_external_server() {
        assert_eq!(server_major(&admin_psql(version)), major);
    }
    let private = PrivateServer::start();
    assert_eq!(server_major(&private.psql("postgres", version)), major);

    let tls = tls_server().url("127.0.0.1", "postgres", None, "?sslmode=disable");
    let out = Command::new(pg_bin("psql"))
        .args(["-X", "-At", "-d", &tls, "-c", version])
        .stdin(Stdio::null())
        .output()
        .expect("run psql on the TLS cluster");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server_major(String::from_utf8_lossy(&out.stdout).trim()),
        major
    );
}

/// `psql` and `pg_dump` come from `DMIG_TEST_PG_CLIENT_BIN` when it is set,
/// and are never older than the server (`pg_dump` refuses newer servers).
#[test]
fn clients_are_not_older_than_the_server() {
    let server = server_major(&admin_psql("SHOW server_version_num"));
    for name in ["psql", "pg_dump"] {
        let path = pg_bin(name);
        if let Some(dir) = env_dir("DMIG_TEST_PG_CLIENT_BIN") {
            assert_eq!(path, dir.join(name));
        }
        let client = binary_major(&path);
        assert!(
            client >= server,
            "{} is PostgreSQL {client}, the server {server}",
            path.display()
        );
    }
}
