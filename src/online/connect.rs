//! Opening connections: the one place that turns a database URL into an
//! [`AsyncPgConnection`], with TLS when the URL asks for it.
//!
//! `AsyncPgConnection::establish` always connects in plain text, and
//! tokio-postgres 0.7 knows only `sslmode=disable|prefer|require` and none
//! of libpq's certificate options. So this module reads those options
//! itself, hands tokio-postgres a URL without them, and does the TLS with
//! rustls (ring, no OpenSSL):
//!
//! | `sslmode`                   | TLS                        | server certificate                                   |
//! |-----------------------------|----------------------------|------------------------------------------------------|
//! | (none), `disable`, `allow`  | no                         |                                                      |
//! | `prefer`                    | when the server offers it  | not checked; the chain is checked when `sslrootcert` is given |
//! | `require`                   | yes                        | as `prefer`                                          |
//! | `verify-ca`                 | yes                        | chain, against `sslrootcert` or the system's roots   |
//! | `verify-full`               | yes                        | chain and host name                                  |
//!
//! Without `sslmode` dmig connects in plain text, as diesel-async does (libpq
//! would try TLS first). `sslrootcert=system` names the system's roots, as in
//! libpq 16. `sslcert` and `sslkey` (PEM) send a client certificate;
//! `sslsni=0` turns SNI off. libpq's default files under `~/.postgresql/` are
//! not read: name them in the URL.
//!
//! Errors name host, port, database and user, never the password.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::AsyncPgConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::TlsStream;
use tokio_postgres::{Client, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What [`redact_url`] returns for a string it cannot read as a URL.
const UNPARSEABLE: &str = "<unparseable database URL>";

/// Passwords shorter than this are not scrubbed from foreign messages:
/// replacing every `a` of a message is no protection and ruins the message.
const MIN_SCRUB_LEN: usize = 3;

/// Errors connecting; messages name host, port, database and user, never
/// the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL cannot be used.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with its password hidden ([`redact_url`]).
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
    /// The server wants a password and the URL has none.
    #[error("cannot connect to {target}: the server asks for a password and the URL has none")]
    PasswordMissing {
        /// Where we connected.
        target: Box<ConnectTarget>,
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

impl ConnectError {
    /// Where the failed connection went; `None` for an invalid URL.
    pub fn target(&self) -> Option<&ConnectTarget> {
        match self {
            ConnectError::InvalidUrl { .. } => None,
            ConnectError::Timeout { target, .. }
            | ConnectError::Refused { target }
            | ConnectError::Io { target, .. }
            | ConnectError::Server { target, .. }
            | ConnectError::PasswordMissing { target }
            | ConnectError::Tls { target, .. }
            | ConnectError::Protocol { target, .. } => Some(&**target),
        }
    }
}

/// Where a URL points, for messages: `host:port/database as user`.
///
/// With several hosts in the URL, the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// Host name, IP address, or Unix socket directory.
    pub host: String,
    /// TCP port (also the socket file's number for a Unix socket).
    pub port: u16,
    /// Database name.
    pub database: String,
    /// Role name.
    pub user: String,
}

impl fmt::Display for ConnectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An IPv6 address needs brackets before `:port`.
        if self.host.contains(':') && !self.host.starts_with('/') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        write!(f, ":{}/{} as {}", self.port, self.database, self.user)
    }
}

/// Hides the password of a PostgreSQL URL: `postgres://u:***@h/db`, and the
/// values of `password=` and `sslpassword=` query parameters.
///
/// Never panics. A string that is not a `postgres://` or `postgresql://`
/// URL comes back as `<unparseable database URL>`, never echoed. When it is
/// unclear where the user info ends (an unencoded `@`, `/` or `?` in the
/// password), everything that might be password is hidden.
///
/// # Examples
///
/// ```
/// use dmig::online::connect::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db.internal:5433/app?sslmode=require"),
///     "postgres://app:***@db.internal:5433/app?sslmode=require"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = split_scheme(url) else {
        return UNPARSEABLE.to_owned();
    };
    let (userinfo, after) = split_userinfo_for_redaction(rest);
    let mut out = String::from(scheme);
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _password)) => {
                out.push_str(user);
                out.push_str(":***@");
            }
            None => {
                out.push_str(userinfo);
                out.push('@');
            }
        }
    }
    match after.split_once('?') {
        Some((head, query)) => {
            out.push_str(head);
            out.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_key(key) => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(after),
    }
    out
}

