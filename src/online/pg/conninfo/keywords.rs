//! libpq's `keyword=value` connection strings: `host=db dbname='my db'`,
//! blanks around `=`, values quoted with `'`, `\` escaping the next
//! character. [`redact`](super::redact) walks them with the same [`next_pair`].

use super::error::PASSWORD_HINT;
use super::settings::{is_plain_keyword, is_secret, Echo, Settings};
use super::{ConnInfoError, Origin};

/// C's `isspace` in the C locale, which libpq uses.
pub(super) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// [`is_space`] for a `char`.
pub(super) fn is_space_char(c: char) -> bool {
    c.is_ascii() && is_space(c as u8)
}

/// One `keyword=value` pair of a connection string.
pub(super) struct Pair {
    pub(super) name: String,
    pub(super) value: String,
    /// Byte offsets of the pair in the input (the end after its value).
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) enum PairError {
    /// A word without `=`; `at` is its character position, from 1.
    MissingEquals {
        name: String,
        at: usize,
    },
    Unterminated,
}

/// The next pair of a connection string, by libpq's `conninfo_parse`
/// rules: blanks around `=`, a value runs to the next blank unless quoted
/// with `'`, and `\` escapes the next character in either.
pub(super) fn next_pair(input: &str, pos: &mut usize) -> Option<Result<Pair, PairError>> {
    let bytes = input.as_bytes();
    let mut i = *pos;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    if i >= bytes.len() {
        *pos = i;
        return None;
    }
    let start = i;
    while i < bytes.len() && bytes[i] != b'=' && !is_space(bytes[i]) {
        i += 1;
    }
    let name = input[start..i].to_owned();
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    if bytes.get(i) != Some(&b'=') {
        *pos = bytes.len();
        let at = input[..start].chars().count() + 1;
        return Some(Err(PairError::MissingEquals { name, at }));
    }
    i += 1;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    // Only ASCII bytes (quotes, backslashes) are dropped, so the value stays UTF-8.
    let mut value = Vec::new();
    if bytes.get(i) == Some(&b'\'') {
        i += 1;
        loop {
            match bytes.get(i) {
                None => {
                    *pos = bytes.len();
                    return Some(Err(PairError::Unterminated));
                }
                Some(b'\\') => {
                    i += 1;
                    if let Some(&next) = bytes.get(i) {
                        value.push(next);
                        i += 1;
                    }
                }
                Some(b'\'') => {
                    i += 1;
                    break;
                }
                Some(&byte) => {
                    value.push(byte);
                    i += 1;
                }
            }
        }
    } else {
        while let Some(&byte) = bytes.get(i) {
            i += 1;
            if is_space(byte) {
                break;
            }
            if byte == b'\\' {
                if let Some(&next) = bytes.get(i) {
                    value.push(next);
                    i += 1;
                }
            } else {
                value.push(byte);
            }
        }
    }
    *pos = i;
    let value = String::from_utf8(value)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    Some(Ok(Pair {
        name,
        value,
        start,
        end: i,
    }))
}

/// libpq's `conninfo_parse`.
pub(super) fn parse_keywords(input: &str, settings: &mut Settings) -> Result<(), ConnInfoError> {
    let origin = Origin::ConnString;
    let mut pos = 0;
    // Once a password went by, a later word may be the rest of it (an
    // unquoted password with a space): name nothing after it.
    let mut echo = Echo::All;
    while let Some(pair) = next_pair(input, &mut pos) {
        let hint = if echo == Echo::Nothing {
            PASSWORD_HINT
        } else {
            ""
        };
        match pair {
            Ok(pair) => {
                let secret = is_secret(&pair.name);
                settings.store(&pair.name, pair.value, origin, echo)?;
                if secret {
                    echo = Echo::Nothing;
                }
            }
            Err(PairError::MissingEquals { name, at }) => {
                let problem = if echo == Echo::All && is_plain_keyword(&name) {
                    format!("missing `=` after `{name}`")
                } else {
                    format!("missing `=` after the word at character {at}{hint}")
                };
                return Err(ConnInfoError::Syntax { problem, origin });
            }
            Err(PairError::Unterminated) => {
                return Err(ConnInfoError::Syntax {
                    problem: format!("unterminated quoted string{hint}"),
                    origin,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_env::*;
    use super::super::*;

    #[test]
    fn keyword_strings_follow_libpq_quoting() {
        let info = parse(r"host=db port=5433 dbname='my db' password='it\'s' user = app");
        assert_eq!(info.hosts, [tcp("db")]);
        assert_eq!(info.ports, [5433]);
        assert_eq!(info.dbname, "my db");
        assert_eq!(info.password.as_deref(), Some("it's"));
        assert_eq!(info.user, "app");
        assert_eq!(
            info.password_source,
            Some(PasswordSource::Given(Origin::ConnString))
        );

        // A backslash escapes outside quotes too; a quote inside a word is a quote.
        let info = parse(r"password=a\ b\\c options=it's");
        assert_eq!(info.password.as_deref(), Some(r"a b\c"));
        assert_eq!(info.options.as_deref(), Some("it's"));
        // Blanks of every kind separate, and a quoted value needs none after it.
        let info = parse("\thost=a\n\rdbname='x y'user=z ");
        assert_eq!(
            (
                info.hosts[0].clone(),
                info.dbname.as_str(),
                info.user.as_str()
            ),
            (tcp("a"), "x y", "z")
        );
        // The last of a keyword wins.
        assert_eq!(parse("port=1 port=2").ports, [2]);
    }

    #[test]
    fn blanks_after_equals_are_skipped_even_before_the_next_pair() {
        // libpq skips the blanks after `=`, so `host= port=5` sets host to
        // `port=5`.
        let info = parse("host= port=5");
        assert_eq!(info.hosts, [tcp("port=5")]);
        assert_eq!(info.ports, [5432]);
    }

    #[test]
    fn keyword_syntax_errors() {
        assert_eq!(
            error("host db"),
            "missing `=` after `host` in the connection string"
        );
        assert_eq!(
            error("host=db mydb"),
            "missing `=` after the word at character 9 in the connection string"
        );
        assert_eq!(
            error("host=db dbname='x"),
            "unterminated quoted string in the connection string"
        );
        assert_eq!(
            error("host=db frobnicate=1"),
            "unknown connection option `frobnicate` in the connection string"
        );
        assert_eq!(
            error("=x"),
            "unknown connection option `` in the connection string"
        );
    }

    #[test]
    fn an_empty_keyword_value_blocks_the_environment() {
        // libpq stores the empty value, so PGHOST is not consulted and the
        // default applies.
        let env = TestEnv::new()
            .var("PGHOST", "envhost")
            .var("PGUSER", "envuser")
            .var("PGDATABASE", "envdb");
        let info = env.ok("host='' user='' dbname=''");
        assert_eq!(info.hosts, [tcp("localhost")]);
        assert_eq!(info.user, "postgres");
        assert_eq!(info.dbname, "postgres");
        // The URL form stores no empty parts: the environment applies.
        assert_eq!(env.ok("postgres://").hosts, [tcp("envhost")]);
    }

    #[test]
    fn an_empty_string_is_the_environment_alone() {
        let env = TestEnv::new()
            .var("PGHOST", "127.0.0.1")
            .var("PGPORT", "6543")
            .var("PGDATABASE", "shop");
        let info = env.ok("");
        assert_eq!(info.target().to_string(), "127.0.0.1:6543/shop as postgres");
        assert_eq!(env.ok("   ").target(), info.target());
    }
}
