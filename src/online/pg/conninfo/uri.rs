//! libpq's `postgres://` URLs: user info, host and port lists with `[v6]`
//! hosts, the database name and query parameters, strictly percent-decoded.

use super::error::PASSWORD_HINT;
use super::keywords::is_space_char;
use super::settings::{is_plain_keyword, is_secret, Echo, Settings};
use super::{ConnInfoError, Origin};

/// `(scheme, rest)` when `input` starts with `postgresql://` or `postgres://`.
pub(super) fn split_postgres_scheme(input: &str) -> Option<(&str, &str)> {
    ["postgresql://", "postgres://"]
        .into_iter()
        .find_map(|scheme| input.strip_prefix(scheme).map(|rest| (scheme, rest)))
}

/// libpq would read `mysql://...` as a keyword string and complain about a
/// missing `=`; say what is wrong instead.
pub(super) fn refuse_other_urls(input: &str) -> Result<(), ConnInfoError> {
    let trimmed = input.trim_start_matches(is_space_char);
    if split_postgres_scheme(trimmed).is_some() {
        return Err(ConnInfoError::Syntax {
            problem: "whitespace before `postgres://`".to_owned(),
            origin: Origin::Url,
        });
    }
    let first = trimmed.split(is_space_char).next().unwrap_or_default();
    match first.find("://") {
        Some(at) if !first[..at].contains('=') => Err(ConnInfoError::NotPostgresUrl),
        _ => Ok(()),
    }
}

/// libpq's `conninfo_uri_decode`: strict, `%` takes two hex digits and
/// `%00` is refused. dmig also needs the result to be UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        let (high, low) = (hex(i + 1)?, hex(i + 2)?);
        // Two hex digits make at most 0xff.
        let byte = (high * 16 + low) as u8;
        if byte == 0 {
            return None;
        }
        out.push(byte);
        i += 3;
    }
    String::from_utf8(out).ok()
}

/// [`percent_decode`]d, or an error naming `part` of the URL.
fn decode(text: &str, part: &str) -> Result<String, ConnInfoError> {
    percent_decode(text).ok_or_else(|| ConnInfoError::PercentEncoding {
        part: part.to_owned(),
    })
}