/// Parses host, port, database and user out of `url` for messages, with
/// libpq's defaults for what is missing: host `localhost`, port 5432, user
/// `$USER` (else `postgres`), database = user.
pub fn target(url: &str) -> Result<ConnectTarget, ConnectError> {
    Ok(parse(url)?.target)
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
/// # async fn example() -> Result<(), dmig::online::connect::ConnectError> {
/// use std::time::Duration;
/// let url = "postgres://app:secret@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem";
/// let conn = dmig::online::connect::establish(url, Duration::from_secs(10)).await?;
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
/// # async fn example() -> Result<(), dmig::online::connect::ConnectError> {
/// use std::time::Duration;
/// use diesel_async::pooled_connection::bb8::Pool;
/// use dmig::online::connect::{pool_manager_with_errors, LastConnectError};
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
// Parsing

/// What `sslmode` asks for, after our reading of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RootCert {
    File(PathBuf),
    System,
}

#[derive(Debug, Clone)]
struct TlsSettings {
    mode: Mode,
    root_cert: Option<RootCert>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    sni: bool,
}

/// A URL read and checked, ready to connect.
struct Parsed {
    config: tokio_postgres::Config,
    tls: TlsSettings,
    target: ConnectTarget,
    /// The password as written and as decoded, to scrub from foreign messages.
    secrets: Vec<String>,
}

fn parse(url: &str) -> Result<Parsed, ConnectError> {
    let secrets = secrets_of(url);
    let invalid = |reason: String| ConnectError::InvalidUrl {
        url: redact_url(url),
        reason: scrub(&reason, &secrets),
    };
    let (scheme, rest) = split_scheme(url)
        .ok_or_else(|| invalid("expected a postgres:// or postgresql:// URL".to_owned()))?;

    // libpq ends the user info at the first `@`; we take the last one before
    // the query, so an unencoded `@` in a password works and never leaks into
    // the host name of a message.
    let query_start = rest.find('?').unwrap_or(rest.len());
    let (userinfo, after) = match rest[..query_start].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (before_query, query) = match after.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (after, None),
    };

    let mut sslmode: Option<String> = None;
    let mut tls = TlsSettings {
        mode: Mode::Plain,
        root_cert: None,
        cert: None,
        key: None,
        sni: true,
    };
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let Some((raw_key, raw_value)) = pair.split_once('=') else {
            return Err(invalid("a query parameter has no `=value`".to_owned()));
        };
        let key = percent_decode(raw_key)
            .ok_or_else(|| invalid("a query parameter name is not UTF-8".to_owned()))?;
        let is_ours = matches!(
            key.as_str(),
            "sslmode" | "sslrootcert" | "sslcert" | "sslkey" | "sslsni"
        );
        if !is_ours {
            kept.push(pair);
            continue;
        }
        let value = percent_decode(raw_value)
            .ok_or_else(|| invalid(format!("the value of `{key}` is not UTF-8")))?;
        match key.as_str() {
            "sslmode" => sslmode = Some(value),
            "sslrootcert" if value == "system" => tls.root_cert = Some(RootCert::System),
            "sslrootcert" => tls.root_cert = Some(RootCert::File(value.into())),
            "sslcert" => tls.cert = Some(value.into()),
            "sslkey" => tls.key = Some(value.into()),
            _ => {
                tls.sni = match value.as_str() {
                    "1" => true,
                    "0" => false,
                    _ => return Err(invalid("sslsni must be 0 or 1".to_owned())),
                }
            }
        }
    }
    tls.mode = match sslmode.as_deref() {
        None | Some("disable" | "allow") => Mode::Plain,
        Some("prefer") => Mode::Prefer,
        Some("require") => Mode::Require,
        Some("verify-ca") => Mode::VerifyCa,
        Some("verify-full") => Mode::VerifyFull,
        Some(_) => return Err(invalid(
            "invalid sslmode; expected disable, allow, prefer, require, verify-ca or verify-full"
                .to_owned(),
        )),
    };
    if tls.mode != Mode::Plain && tls.cert.is_some() != tls.key.is_some() {
        return Err(invalid(
            "sslcert and sslkey go together: give both or neither".to_owned(),
        ));
    }

    // Every `@` outside the user info is escaped, so tokio-postgres (which
    // ends the user info at the first `@` anywhere) reads the URL as we do.
    // It percent-decodes host, port, database and query values.
    let mut rebuilt = String::with_capacity(url.len() + 8);
    rebuilt.push_str(scheme);
    if let Some(userinfo) = userinfo {
        rebuilt.push_str(&userinfo.replace('@', "%40"));
        rebuilt.push('@');
    }
    rebuilt.push_str(&before_query.replace('@', "%40"));
    if !kept.is_empty() {
        rebuilt.push('?');
        rebuilt.push_str(&kept.join("&").replace('@', "%40"));
    }
    let mut config: tokio_postgres::Config = rebuilt
        .parse()
        .map_err(|error: tokio_postgres::Error| invalid(error_chain(&error)))?;

    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        config.host("localhost");
    }
    let user = match config.get_user() {
        Some(user) => user.to_owned(),
        None => {
            let user = default_user();
            config.user(&user);
            user
        }
    };
    if config.get_dbname().is_none() {
        config.dbname(&user);
    }
    config.ssl_mode(match tls.mode {
        Mode::Plain => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });

    let target = target_of(&config);
    let mut secrets = secrets;
    if let Some(password) = config.get_password() {
        secrets.push(String::from_utf8_lossy(password).into_owned());
    }
    Ok(Parsed {
        config,
        tls,
        target,
        secrets,
    })
}

