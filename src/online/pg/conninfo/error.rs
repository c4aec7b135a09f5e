//! [`ConnInfoError`]: what is wrong with connection settings, naming the
//! keyword, environment variable or file, never a password.

use std::io;
use std::path::PathBuf;

use super::{Origin, SslMode};

/// Shown after an error whose subject is not named because it comes after
/// a password and may be part of it.
pub(super) const PASSWORD_HINT: &str = " (not shown: it may be part of the password; a password \
    with spaces or quotes needs quotes, like password='it\\'s')";

/// Errors reading connection settings. Messages name the keyword,
/// environment variable or file at fault and never hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnInfoError {
    /// A URL of another scheme, such as `mysql://`.
    #[error("the database URL must start with `postgres://` or `postgresql://`")]
    NotPostgresUrl,
    /// A raw `@` after the user info of a URL (or in it, after a `/`), where
    /// libpq would read part of a password as host or database name.
    #[error(
        "the database URL has an `@` that is not percent-encoded after its user info, \
         so part of it would be read as host or database name; \
         write `@` as `%40` and `/` as `%2F` in the user name, password and database name"
    )]
    UnencodedAt,
    /// Malformed URL or connection string syntax.
    #[error("{problem} {origin}")]
    Syntax {
        /// What is wrong.
        problem: String,
        /// Which form it was.
        origin: Origin,
    },
    /// A `%` not followed by two hex digits, `%00`, or bytes that are not UTF-8.
    #[error("invalid percent-encoding in the {part} of the database URL")]
    PercentEncoding {
        /// Which part: `password`, `host`, `value of \`sslmode\``, ...
        part: String,
    },
    /// A keyword libpq does not know.
    #[error("unknown connection option `{name}` {origin}")]
    UnknownOption {
        /// The keyword.
        name: String,
        /// Where it was.
        origin: Origin,
    },
    /// An unknown keyword, an invalid value or an unsupported setting that
    /// follows a password, so that not even its keyword is named: it may be
    /// part of the password (`password=my secret port=5`).
    #[error("{problem} {origin}, after the password{}", PASSWORD_HINT)]
    AfterPassword {
        /// `unknown connection option`, `invalid value`, ...
        problem: &'static str,
        /// Where it was.
        origin: Origin,
    },
    /// A value libpq would refuse (or that could never work).
    #[error("invalid {keyword}{} {origin}: expected {expected}", quoted(.value))]
    InvalidValue {
        /// The keyword.
        keyword: &'static str,
        /// The value, when it cannot be part of a password.
        value: Option<String>,
        /// Where it was.
        origin: Origin,
        /// What would do.
        expected: &'static str,
    },
    /// A setting dmig cannot honour.
    #[error("connection option `{keyword}` {origin} is not supported: {reason}")]
    Unsupported {
        /// The keyword.
        keyword: &'static str,
        /// Where it was.
        origin: Origin,
        /// Why not.
        reason: &'static str,
    },
    /// An `sslmode` too weak for another setting (libpq refuses these too).
    #[error("sslmode `{mode}` {origin} cannot be used with {with}: use {instead}")]
    WeakSslMode {
        /// The sslmode.
        mode: SslMode,
        /// Where the sslmode came from.
        origin: Origin,
        /// The setting that needs more: `sslrootcert=system`, `sslnegotiation=direct`.
        with: &'static str,
        /// What would do.
        instead: &'static str,
    },
    /// A setting that needs a stronger `sslmode` than the default.
    #[error("{with} {origin} needs sslmode {instead}")]
    NeedsSslMode {
        /// The setting: `sslnegotiation=direct`.
        with: &'static str,
        /// Where it came from.
        origin: Origin,
        /// What would do.
        instead: &'static str,
    },
    /// `ssl_min_protocol_version` above `ssl_max_protocol_version`.
    #[error("invalid TLS protocol version range: ssl_min_protocol_version is above ssl_max_protocol_version")]
    TlsVersionRange,
    /// A port list that fits neither one port for all hosts nor one per host.
    #[error("could not match {ports} port numbers to {hosts} hosts {origin}")]
    PortCount {
        /// Elements of `port`.
        ports: usize,
        /// Hosts.
        hosts: usize,
        /// Where the ports came from.
        origin: Origin,
    },
    /// A `host` list and a `hostaddr` list of different lengths.
    #[error("could not match {hosts} host names to {hostaddrs} hostaddr values")]
    HostaddrCount {
        /// Elements of `host`.
        hosts: usize,
        /// Elements of `hostaddr`.
        hostaddrs: usize,
    },
    /// The password file exists with safe permissions but cannot be read.
    #[error("cannot read password file `{}`", path.display())]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// No service file has the group of the service asked for.
    #[error("definition of service {} not found{}", service_name(.service), looked_in(.looked))]
    ServiceNotFound {
        /// The service, unless it may be part of a password.
        service: Option<String>,
        /// The service files read, which do not have it.
        looked: Vec<PathBuf>,
    },
    /// A service file exists but cannot be read.
    #[error("cannot read service file `{}`", path.display())]
    ServiceFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A line of the service's group that libpq would refuse too.
    #[error("service file `{}` line {line}: {problem}", path.display())]
    ServiceFileLine {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it (never its value).
        problem: String,
    },
    /// The password on a matching line of the password file is not UTF-8.
    #[error("password file `{}` line {line}: the password is not UTF-8", path.display())]
    PasswordFileNotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
}

/// `` `name` ``, or words that do not show it.
fn service_name(service: &Option<String>) -> String {
    match service {
        Some(name) => format!("`{}`", name.escape_debug()),
        None => format!("named in the connection string{PASSWORD_HINT}"),
    }
}

/// Where a service was sought, for [`ConnInfoError::ServiceNotFound`].
fn looked_in(looked: &[PathBuf]) -> String {
    if looked.is_empty() {
        return ": no service file (~/.pg_service.conf, or the files PGSERVICEFILE and \
                PGSYSCONFDIR name)"
            .to_owned();
    }
    let files: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    format!(" in {}", files.join(" or "))
}

/// `` `value` `` with a leading space, or nothing for a hidden value.
fn quoted(value: &Option<String>) -> String {
    match value {
        Some(value) => format!(" `{}`", value.escape_debug()),
        None => String::new(),
    }
}
