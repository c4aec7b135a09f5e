//! Opening connections: the one place that turns a database URL (or keyword
//! string, or the `PG*` environment alone: see [`super::url`]) into an
//! [`AsyncPgConnection`], with TLS when the settings ask for it (see
//! [`super::tls`]), and that turns tokio-postgres's errors into ones that
//! name host, port, database and user, never the password.

use std::error::Error as StdError;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::AsyncPgConnection;
use tokio_postgres::tls::TlsStream;
use tokio_postgres::{Client, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conninfo::{ConnectTarget, PasswordSource};
use super::tls::{client_config, describe_tls_error};
use super::url::{parse, scrub, Mode, Parsed};

/// Errors connecting; messages name host, port, database and user, never
/// the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL, or what the environment adds to it, cannot be used.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with its password hidden ([`super::redact_url`]).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing answered within the timeout.
    #[error("cannot connect to {target}: no answer within {timeout:?}")]
    Timeout {
        /// Where we tried to connect.
        target: Box<ConnectTarget>,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// Nothing listens on that host and port.
    #[error("cannot connect to {target}: connection refused")]
    Refused {
        /// Where we tried to connect.
        target: Box<ConnectTarget>,
    },
    /// Another network error: unknown host, unreachable network, reset.
    #[error("cannot connect to {target}: {reason}")]
    Io {
        /// Where we tried to connect.
        target: Box<ConnectTarget>,
        /// The kind of the underlying I/O error.
        kind: io::ErrorKind,
        /// The I/O error's message.
        reason: String,
    },
    /// PostgreSQL refused us: wrong password, no `pg_hba.conf` entry, missing
    /// database, too many connections.
    #[error("cannot connect to {target}: {message}")]
    Server {
        /// Where we connected.
        target: Box<ConnectTarget>,
        /// The SQLSTATE, such as `28P01` (wrong password) or `3D000` (no such database).
        code: String,
        /// PostgreSQL's message, with its hint when it gave one.
        message: String,
    },
    /// The server wants a password and dmig has none.
    #[error(
        "cannot connect to {target}: the server asks for a password and none was given in \
         {searched}"
    )]
    PasswordMissing {
        /// Where we connected.
        target: Box<ConnectTarget>,
        /// Where a password could have come from: `the URL, PGPASSWORD or a
        /// password file`, or `the connection string, ...`, or, with no URL,
        /// `PGPASSWORD or a password file`.
        searched: &'static str,
    },
    /// TLS failed: certificate verification, a server without TLS, an
    /// unreadable certificate or key file.
    #[error("cannot connect to {target}: tls: {reason}")]
    Tls {
        /// Where we tried to connect.
        target: Box<ConnectTarget>,
        /// What failed.
        reason: String,
    },
    /// Anything else between connecting and a ready session.
    #[error("cannot connect to {target}: {reason}")]
    Protocol {
        /// Where we connected.
        target: Box<ConnectTarget>,
        /// What failed.
        reason: String,
    },
}

/// Opens one connection to `url`, with TLS as its `sslmode` asks (see the
/// [module docs](self)), giving up after `timeout`: connecting, the TLS
/// handshake, authentication and diesel-async's session setup all count.
///
/// Needs a tokio runtime: the connection's driver task is spawned on it.
///
/// # Examples
///
/// ```no_run
/// # async fn example() -> Result<(), dmig::online::pg::ConnectError> {
/// use std::time::Duration;
/// let url = "postgres://app:secret@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem";
/// let conn = dmig::online::pg::establish(url, Duration::from_secs(10)).await?;
/// # Ok(())
/// # }
/// ```
pub async fn establish(url: &str, timeout: Duration) -> Result<AsyncPgConnection, ConnectError> {
    let parsed = parse(url)?;
    let target = Box::new(parsed.target.clone());
    tracing::debug!(%target, sslmode = ?parsed.tls.mode, "connecting");
    match tokio::time::timeout(timeout, connect(parsed)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(ConnectError::Timeout { target, timeout }),
    }
}

/// [`establish`] to the maintenance database `maintenance` of the server
/// `url` points at; also returns where `url` itself points (its database is
/// the one to create or drop).
pub async fn establish_maintenance(
    url: &str,
    maintenance: &str,
    timeout: Duration,
) -> Result<(AsyncPgConnection, ConnectTarget), ConnectError> {
    let parsed = parse(url)?;
    let wanted = parsed.target.clone();
    let parsed = parsed.with_database(maintenance);
    let target = Box::new(parsed.target.clone());
    match tokio::time::timeout(timeout, connect(parsed)).await {
        Ok(result) => result.map(|conn| (conn, wanted)),
        Err(_elapsed) => Err(ConnectError::Timeout { target, timeout }),
    }
}