fn split_scheme(url: &str) -> Option<(&str, &str)> {
    ["postgres://", "postgresql://"]
        .into_iter()
        .find_map(|scheme| url.strip_prefix(scheme).map(|rest| (scheme, rest)))
}

/// The user info for redaction: ends at the last `@` before the query, or
/// failing that at the last `@` anywhere (a password with an unencoded `?`),
/// so that whatever might be password is hidden.
fn split_userinfo_for_redaction(rest: &str) -> (Option<&str>, &str) {
    let query_start = rest.find('?').unwrap_or(rest.len());
    match rest[..query_start].rfind('@').or_else(|| rest.rfind('@')) {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

fn is_secret_key(raw_key: &str) -> bool {
    percent_decode(raw_key).is_some_and(|key| key == "password" || key == "sslpassword")
}

/// Every form of every password in `url`, as written and decoded.
fn secrets_of(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    let Some((_, rest)) = split_scheme(url) else {
        return secrets;
    };
    let (userinfo, after) = split_userinfo_for_redaction(rest);
    let mut push = |raw: &str| {
        secrets.push(raw.to_owned());
        if let Some(decoded) = percent_decode(raw) {
            secrets.push(decoded);
        }
    };
    if let Some((_, password)) = userinfo.and_then(|userinfo| userinfo.split_once(':')) {
        push(password);
    }
    if let Some((_, query)) = after.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                if is_secret_key(key) {
                    push(value);
                }
            }
        }
    }
    secrets
}

/// `text` with every password in `secrets` replaced by `***`.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    let mut secrets: Vec<&String> = secrets
        .iter()
        .filter(|secret| secret.len() >= MIN_SCRUB_LEN)
        .collect();
    // Longest first, so a decoded form inside the raw one goes too.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    for secret in secrets {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

/// `%XX` decoded, as libpq does (a `%` not followed by two hex digits stays);
/// `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                // Two hex digits make at most 0xff.
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn default_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|user| !user.is_empty())
        .unwrap_or_else(|| "postgres".to_owned())
}