/// libpq's `conninfo_uri_parse_options`, on what follows the scheme.
pub(super) fn parse_uri(rest: &str, settings: &mut Settings) -> Result<(), ConnInfoError> {
    let origin = Origin::Url;
    // libpq: the user info ends at the first `@`, unless a `/` comes first.
    let (userinfo, after) = match rest.find(['@', '/']) {
        Some(at) if rest.as_bytes()[at] == b'@' => (Some(&rest[..at]), &rest[at + 1..]),
        _ => (None, rest),
    };
    let query_start = after.find('?').unwrap_or(after.len());
    if after[..query_start].contains('@') {
        // A host never holds an `@`; a database name could, but the likelier
        // story is a password with an unencoded `@` or `/`, and libpq would
        // show part of it as host or database name.
        return Err(ConnInfoError::UnencodedAt);
    }
    // Without user info, an `@` in the query may still end a password that
    // holds a `/` (`postgres://u:12/34?x@db`): then what looks like a port
    // and a database name is password. Refuse when the part before the first
    // `/` has a `:` (outside `[...]`), as a password needs; otherwise nothing
    // here can be password, but values are still not echoed.
    let doubtful = userinfo.is_none() && after.contains('@');
    if doubtful {
        let authority = &after[..after.find(['/', '?']).unwrap_or(after.len())];
        if without_brackets(authority).contains(':') {
            return Err(ConnInfoError::UnencodedAt);
        }
    }
    let echo = if doubtful { Echo::Name } else { Echo::All };

    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            settings.store("user", decode(user, "user name")?, origin, echo)?;
        }
        if let Some(password) = password.filter(|password| !password.is_empty()) {
            settings.secrets.push(password.to_owned());
            let decoded = decode(password, "password")?;
            settings.store("password", decoded, origin, Echo::Name)?;
        }
    }

    // netloc[:port][,netloc[:port]...]
    let bytes = after.as_bytes();
    let syntax = |problem: &str| ConnInfoError::Syntax {
        problem: problem.to_owned(),
        origin,
    };
    let mut i = 0;
    let mut hosts = String::new();
    let mut ports = String::new();
    let terminator = loop {
        if bytes.get(i) == Some(&b'[') {
            let start = i + 1;
            let len = after[start..]
                .find(']')
                .ok_or_else(|| syntax("an IPv6 host has no closing `]`"))?;
            if len == 0 {
                return Err(syntax("an IPv6 host is empty (`[]`)"));
            }
            hosts.push_str(&after[start..start + len]);
            i = start + len + 1;
            if !matches!(bytes.get(i), None | Some(b':' | b'/' | b'?' | b',')) {
                return Err(syntax(
                    "unexpected character after an IPv6 host (expected `:`, `/`, `?` or `,`)",
                ));
            }
        } else {
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b':' | b'/' | b'?' | b',') {
                i += 1;
            }
            hosts.push_str(&after[start..i]);
        }
        if bytes.get(i) == Some(&b':') {
            i += 1;
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'/' | b'?' | b',') {
                i += 1;
            }
            ports.push_str(&after[start..i]);
        }
        if bytes.get(i) != Some(&b',') {
            break bytes.get(i).copied();
        }
        i += 1;
        hosts.push(',');
        ports.push(',');
    };
    if !hosts.is_empty() {
        settings.store("host", decode(&hosts, "host")?, origin, echo)?;
    }
    if !ports.is_empty() {
        settings.store("port", decode(&ports, "port")?, origin, echo)?;
    }
    if terminator == Some(b'/') {
        let start = i + 1;
        let end = after[start..]
            .find('?')
            .map_or(after.len(), |len| start + len);
        let dbname = &after[start..end];
        // libpq skips an empty name so that PGDATABASE still applies.
        if !dbname.is_empty() {
            settings.store("dbname", decode(dbname, "database name")?, origin, echo)?;
        }
        i = end;
    }
    if i < after.len() {
        parse_query(&after[i + 1..], settings, echo)?;
    }
    Ok(())
}