/// [`establish`] without a timeout, for a runtime that has no timer: not
/// even the `connect_timeout` of the URL or `PGCONNECT_TIMEOUT`, which
/// tokio-postgres would apply with tokio's timer (and panic without one).
/// TCP keepalives still bound a dead peer.
pub async fn establish_untimed(url: &str) -> Result<AsyncPgConnection, ConnectError> {
    connect(untimed(parse(url)?)).await
}

/// What [`establish_untimed`] connects with.
fn untimed(parsed: Parsed) -> Parsed {
    parsed.without_connect_timeout()
}

/// A bb8 connection manager whose connections come from [`establish`]
/// (so TLS and the error messages apply to the pool too). A failed
/// connection reaches bb8 as `ConnectionError::BadConnection` carrying the
/// [`ConnectError`]'s message, which has no password.
///
/// Set `max_size` and `connection_timeout` on the pool builder. Note that
/// bb8 0.9's `get()` never returns a failed connection's error: it retries
/// (or, with `retry_connection(false)`, drops the attempt) and returns
/// `RunError::TimedOut` once `connection_timeout` runs out. Use
/// [`pool_manager_with_errors`] to learn why.
pub fn pool_manager(
    url: &str,
    timeout: Duration,
) -> AsyncDieselConnectionManager<AsyncPgConnection> {
    pool_manager_with_errors(url, timeout, &LastConnectError::default())
}

/// [`pool_manager`] that also keeps each failure in `last`, so a pool
/// `get()` that timed out can report the real cause.
///
/// # Examples
///
/// ```no_run
/// # async fn example() -> Result<(), dmig::online::pg::ConnectError> {
/// use std::time::Duration;
/// use diesel_async::pooled_connection::bb8::Pool;
/// use dmig::online::pg::{pool_manager_with_errors, LastConnectError};
///
/// let timeout = Duration::from_secs(10);
/// let last = LastConnectError::default();
/// let manager = pool_manager_with_errors("postgres://app@db/app", timeout, &last);
/// let pool = Pool::builder()
///     .connection_timeout(timeout)
///     .retry_connection(false)
///     .build_unchecked(manager);
/// if let Err(bb8::RunError::TimedOut) = pool.get().await {
///     if let Some(error) = last.take() {
///         return Err(error);
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub fn pool_manager_with_errors(
    url: &str,
    timeout: Duration,
    last: &LastConnectError,
) -> AsyncDieselConnectionManager<AsyncPgConnection> {
    let last = last.clone();
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(move |url: &str| {
        let url = url.to_owned();
        let last = last.clone();
        Box::pin(async move {
            establish(&url, timeout).await.map_err(|error| {
                let message = error.to_string();
                last.set(error);
                diesel::ConnectionError::BadConnection(message)
            })
        })
    });
    AsyncDieselConnectionManager::new_with_config(url, config)
}

/// The last [`ConnectError`] of a pool made with
/// [`pool_manager_with_errors`]; clones share it.
#[derive(Debug, Clone, Default)]
pub struct LastConnectError(Arc<Mutex<Option<ConnectError>>>);

impl LastConnectError {
    /// The last error, if a connection failed since the previous `take`.
    pub fn take(&self) -> Option<ConnectError> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn set(&self, error: ConnectError) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
    }
}

// ---------------------------------------------------------------------------
// Connecting

async fn connect(parsed: Parsed) -> Result<AsyncPgConnection, ConnectError> {
    let config = parsed.config();
    if parsed.tls.mode == Mode::Plain {
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|error| classify(&error, &parsed))?;
        return finish(client, connection, &parsed).await;
    }
    let tls_config = client_config(&parsed.tls).map_err(|reason| ConnectError::Tls {
        target: Box::new(parsed.target.clone()),
        reason,
    })?;
    let (client, connection) = config
        .connect(MakeRustlsConnect::new(tls_config))
        .await
        .map_err(|error| classify(&error, &parsed))?;
    finish(client, connection, &parsed).await
}