fn target_of(config: &tokio_postgres::Config) -> ConnectTarget {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => config
            .get_hostaddrs()
            .first()
            .map_or_else(|| "localhost".to_owned(), ToString::to_string),
    };
    ConnectTarget {
        host,
        port: config.get_ports().first().copied().unwrap_or(5432),
        database: config.get_dbname().unwrap_or_default().to_owned(),
        user: config.get_user().unwrap_or_default().to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Connecting

async fn connect(parsed: Parsed) -> Result<AsyncPgConnection, ConnectError> {
    if parsed.tls.mode == Mode::Plain {
        let (client, connection) = parsed
            .config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|error| classify(&error, &parsed))?;
        return finish(client, connection, &parsed).await;
    }
    let tls_config = client_config(&parsed.tls).map_err(|reason| ConnectError::Tls {
        target: Box::new(parsed.target.clone()),
        reason,
    })?;
    let (client, connection) = parsed
        .config
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
        let mut message = db.message().to_owned();
        if let Some(hint) = db.hint() {
            message.push_str("; hint: ");
            message.push_str(hint);
        }
        return ConnectError::Server {
            target,
            code: db.code().code().to_owned(),
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
        return ConnectError::PasswordMissing { target };
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

/// A rustls error in words, with the roots we checked against.
fn describe_tls_error(error: &rustls::Error, settings: &TlsSettings) -> String {
    let roots = match &settings.root_cert {
        Some(RootCert::File(path)) => format!("sslrootcert `{}`", path.display()),
        Some(RootCert::System) | None => "the system's root certificates".to_owned(),
    };
    match error {
        rustls::Error::InvalidCertificate(certificate) => {
            let what = match certificate {
                CertificateError::UnknownIssuer => format!(
                    "the server's certificate is not signed by a trusted certificate authority \
                     (checked against {roots})"
                ),
                CertificateError::BadSignature => {
                    "the server's certificate has a bad signature".to_owned()
                }
                CertificateError::NotValidForName => {
                    "the server's certificate is not valid for the host name".to_owned()
                }
                CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => {
                    let names = if presented.is_empty() {
                        "no names".to_owned()
                    } else {
                        presented
                            .iter()
                            .map(|name| presented_name(name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    format!(
                        "the server's certificate is not valid for host `{}` (it names {names}); \
                         connect by a name it holds, or use sslmode=verify-ca",
                        expected.to_str()
                    )
                }
                other => lowercase_first(&other.to_string()),
            };
            format!("certificate verification failed: {what}")
        }
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the handshake with alert `{alert:?}`")
        }
        other => lowercase_first(&other.to_string()),
    }
}

/// rustls lists a certificate's names as `DnsName("db")` or
/// `IpAddress(10.0.0.1)`; show `db` and `10.0.0.1`.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(name)
}

fn error_chain(error: &(dyn StdError + 'static)) -> String {
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
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
}

// ---------------------------------------------------------------------------
// TLS

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The rustls configuration for `settings`; the error is a message.
fn client_config(settings: &TlsSettings) -> Result<ClientConfig, String> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match (settings.mode, &settings.root_cert) {
        (Mode::VerifyFull, roots) => web_pki_verifier(roots.as_ref(), &provider)?,
        (Mode::VerifyCa, roots) => {
            Arc::new(ChainOnly(web_pki_verifier(roots.as_ref(), &provider)?))
        }
        // libpq checks the chain whenever it has a root certificate.
        (_, Some(roots)) => Arc::new(ChainOnly(web_pki_verifier(Some(roots), &provider)?)),
        (_, None) => Arc::new(NoVerification(provider.signature_verification_algorithms)),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| lowercase_first(&error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => {
            let chain = read_certificates(cert, "sslcert")?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|error| format!("cannot read sslkey `{}`: {error}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| format!("cannot use sslcert and sslkey: {error}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.enable_sni = settings.sni;
    Ok(config)
}

fn web_pki_verifier(
    roots: Option<&RootCert>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, String> {
    let store = match roots {
        Some(RootCert::File(path)) => {
            let mut store = RootCertStore::empty();
            for certificate in read_certificates(path, "sslrootcert")? {
                store.add(certificate).map_err(|error| {
                    format!("cannot use sslrootcert `{}`: {error}", path.display())
                })?;
            }
            Arc::new(store)
        }
        Some(RootCert::System) | None => system_roots()?,
    };
    WebPkiServerVerifier::builder_with_provider(store, provider.clone())
        .build()
        .map_err(|error| format!("cannot build the certificate verifier: {error}"))
}

/// The PEM certificates in `path`; at least one.
fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let cannot =
        |error: &dyn fmt::Display| format!("cannot read {what} `{}`: {error}", path.display());
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| cannot(&error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| cannot(&error))?;
    if certificates.is_empty() {
        return Err(format!(
            "{what} `{}` holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certificates)
}

/// The platform's trusted roots, read once per process.
fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(loaded.certs);
            if store.is_empty() {
                Err(
                    "no trusted root certificates found on this system; install them \
                     (ca-certificates) or name the server's ca with sslrootcert=<file>"
                        .to_owned(),
                )
            } else {
                Ok(Arc::new(store))
            }
        })
        .clone()
}

/// `verify-ca`: the chain must lead to a trusted root, the host name may
/// differ. webpki checks the name last, after the chain.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` and `prefer` without a root certificate: encrypted, but any
/// certificate is accepted (libpq does the same). The handshake signatures
/// are still checked, so the server holds the certificate's key.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_the_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5433/app"),
            "postgres://app:***@db:5433/app"
        );
        assert_eq!(
            redact_url("postgresql://app:s3cret@db/app?sslmode=require"),
            "postgresql://app:***@db/app?sslmode=require"
        );
    }

    #[test]
    fn redact_url_keeps_a_url_without_password() {
        for url in [
            "postgres://app@db/app",
            "postgres://db/app",
            "postgres://",
            "postgres:///app?host=/var/run/postgresql",
            "postgres://db/app?application_name=a@b",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn redact_url_hides_password_query_parameters() {
        assert_eq!(
            redact_url("postgres://db/app?user=app&password=s3cret&sslmode=require"),
            "postgres://db/app?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/app?pass%77ord=s3cret&sslpassword=k3y"),
            "postgres://db/app?pass%77ord=***&sslpassword=***"
        );
    }

    #[test]
    fn redact_url_hides_passwords_with_unencoded_delimiters() {
        for (url, password) in [
            ("postgres://app:p@ss@db/app", "p@ss"),
            ("postgres://app:p/ss@db/app", "p/ss"),
            ("postgres://app:p?ss@db/app", "p?ss"),
            ("postgres://app:p?s@s@db/app?x=y@z", "p?s@s"),
            ("postgres://user:pa ss@[bad", "pa ss"),
            ("postgres://app:12/34@db/app", "12/34"),
        ] {
            let redacted = redact_url(url);
            assert!(
                !redacted.contains(password),
                "{url} -> {redacted} shows the password"
            );
            assert!(redacted.starts_with("postgres://"), "{redacted}");
        }
        assert_eq!(
            redact_url("postgres://app:p@ss@db/app"),
            "postgres://app:***@db/app"
        );
    }

    #[test]
    fn redact_url_refuses_what_is_not_a_postgres_url() {
        for garbage in [
            "",
            "app:s3cret@db",
            "host=db password=s3cret",
            "mysql://app:s3cret@db/app",
            "\u{0}\u{ffff}",
        ] {
            assert_eq!(redact_url(garbage), UNPARSEABLE);
        }
    }

    #[test]
    fn redact_url_survives_odd_input() {
        for odd in [
            "postgres://@",
            "postgres://:@",
            "postgres://?",
            "postgres://a:b@?password",
            "postgres://a:b@h/?=&&=&password=",
            "postgres://é:ü@ø/æ?password=ß",
            "postgres://%:%@%/%?%=%",
        ] {
            let redacted = redact_url(odd);
            assert!(redacted.starts_with("postgres://"), "{odd} -> {redacted}");
        }
        assert_eq!(redact_url("postgres://é:ü@ø/æ"), "postgres://é:***@ø/æ");
    }

    #[test]
    fn target_fills_in_libpq_defaults() {
        assert_eq!(
            target("postgres://app@db.internal/shop").unwrap(),
            ConnectTarget {
                host: "db.internal".into(),
                port: 5432,
                database: "shop".into(),
                user: "app".into()
            }
        );
        let defaults = target("postgres://").unwrap();
        assert_eq!(defaults.host, "localhost");
        assert_eq!(defaults.port, 5432);
        assert_eq!(defaults.database, defaults.user);
        assert!(!defaults.user.is_empty());
    }

    #[test]
    fn target_displays_host_port_database_and_user() {
        for (url, shown) in [
            (
                "postgres://app:pw@127.0.0.1:5999/app",
                "127.0.0.1:5999/app as app",
            ),
            ("postgres://app@[::1]:6000/db", "[::1]:6000/db as app"),
            (
                "postgres://app@%2Fvar%2Frun%2Fpostgresql/db",
                "/var/run/postgresql:5432/db as app",
            ),
        ] {
            assert_eq!(target(url).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn an_unencoded_at_sign_belongs_to_the_password() {
        let parsed = parse("postgres://app:p@ss@db/app").unwrap();
        assert_eq!(parsed.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(parsed.target.host, "db");
        let parsed = parse("postgres://db/app?application_name=a@b").unwrap();
        assert_eq!(parsed.target.host, "db");
        assert_eq!(parsed.config.get_application_name(), Some("a@b"));
    }

    #[test]
    fn ssl_parameters_are_ours_and_the_rest_goes_to_tokio_postgres() {
        let parsed = parse(
            "postgres://app@db/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem\
             &application_name=dmig&sslsni=0&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(parsed.tls.mode, Mode::VerifyFull);
        assert_eq!(
            parsed.tls.root_cert,
            Some(RootCert::File("/etc/ca.pem".into()))
        );
        assert!(!parsed.tls.sni);
        assert_eq!(parsed.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(parsed.config.get_application_name(), Some("dmig"));
        assert_eq!(
            parsed.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );

        let modes = [
            ("", Mode::Plain, SslMode::Disable),
            ("?sslmode=disable", Mode::Plain, SslMode::Disable),
            ("?sslmode=allow", Mode::Plain, SslMode::Disable),
            ("?sslmode=prefer", Mode::Prefer, SslMode::Prefer),
            ("?sslmode=require", Mode::Require, SslMode::Require),
            ("?sslmode=verify-ca", Mode::VerifyCa, SslMode::Require),
        ];
        for (query, mode, ssl_mode) in modes {
            let parsed = parse(&format!("postgres://db/app{query}")).unwrap();
            assert_eq!(parsed.tls.mode, mode, "{query}");
            assert_eq!(parsed.config.get_ssl_mode(), ssl_mode, "{query}");
        }
        assert_eq!(
            parse("postgres://db?sslrootcert=system&sslmode=verify-full")
                .unwrap()
                .tls
                .root_cert,
            Some(RootCert::System)
        );
    }

    #[test]
    fn invalid_urls_say_why_without_the_password() {
        let cases = [
            ("postgres://user:pa ss@[bad", "host"),
            ("postgres://app:s3cret@db/app?sslmode=bogus", "sslmode"),
            ("postgres://app:s3cret@db/app?sslsni=2", "sslsni"),
            ("postgres://app:s3cret@db/app?frobnicate=1", "frobnicate"),
            ("postgres://app:s3cret@db:port/app", "port"),
            (
                "postgres://app:s3cret@db/app?sslmode=require&sslcert=/c.pem",
                "sslkey",
            ),
            ("postgres://app:s3cret@db/app?oops", "no `=value`"),
            ("host=db password=s3cret", "postgres://"),
        ];
        for (url, mentions) in cases {
            let error = parse(url).err().unwrap_or_else(|| panic!("{url} parsed"));
            assert!(
                matches!(error, ConnectError::InvalidUrl { .. }),
                "{error:?}"
            );
            for shown in [
                error.to_string(),
                format!("{error:#}"),
                format!("{error:?}"),
            ] {
                assert!(shown.contains(mentions), "{url}: {shown}");
                assert!(!shown.contains("s3cret"), "{url}: {shown}");
                assert!(!shown.contains("pa ss"), "{url}: {shown}");
            }
        }
    }

    #[test]
    fn scrub_replaces_every_form_of_the_password() {
        let secrets = secrets_of("postgres://app:p%40ss%20word@db/app?password=other");
        let text = scrub("a p@ss word b p%40ss%20word c other", &secrets);
        assert_eq!(text, "a *** b *** c ***");
        // Too short to scrub without ruining the message.
        assert_eq!(scrub("a b", &["a".to_owned()]), "a b");
    }

    #[test]
    fn percent_decode_is_lenient_like_libpq() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn connect_error_stays_small() {
        // Callers wrap it in their own error enums; clippy's
        // result_large_err starts at 128 bytes.
        assert!(std::mem::size_of::<ConnectError>() <= 64);
    }

    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(presented_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(presented_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(presented_name("*.example.com"), "*.example.com");
    }

    #[test]
    fn lowercase_first_keeps_acronyms() {
        assert_eq!(lowercase_first("Connection refused"), "connection refused");
        assert_eq!(lowercase_first("TLS failed"), "TLS failed");
        assert_eq!(lowercase_first(""), "");
    }
}
