//! Reading a PostgreSQL URL: what to connect to (for tokio-postgres), the TLS
//! settings dmig handles itself, where it points (for messages) and every form
//! of its password (to scrub from foreign messages). Never panics, never
//! echoes a password.

use std::fmt;
use std::path::PathBuf;

use tokio_postgres::config::{Host, SslMode};

use super::connect::{error_chain, ConnectError};

/// What [`redact_url`] returns for a string it cannot read as a URL.
const UNPARSEABLE: &str = "<unparseable database URL>";

/// Passwords shorter than this are not scrubbed from foreign messages:
/// replacing every `a` of a message is no protection and ruins the message.
const MIN_SCRUB_LEN: usize = 3;

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
/// use dmig::online::pg::redact_url;
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

/// `url` pointing at `database` instead, on the same server as the same
/// user with the same settings: the path is replaced (percent-encoded) and a
/// `dbname` query parameter, which would win over it, is dropped. How dmig
/// reaches the throwaway databases it creates through an admin URL.
///
/// # Examples
///
/// ```
/// use dmig::online::pg::with_database;
/// assert_eq!(
///     with_database("postgres://admin:pw@db:5433/postgres?sslmode=require", "scratch_1").unwrap(),
///     "postgres://admin:pw@db:5433/scratch_1?sslmode=require"
/// );
/// ```
pub fn with_database(url: &str, database: &str) -> Result<String, ConnectError> {
    let Some((scheme, rest)) = split_scheme(url) else {
        return Err(ConnectError::InvalidUrl {
            url: redact_url(url),
            reason: "expected postgres:// or postgresql://".to_owned(),
        });
    };
    let (userinfo, after) = split_userinfo_for_redaction(rest);
    let (before_query, query) = match after.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (after, None),
    };
    let host = before_query.split('/').next().unwrap_or_default();
    let mut out = String::from(scheme);
    if let Some(userinfo) = userinfo {
        out.push_str(userinfo);
        out.push('@');
    }
    out.push_str(host);
    out.push('/');
    for byte in database.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    let kept: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            percent_decode(key).as_deref() != Some("dbname")
        })
        .collect();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Parsing

/// What `sslmode` asks for, after our reading of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Plain,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RootCert {
    File(PathBuf),
    System,
}

#[derive(Debug, Clone)]
pub(super) struct TlsSettings {
    pub(super) mode: Mode,
    pub(super) root_cert: Option<RootCert>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    pub(super) sni: bool,
}

/// A URL read and checked, ready to connect.
pub(super) struct Parsed {
    pub(super) config: tokio_postgres::Config,
    pub(super) tls: TlsSettings,
    pub(super) target: ConnectTarget,
    /// The password as written and as decoded, to scrub from foreign messages.
    pub(super) secrets: Vec<String>,
}

pub(super) fn parse(url: &str) -> Result<Parsed, ConnectError> {
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
pub(super) fn scrub(text: &str, secrets: &[String]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn with_database_replaces_the_path_and_drops_dbname() {
        let with = |url: &str, db: &str| with_database(url, db).expect("url");
        assert_eq!(
            with("postgres://u:p@h:5433/app?sslmode=require", "s"),
            "postgres://u:p@h:5433/s?sslmode=require"
        );
        assert_eq!(with("postgres://h", "s"), "postgres://h/s");
        assert_eq!(
            with(
                "postgresql://u@[::1]:5432/?dbname=app&application_name=x",
                "a b"
            ),
            "postgresql://u@[::1]:5432/a%20b?application_name=x"
        );
        // A `/` in an unencoded password stays in the user info.
        assert_eq!(with("postgres://u:p/w@h/app", "s"), "postgres://u:p/w@h/s");
        assert!(with_database("mysql://h/app", "s").is_err());
    }

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
}