/// `text` without its `[...]` parts.
fn without_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// libpq's `conninfo_uri_parse_params`.
fn parse_query(query: &str, settings: &mut Settings, mut echo: Echo) -> Result<(), ConnInfoError> {
    let origin = Origin::Url;
    let mut params: Vec<&str> = query.split('&').collect();
    // libpq stops at the end of the string, so one trailing `&` is fine.
    if params.last() == Some(&"") {
        params.pop();
    }
    for param in params {
        let hint = if echo == Echo::Nothing {
            PASSWORD_HINT
        } else {
            ""
        };
        let Some((raw_key, raw_value)) = param.split_once('=') else {
            return Err(ConnInfoError::Syntax {
                problem: format!("a query parameter has no `=value`{hint}"),
                origin,
            });
        };
        if raw_value.contains('=') {
            return Err(ConnInfoError::Syntax {
                problem: format!("a query parameter has more than one `=`{hint}"),
                origin,
            });
        }
        let key = decode(raw_key, "name of a query parameter")?;
        let secret = is_secret(&key);
        if secret {
            settings.secrets.push(raw_value.to_owned());
        }
        let part = if echo == Echo::All && is_plain_keyword(&key) {
            format!("value of `{key}`")
        } else {
            "value of a query parameter".to_owned()
        };
        let value = decode(raw_value, &part)?;
        // libpq's JDBC compatibility: ssl=true is sslmode=require.
        if key == "ssl" && value == "true" {
            settings.store("sslmode", "require".to_owned(), origin, echo)?;
        } else {
            settings.store(&key, value, origin, echo)?;
        }
        if secret {
            echo = Echo::Nothing;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::*;
    use super::super::*;
    use super::*;

    #[test]
    fn a_full_url_gives_every_part() {
        let info = parse("postgresql://app:s3cret@db.internal:6432/shop?sslmode=require");
        assert_eq!(info.hosts, [tcp("db.internal")]);
        assert_eq!(info.ports, [6432]);
        assert_eq!(info.user, "app");
        assert_eq!(info.password.as_deref(), Some("s3cret"));
        assert_eq!(
            info.password_source,
            Some(PasswordSource::Given(Origin::Url))
        );
        assert_eq!(info.dbname, "shop");
        assert_eq!(info.sslmode, Some(SslMode::Require));
        assert_eq!(info.target().to_string(), "db.internal:6432/shop as app");
    }

    #[test]
    fn url_parts_are_percent_decoded() {
        let info = parse("postgres://my%20user:p%40ss%3Aw%2Frd@db/my%2Fdb?options=-c%20x%3Dy");
        assert_eq!(info.user, "my user");
        assert_eq!(info.password.as_deref(), Some("p@ss:w/rd"));
        assert_eq!(info.dbname, "my/db");
        assert_eq!(info.options.as_deref(), Some("-c x=y"));
        // A `:` after the first one belongs to the password.
        assert_eq!(parse("postgres://u:a:b@h").password.as_deref(), Some("a:b"));
    }

    #[test]
    fn percent_decoding_is_strict_like_libpq() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("100%"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%00"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(
            error("postgres://u:p%zz@db"),
            "invalid percent-encoding in the password of the database URL"
        );
        assert_eq!(
            error("postgres://db/app?sslmode=%zz"),
            "invalid percent-encoding in the value of `sslmode` of the database URL"
        );
        assert_eq!(
            error("postgres://db%00/app"),
            "invalid percent-encoding in the host of the database URL"
        );
    }

    #[test]
    fn ipv6_hosts_and_host_lists() {
        let info = parse("postgres://[::1]:5433,[fe80::1%25eth0],db.internal:6000/app");
        assert_eq!(
            info.hosts,
            [tcp("::1"), tcp("fe80::1%eth0"), tcp("db.internal")]
        );
        assert_eq!(info.ports, [5433, 5432, 6000]);
        assert_eq!(info.target().to_string(), "[::1]:5433/app as postgres");

        let info = parse("postgres://a,b:5433/app");
        assert_eq!(info.hosts, [tcp("a"), tcp("b")]);
        assert_eq!(info.ports, [5432, 5433]);

        // One port serves every host.
        let info = parse("host=a,b,c port=7000");
        assert_eq!(info.ports, [7000, 7000, 7000]);
    }

    #[test]
    fn ipv6_syntax_errors_say_what_is_wrong() {
        assert_eq!(
            error("postgres://[::1/app"),
            "an IPv6 host has no closing `]` in the database URL"
        );
        assert_eq!(
            error("postgres://[]/app"),
            "an IPv6 host is empty (`[]`) in the database URL"
        );
        assert_eq!(
            error("postgres://[::1]x/app"),
            "unexpected character after an IPv6 host (expected `:`, `/`, `?` or `,`) \
             in the database URL"
        );
    }

    #[test]
    fn a_socket_directory_host() {
        let info = parse("postgres://app@%2Fvar%2Frun%2Fpostgresql:5433/db");
        assert_eq!(info.hosts, [unix("/var/run/postgresql")]);
        assert_eq!(
            info.target().to_string(),
            "/var/run/postgresql:5433/db as app"
        );
        let info = parse("postgres:///db?host=/tmp/sockets&port=6000");
        assert_eq!(info.hosts, [unix("/tmp/sockets")]);
        assert_eq!(info.ports, [6000]);
    }

    #[test]
    fn query_parameters_override_the_url() {
        let info = parse("postgres://a:pw1@h1:1/db1?user=b&password=pw2&host=h2&port=2&dbname=db2");
        assert_eq!(info.user, "b");
        assert_eq!(info.password.as_deref(), Some("pw2"));
        assert_eq!(info.hosts, [tcp("h2")]);
        assert_eq!(info.ports, [2]);
        assert_eq!(info.dbname, "db2");
        assert_eq!(info.secrets(), ["pw1", "pw2"]);
    }

    #[test]
    fn empty_url_parts_leave_room_for_the_environment() {
        let env = TestEnv::new()
            .var("PGUSER", "envuser")
            .var("PGPASSWORD", "envpw")
            .var("PGHOST", "envhost")
            .var("PGPORT", "7777")
            .var("PGDATABASE", "envdb");
        for url in [
            "postgres://",
            "postgres:///",
            "postgres://:@/",
            "postgresql://?",
        ] {
            let info = env.ok(url);
            assert_eq!(info.user, "envuser", "{url}");
            assert_eq!(info.password.as_deref(), Some("envpw"), "{url}");
            assert_eq!(
                info.password_source,
                Some(PasswordSource::Given(Origin::Env("PGPASSWORD")))
            );
            assert_eq!(info.hosts, [tcp("envhost")], "{url}");
            assert_eq!(info.ports, [7777], "{url}");
            assert_eq!(info.dbname, "envdb", "{url}");
        }
        let info = env.ok("postgres://u@h:1/d");
        assert_eq!(
            (info.user.as_str(), info.ports[0], info.dbname.as_str()),
            ("u", 1, "d")
        );
    }

    #[test]
    fn jdbc_ssl_true_and_requiressl_mean_require() {
        assert_eq!(
            parse("postgres://db?ssl=true").sslmode,
            Some(SslMode::Require)
        );
        assert_eq!(
            parse("postgres://db?requiressl=1").sslmode,
            Some(SslMode::Require)
        );
        assert_eq!(parse("requiressl=0").sslmode, Some(SslMode::Prefer));
        assert_eq!(
            error("postgres://db?ssl=false"),
            "unknown connection option `ssl` in the database URL"
        );
    }

    #[test]
    fn malformed_queries_are_refused() {
        assert_eq!(
            error("postgres://db/app?oops"),
            "a query parameter has no `=value` in the database URL"
        );
        assert_eq!(
            error("postgres://db/app?a=b=c"),
            "a query parameter has more than one `=` in the database URL"
        );
        assert_eq!(
            error("postgres://db/app?sslmode=require&&port=1"),
            "a query parameter has no `=value` in the database URL"
        );
        // One trailing `&` is fine, as in libpq.
        assert_eq!(parse("postgres://db/app?port=1&").ports, [1]);
        assert_eq!(
            error("postgres://db/app?frobnicate=1"),
            "unknown connection option `frobnicate` in the database URL"
        );
    }

    #[test]
    fn an_unencoded_at_after_the_user_info_is_refused() {
        for url in [
            "postgres://u:p@ss@db/app",
            "postgres://u:P@ss:w/rd@host/db",
            "postgres://u:pa/ss@db/app",
            "postgres://host/my@db",
            "postgres://u:12/34?x@db",
            "postgres://u:12/34?application_name=x@db",
        ] {
            let error = TestEnv::new().err(url);
            assert!(
                matches!(error, ConnInfoError::UnencodedAt),
                "{url}: {error:?}"
            );
        }
        assert!(error("postgres://u:p@ss@db/app").contains("write `@` as `%40`"));
        // An `@` in a query value is libpq's too when nothing can be a password.
        let info = parse("postgres://db/app?application_name=a@b");
        assert_eq!(info.hosts, [tcp("db")]);
        assert_eq!(info.application_name, "a@b");
        let info = parse("postgres://u:pw@db:5432/app?application_name=a@b");
        assert_eq!(info.password.as_deref(), Some("pw"));
        assert_eq!(info.application_name, "a@b");
        // `?` and `#` end nothing in libpq's user info.
        assert_eq!(
            parse("postgres://u:p?s#s@db/app").password.as_deref(),
            Some("p?s#s")
        );
    }

    #[test]
    fn other_schemes_are_named_as_such() {
        assert_eq!(
            error("mysql://u:pw@db/app"),
            "the database URL must start with `postgres://` or `postgresql://`"
        );
        assert_eq!(
            error("Postgres://db/app"),
            "the database URL must start with `postgres://` or `postgresql://`"
        );
        assert_eq!(
            error(" postgres://db/app"),
            "whitespace before `postgres://` in the database URL"
        );
        // A value holding `://` is no scheme.
        assert_eq!(
            parse("host=db options=x://y").options.as_deref(),
            Some("x://y")
        );
    }
}
