//! `dmig::online::pg` connections against real servers: the TLS cluster of the
//! harness for `sslmode`, certificates and passwords, the main test server
//! and bare sockets for the failures.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::sql_types::Bool;
use diesel::QueryableByName;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use dmig::online::pg::{
    establish, pool_manager, pool_manager_with_errors, redact_url, target, ConnectError,
    LastConnectError,
};

use crate::support::pg::{
    self, tls_server, TlsServer, TLS_CERT_USER, TLS_PASSWORD, TLS_PASSWORD_USER,
};

/// Generous: only the time-out test relies on a timeout firing.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(QueryableByName)]
struct Ssl {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

/// Whether the session runs over TLS, as the server sees it.
async fn uses_tls(conn: &mut AsyncPgConnection) -> bool {
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(conn)
        .await
        .expect("query pg_stat_ssl")
        .ssl
}

async fn connect(url: &str) -> AsyncPgConnection {
    match establish(url, TIMEOUT).await {
        Ok(conn) => conn,
        Err(error) => panic!("connecting to {} failed: {error}", redact_url(url)),
    }
}

async fn fail(url: &str) -> ConnectError {
    match establish(url, TIMEOUT).await {
        Ok(_) => panic!("connecting to {} succeeded", redact_url(url)),
        Err(error) => error,
    }
}

/// The error as a user could ever see it.
fn every_rendering(error: &ConnectError) -> [String; 3] {
    [
        error.to_string(),
        format!("{error:#}"),
        format!("{error:?}"),
    ]
}

fn root_cert(path: &std::path::Path) -> String {
    TlsServer::query_path(path)
}

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_require_encrypts() {
    let server = tls_server();
    let mut conn = connect(&server.url("127.0.0.1", "postgres", None, "?sslmode=require")).await;
    assert!(uses_tls(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_prefer_encrypts_when_the_server_offers_tls() {
    let server = tls_server();
    let mut conn = connect(&server.url("127.0.0.1", "postgres", None, "?sslmode=prefer")).await;
    assert!(uses_tls(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_disable_and_no_sslmode_stay_plain() {
    let server = tls_server();
    for query in ["?sslmode=disable", ""] {
        let mut conn = connect(&server.url("127.0.0.1", "postgres", None, query)).await;
        assert!(!uses_tls(&mut conn).await, "{query:?} used TLS");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_with_the_right_ca_connects() {
    let server = tls_server();
    let query = format!(
        "?sslmode=verify-full&sslrootcert={}",
        root_cert(&server.ca_cert)
    );
    for host in ["localhost", "127.0.0.1"] {
        let mut conn = connect(&server.url(host, "postgres", None, &query)).await;
        assert!(uses_tls(&mut conn).await, "{host}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_with_another_ca_fails_on_certificate_verification() {
    let server = tls_server();
    for mode in ["verify-full", "verify-ca", "require"] {
        let query = format!(
            "?sslmode={mode}&sslrootcert={}",
            root_cert(&server.other_ca_cert)
        );
        let error = fail(&server.url("localhost", "postgres", None, &query)).await;
        assert!(
            matches!(error, ConnectError::Tls { .. }),
            "{mode}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot connect to localhost:{}/postgres as postgres: tls: \
                 certificate verification failed: the server's certificate is not signed \
                 by a trusted certificate authority",
                server.port
            )),
            "{mode}: {message}"
        );
        assert!(message.contains("other-ca.crt"), "{mode}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_refuses_a_host_name_the_certificate_lacks() {
    let server = tls_server();
    // TCP goes to hostaddr; the name checked against the certificate is host.
    let query = format!(
        "?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
        root_cert(&server.ca_cert)
    );
    let url = server.url("db.dmig.invalid", "postgres", None, &query);
    let error = fail(&url).await;
    assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(
            "certificate verification failed: the server's certificate is not valid for host \
             `db.dmig.invalid`"
        ),
        "{message}"
    );
    assert!(
        message.contains("(it names localhost, 127.0.0.1)"),
        "names the certificate's names: {message}"
    );

    // verify-ca checks the chain only.
    let mut conn = connect(&url.replace("verify-full", "verify-ca")).await;
    assert!(uses_tls(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_root_certificate_file_that_is_missing_is_named() {
    let server = tls_server();
    let query = "?sslmode=verify-full&sslrootcert=%2Fnonexistent%2Fdmig-ca.pem";
    let error = fail(&server.url("localhost", "postgres", None, query)).await;
    assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("cannot read sslrootcert `/nonexistent/dmig-ca.pem`"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_certificate_logs_in_with_cert_auth() {
    let server = tls_server();
    let query = format!(
        "?sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        root_cert(&server.ca_cert),
        root_cert(&server.client_cert),
        root_cert(&server.client_key)
    );
    let mut conn = connect(&server.url("localhost", TLS_CERT_USER, None, &query)).await;
    assert!(uses_tls(&mut conn).await);

    // Without the certificate PostgreSQL refuses, and we say so.
    let error = fail(&server.url("localhost", TLS_CERT_USER, None, "?sslmode=require")).await;
    match &error {
        ConnectError::Server { code, message, .. } => {
            assert_eq!(code, "28000", "{error}");
            assert!(message.contains("certificate"), "{error}");
        }
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_right_password_logs_in_over_tls_and_plain() {
    let server = tls_server();
    for query in ["?sslmode=require", "?sslmode=disable"] {
        let url = server.url("127.0.0.1", TLS_PASSWORD_USER, Some(TLS_PASSWORD), query);
        let mut conn = connect(&url).await;
        assert_eq!(uses_tls(&mut conn).await, query.contains("require"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_a_server_error_that_never_shows_the_password() {
    let server = tls_server();
    let wrong = "wrong-pass-7f3a";
    for (password, query) in [
        (Some(wrong), "?sslmode=require".to_owned()),
        (Some(wrong), String::new()),
        (None, format!("?password={wrong}")),
    ] {
        let url = server.url("127.0.0.1", TLS_PASSWORD_USER, password, &query);
        let error = fail(&url).await;
        match &error {
            ConnectError::Server { code, message, .. } => {
                assert_eq!(code, "28P01", "{error}");
                assert_eq!(
                    message,
                    &format!("password authentication failed for user \"{TLS_PASSWORD_USER}\"")
                );
            }
            other => panic!("expected a server error, got {other:?}"),
        }
        assert!(
            error.to_string().starts_with(&format!(
                "cannot connect to 127.0.0.1:{}/postgres as {TLS_PASSWORD_USER}: ",
                server.port
            )),
            "{error}"
        );
        for shown in every_rendering(&error) {
            assert!(!shown.contains(wrong), "{shown}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_password_where_one_is_needed_says_so() {
    let server = tls_server();
    let error = fail(&server.url("127.0.0.1", TLS_PASSWORD_USER, None, "")).await;
    assert!(
        matches!(error, ConnectError::PasswordMissing { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "cannot connect to 127.0.0.1:{}/postgres as {TLS_PASSWORD_USER}: \
             the server asks for a password and none was given in the URL, PGPASSWORD or a \
             password file",
            server.port
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_connects_through_establish() {
    let server = tls_server();
    let query = format!(
        "?sslmode=verify-full&sslrootcert={}",
        root_cert(&server.ca_cert)
    );
    let url = server.url("localhost", TLS_PASSWORD_USER, Some(TLS_PASSWORD), &query);
    let pool = Pool::builder()
        .max_size(2)
        .connection_timeout(TIMEOUT)
        .build(pool_manager(&url, TIMEOUT))
        .await
        .expect("build the pool");
    let mut conn = pool.get().await.expect("a pooled connection");
    assert!(uses_tls(&mut conn).await);

    // bb8 only says "timed out"; the manager kept the cause.
    let bad = url.replace(TLS_PASSWORD, "nope-nope");
    let last = LastConnectError::default();
    let pool = Pool::builder()
        .max_size(1)
        .connection_timeout(Duration::from_secs(2))
        .retry_connection(false)
        .build_unchecked(pool_manager_with_errors(&bad, TIMEOUT, &last));
    match pool.get().await {
        Ok(_) => panic!("a wrong password gave a connection"),
        Err(bb8::RunError::TimedOut) => {}
        Err(other) => panic!("bb8 0.9 reports failed connections as time-outs, got {other:?}"),
    }
    let error = last.take().expect("the failed connection's error");
    assert!(
        matches!(&error, ConnectError::Server { code, .. } if code == "28P01"),
        "{error:?}"
    );
    for shown in every_rendering(&error) {
        assert!(!shown.contains("nope-nope"), "{shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_main_test_server_connects_in_plain() {
    let mut conn = connect(&pg::admin_url()).await;
    let ssl_off = pg::admin_psql("SHOW ssl") == "off";
    assert!(!uses_tls(&mut conn).await);
    if ssl_off {
        // sslmode=require against a server without TLS fails clearly;
        // prefer falls back to plain.
        let error = fail(&format!("{}?sslmode=require", pg::admin_url())).await;
        assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("the server does not support tls"),
            "{error}"
        );
        let mut conn = connect(&format!("{}?sslmode=prefer", pg::admin_url())).await;
        assert!(!uses_tls(&mut conn).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_database_is_a_server_error_naming_it() {
    let name = format!("dmig_no_such_db_{}", std::process::id());
    let error = fail(&pg::admin_url_with_database(&name)).await;
    match &error {
        ConnectError::Server {
            code,
            message,
            target,
            ..
        } => {
            assert_eq!(code, "3D000", "{error}");
            assert_eq!(message, &format!("database \"{name}\" does not exist"));
            assert_eq!(target.database, name);
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    assert!(
        error.to_string().contains(&format!("/{name} as ")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_is_refused_naming_host_and_port() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
        listener.local_addr().expect("its address").port()
    };
    for query in ["", "?sslmode=require"] {
        let url = format!("postgres://app:s3cret-pw@127.0.0.1:{port}/app{query}");
        let error = fail(&url).await;
        assert!(matches!(error, ConnectError::Refused { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!("cannot connect to 127.0.0.1:{port}/app as app: connection refused")
        );
        for shown in every_rendering(&error) {
            assert!(!shown.contains("s3cret-pw"), "{shown}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_times_out() {
    // The kernel accepts the TCP connection into the backlog; nobody reads.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("its address").port();
    for query in ["", "?sslmode=require"] {
        let url = format!("postgres://app:s3cret-pw@127.0.0.1:{port}/app{query}");
        let started = Instant::now();
        let result = establish(&url, Duration::from_secs(1)).await;
        let elapsed = started.elapsed();
        let error = match result {
            Ok(_) => panic!("a silent listener gave a connection"),
            Err(error) => error,
        };
        // A bound, not a benchmark.
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
        assert!(matches!(error, ConnectError::Timeout { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!("cannot connect to 127.0.0.1:{port}/app as app: no answer within 1s")
        );
        for shown in every_rendering(&error) {
            assert!(!shown.contains("s3cret-pw"), "{shown}");
        }
    }
    drop(listener);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_url_is_invalid_and_hides_the_password() {
    let url = "postgres://user:pa ss@[bad";
    for error in [
        fail(url).await,
        target(url).expect_err("a malformed URL has no target"),
    ] {
        assert!(
            matches!(error, ConnectError::InvalidUrl { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "invalid database URL `postgres://user:***@[bad`: \
             an IPv6 host has no closing `]` in the database URL"
        );
        for shown in every_rendering(&error) {
            assert!(!shown.contains("pa ss"), "{shown}");
        }
    }
}