/// Hands the connection to diesel-async, which spawns its driver and sets
/// the session up (time zone, encoding).
async fn finish<S>(
    client: Client,
    connection: Connection<Socket, S>,
    parsed: &Parsed,
) -> Result<AsyncPgConnection, ConnectError>
where
    S: TlsStream + Unpin + Send + 'static,
{
    AsyncPgConnection::try_from_client_and_connection(client, connection)
        .await
        .map_err(|error| ConnectError::Protocol {
            target: Box::new(parsed.target.clone()),
            reason: scrub(
                &format!("cannot set up the session: {error}"),
                &parsed.secrets,
            ),
        })
}

/// Turns tokio-postgres's error into ours.
fn classify(error: &tokio_postgres::Error, parsed: &Parsed) -> ConnectError {
    let target = Box::new(parsed.target.clone());
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        let message = server_message(
            db.message(),
            db.hint(),
            code,
            parsed.info.password_source.as_ref(),
        );
        return ConnectError::Server {
            target,
            code: code.to_owned(),
            message: scrub(&message, &parsed.secrets),
        };
    }
    // tokio-postgres's kinds are private; its Display names them.
    let during_tls = error.to_string() == "error performing TLS handshake";
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return ConnectError::Tls {
                target,
                reason: describe_tls_error(tls, &parsed.tls),
            };
        }
        if let Some(io_error) = current.downcast_ref::<io::Error>() {
            // io::Error::source skips the wrapped error: look at it directly.
            if let Some(tls) = io_error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return ConnectError::Tls {
                    target,
                    reason: describe_tls_error(tls, &parsed.tls),
                };
            }
            let reason = scrub(&lowercase_first(&io_error.to_string()), &parsed.secrets);
            if during_tls {
                return ConnectError::Tls {
                    target,
                    reason: format!("during the handshake: {reason}"),
                };
            }
            if io_error.kind() == io::ErrorKind::ConnectionRefused {
                return ConnectError::Refused { target };
            }
            return ConnectError::Io {
                target,
                kind: io_error.kind(),
                reason,
            };
        }
        next = current.source();
    }
    let chain = error_chain(error);
    if chain.ends_with("password missing") {
        return ConnectError::PasswordMissing {
            target,
            searched: parsed.password_places,
        };
    }
    if during_tls {
        let cause = error
            .source()
            .map_or_else(|| chain.clone(), ToString::to_string);
        let reason = if cause == "server does not support TLS" && target.host.starts_with('/') {
            "postgresql offers no tls over a unix socket; use sslmode=disable or a tcp host"
                .to_owned()
        } else if cause == "server does not support TLS" {
            "the server does not support tls (its `ssl` setting is off)".to_owned()
        } else {
            lowercase_first(&cause)
        };
        return ConnectError::Tls {
            target,
            reason: scrub(&reason, &parsed.secrets),
        };
    }
    ConnectError::Protocol {
        target,
        reason: scrub(&chain, &parsed.secrets),
    }
}

/// The server's `message`, with its hint, and, as libpq says it, the
/// password file a rejected password came from (SQLSTATE 28P01): the file
/// is what to fix, and nothing else names it.
fn server_message(
    message: &str,
    hint: Option<&str>,
    code: &str,
    password_source: Option<&PasswordSource>,
) -> String {
    let mut message = message.to_owned();
    if let Some(hint) = hint {
        message.push_str("; hint: ");
        message.push_str(hint);
    }
    if let (INVALID_PASSWORD, Some(PasswordSource::File(path))) = (code, password_source) {
        message.push_str(&format!(
            "; password retrieved from file `{}`",
            path.display()
        ));
    }
    message
}

/// SQLSTATE `invalid_password`: password authentication failed.
const INVALID_PASSWORD: &str = "28P01";

pub(super) fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = lowercase_first(&error.to_string());
    let mut next = error.source();
    while let Some(current) = next {
        text.push_str(": ");
        text.push_str(&lowercase_first(&current.to_string()));
        next = current.source();
    }
    text
}

/// `Connection refused` -> `connection refused`, but `TLS` stays `TLS`.
pub(super) fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::pg::conninfo::Environment;
    use crate::online::pg::url::parse_in;
    use std::path::PathBuf;

    #[test]
    fn the_untimed_config_has_no_connect_timeout_and_keeps_the_session_settings() {
        let var = |name: &str| (name == "PGCONNECT_TIMEOUT").then(|| "7".to_owned());
        let env = Environment {
            var: &var,
            home: None,
            socket_dirs: Vec::new(),
            sysconf_dirs: Vec::new(),
        };
        for (url, given) in [
            ("postgres://app@db/app?connect_timeout=5", 5),
            ("host=db user=app connect_timeout=5", 5),
            ("postgres://app@db/app", 7),
            ("", 7),
        ] {
            let parsed = parse_in(url, &env).unwrap();
            // The timed path keeps it: it is libpq's per-attempt timeout.
            assert_eq!(
                parsed.config().get_connect_timeout(),
                Some(&Duration::from_secs(given)),
                "{url:?}"
            );
            // Every session dmig opens (the pool's lock session too) has TCP
            // keepalives: a dead peer cannot hold a run forever.
            assert!(parsed.config().get_keepalives(), "{url:?}");
            let config = untimed(parsed).config();
            assert_eq!(config.get_connect_timeout(), None, "{url:?}");
            // The work session is a dmig session like the others.
            assert_eq!(config.get_application_name(), Some("dmig"), "{url:?}");
            assert!(config.get_keepalives(), "{url:?}");
            assert_eq!(config.get_keepalives_idle(), Duration::from_secs(30));
            assert_eq!(
                config.get_keepalives_interval(),
                Some(Duration::from_secs(10))
            );
            assert_eq!(config.get_keepalives_retries(), Some(3));
        }
    }

    #[test]
    fn establish_untimed_needs_no_timer_even_with_a_connect_timeout() {
        // A runtime with I/O and no timer, like the one diesel-async gives
        // the harness: tokio-postgres's timeout would panic in it. Nothing
        // listens on port 1.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let result = runtime.block_on(establish_untimed(
            "postgres://app@127.0.0.1:1/app?connect_timeout=5",
        ));
        assert!(
            matches!(result, Err(ConnectError::Refused { .. })),
            "{:?}",
            result.err()
        );
    }

    #[test]
    fn a_rejected_password_from_the_password_file_names_the_file() {
        let file = PasswordSource::File(PathBuf::from("/home/app/.pgpass"));
        let failed = "password authentication failed for user \"app\"";
        assert_eq!(
            server_message(failed, None, "28P01", Some(&file)),
            "password authentication failed for user \"app\"; \
             password retrieved from file `/home/app/.pgpass`"
        );
        // A password given in the URL or PGPASSWORD, or another error: as
        // the server said it.
        let given = PasswordSource::Given(crate::online::pg::conninfo::Origin::Env("PGPASSWORD"));
        assert_eq!(server_message(failed, None, "28P01", Some(&given)), failed);
        assert_eq!(server_message(failed, None, "28P01", None), failed);
        assert_eq!(
            server_message(
                "database \"x\" does not exist",
                Some("try y"),
                "3D000",
                Some(&file)
            ),
            "database \"x\" does not exist; hint: try y"
        );
    }

    #[test]
    fn a_missing_password_names_where_dmig_looked() {
        let target = Box::new(ConnectTarget {
            host: "db".into(),
            port: 5432,
            database: "app".into(),
            user: "app".into(),
        });
        for (url, said) in [
            (
                "postgres://app@db/app",
                "none was given in the URL, PGPASSWORD or a password file",
            ),
            (
                "host=db",
                "none was given in the connection string, PGPASSWORD or a password file",
            ),
            ("", "none was given in PGPASSWORD or a password file"),
        ] {
            let unset = |_: &str| None;
            let env = Environment {
                var: &unset,
                home: None,
                socket_dirs: Vec::new(),
                sysconf_dirs: Vec::new(),
            };
            let error = ConnectError::PasswordMissing {
                target: target.clone(),
                searched: parse_in(url, &env).unwrap().password_places,
            };
            assert_eq!(
                error.to_string(),
                format!(
                    "cannot connect to db:5432/app as app: the server asks for a password and \
                     {said}"
                ),
                "{url:?}"
            );
        }
    }

    #[test]
    fn connect_error_stays_small() {
        // Callers wrap it in their own error enums; clippy's
        // result_large_err starts at 128 bytes.
        assert!(std::mem::size_of::<ConnectError>() <= 64);
    }

    #[test]
    fn lowercase_first_keeps_acronyms() {
        assert_eq!(lowercase_first("Connection refused"), "connection refused");
        assert_eq!(lowercase_first("TLS failed"), "TLS failed");
        assert_eq!(lowercase_first(""), "");
    }
}
