//! Passwords out of everything dmig prints: a revision that creates a role
//! (`CREATE ROLE app LOGIN PASSWORD 'hunter2'`) must not show the password
//! in a failure report, a log line or a progress line. Rendered scripts are
//! the user's SQL and stay verbatim; only what dmig prints *about* SQL is
//! masked.
//!
//! Two rules, applied one after the other:
//!
//! 1. Through the lexer: a string literal of any form (`'…'`, `E'…'`,
//!    `U&'…'`, `$$…$$`) that directly follows the word `PASSWORD` becomes
//!    `'********'` (`CREATE|ALTER ROLE|USER|GROUP ... [ENCRYPTED] PASSWORD`,
//!    and `password '…'` in `USER MAPPING` options). Dollar-quoted bodies are
//!    masked the same way inside, so a `DO` block that creates a role is
//!    covered.
//! 2. On the text, for what the lexer cannot see: the value after
//!    `password=` or `password:` (conninfo strings such as
//!    `CREATE SUBSCRIPTION ... CONNECTION 'host=db password=x'`), and a quoted
//!    value after `password ` anywhere (SQL inside a string, `EXECUTE 'CREATE
//!    ROLE x PASSWORD ''x'''`, or a log line that does not lex).
//!
//! Masking errs on the side of hiding: a literal after a column named
//! `password` is masked too, which costs nothing in a report.

use std::borrow::Cow;
use std::ops::Range;

use super::{Lexer, TokenKind};

/// What a masked value is replaced with.
const MASK: &str = "********";

/// Shorter values found by the text rule are not searched for in server
/// messages ([`redact`]): replacing every `a` would garble them.
const MIN_SEARCHED: usize = 4;

/// `sql` with every password literal masked (see the module docs).
///
/// # Examples
///
/// ```
/// use dmig::sql::mask::mask_passwords;
/// assert_eq!(
///     mask_passwords("CREATE ROLE app LOGIN PASSWORD 'hunter2' VALID UNTIL 'infinity'"),
///     "CREATE ROLE app LOGIN PASSWORD '********' VALID UNTIL 'infinity'"
/// );
/// assert_eq!(mask_passwords("SELECT 1"), "SELECT 1");
/// ```
pub fn mask_passwords(sql: &str) -> Cow<'_, str> {
    let tokens = mask_tokens(sql);
    match mask_text(&tokens) {
        Cow::Borrowed(_) => tokens,
        Cow::Owned(text) => Cow::Owned(text),
    }
}

/// `message` (PostgreSQL's words about `statement`) with every password of
/// `statement` masked, in case the server quoted it (`syntax error at or near
/// "'hunter2'"`), and with the text rule applied to the message itself.
pub fn redact<'m>(message: &'m str, statement: &str) -> Cow<'m, str> {
    let mut out = Cow::Borrowed(message);
    for secret in secrets(statement) {
        if out.contains(secret) {
            out = Cow::Owned(out.replace(secret, MASK));
        }
    }
    match mask_text(&out) {
        Cow::Borrowed(_) => out,
        Cow::Owned(text) => Cow::Owned(text),
    }
}

/// The texts [`mask_passwords`] hides in `sql`: whole literals found by the
/// lexer, values found by the text rule (when long enough to search for).
fn secrets(sql: &str) -> Vec<&str> {
    let mut ranges = Vec::new();
    password_literals(sql, 0, &mut ranges);
    ranges.extend(
        text_spans(sql)
            .into_iter()
            .filter(|r| r.len() >= MIN_SEARCHED),
    );
    let mut found: Vec<&str> = ranges.into_iter().map(|range| &sql[range]).collect();
    // Longest first, so a literal goes before a value inside it.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

/// Rule 1: literals after the word `PASSWORD`, through the lexer.
fn mask_tokens(sql: &str) -> Cow<'_, str> {
    let mut ranges = Vec::new();
    password_literals(sql, 0, &mut ranges);
    if ranges.is_empty() {
        return Cow::Borrowed(sql);
    }
    let quoted = format!("'{MASK}'");
    splice(
        sql,
        ranges
            .into_iter()
            .map(|range| (range, quoted.clone()))
            .collect(),
    )
}

/// Push the byte range (offset by `base`) of each literal of `sql` that
/// follows the word `PASSWORD`, looking into dollar-quoted bodies too
/// (`DO $$ ... CREATE ROLE ... PASSWORD '...' ... $$`). Text that does not
/// lex yields what was found before the error; rule 2 covers the rest.
fn password_literals(sql: &str, base: usize, found: &mut Vec<Range<usize>>) {
    let mut lexer = Lexer::new(sql);
    let mut after_password = false;
    while let Ok(Some(token)) = lexer.next_token() {
        let text = &sql[token.start..token.end];
        let literal = matches!(token.kind, TokenKind::String | TokenKind::DollarString);
        if literal && after_password {
            found.push(base + token.start..base + token.end);
        } else if token.kind == TokenKind::DollarString {
            // `$tag$` is the text up to its second `$`.
            let tag = text[1..].find('$').map_or(text.len(), |at| at + 2);
            if text.len() >= 2 * tag {
                let body = &text[tag..text.len() - tag];
                password_literals(body, base + token.start + tag, found);
            }
        }
        after_password = token.kind == TokenKind::Word && text.eq_ignore_ascii_case("password");
    }
}

/// Rule 2: values after `password=`, `password:` or `password '`, on the
/// text, whatever it is.
fn mask_text(text: &str) -> Cow<'_, str> {
    let spans: Vec<(Range<usize>, String)> = text_spans(text)
        .into_iter()
        .map(|range| (range, MASK.to_owned()))
        .collect();
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    splice(text, spans)
}

/// The byte ranges of the values rule 2 masks (without their quotes).
fn text_spans(text: &str) -> Vec<Range<usize>> {
    const WORD: &[u8] = b"password";
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(at) = find_ignore_case(b, from, WORD) {
        from = at + WORD.len();
        // `passwords`, `mypassword`: not the word.
        let before = at.checked_sub(1).map(|i| b[i]);
        if before.is_some_and(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let mut i = from;
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let assigned = matches!(b.get(i), Some(b'=' | b':'));
        if assigned {
            i += 1;
            while b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
                i += 1;
            }
        }
        if let Some(range) = value_at(b, i, assigned) {
            from = range.end;
            spans.push(range);
        }
    }
    spans
}

/// The value starting at `i`: quoted (`'x'`, `''x''` inside a literal,
/// `E'x'`, `$$x$$`, `"x"`), or, after `=`/`:`, a bare run up to whitespace
/// or a delimiter.
fn value_at(b: &[u8], mut i: usize, assigned: bool) -> Option<Range<usize>> {
    if matches!(b.get(i), Some(b'e' | b'E' | b'n' | b'N')) && b.get(i + 1) == Some(&b'\'') {
        i += 1;
    }
    match b.get(i)? {
        b'\'' => {
            // `''x''`: a literal inside a string literal (EXECUTE '... ''x''').
            let quote: &[u8] = if b.get(i + 1) == Some(&b'\'') && b.get(i + 2) != Some(&b'\'') {
                b"''"
            } else {
                b"'"
            };
            let start = i + quote.len();
            let end = find_bytes(b, start, quote).unwrap_or(b.len());
            (end > start).then_some(start..end)
        }
        b'"' => {
            let start = i + 1;
            let end = find_bytes(b, start, b"\"").unwrap_or(b.len());
            (end > start).then_some(start..end)
        }
        b'$' => {
            let tag_end = find_bytes(b, i + 1, b"$")?;
            let tag = &b[i..=tag_end];
            if !tag[1..tag.len() - 1]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                return None;
            }
            let start = tag_end + 1;
            let end = find_bytes(b, start, tag).unwrap_or(b.len());
            (end > start).then_some(start..end)
        }
        _ if assigned => {
            let end = (i..b.len())
                .find(|&j| {
                    b[j].is_ascii_whitespace() || matches!(b[j], b'\'' | b'"' | b';' | b',' | b')')
                })
                .unwrap_or(b.len());
            (end > i).then_some(i..end)
        }
        _ => None,
    }
}

fn find_ignore_case(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|at| from + at)
}

fn find_bytes(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| from + at)
}

/// `text` with each range replaced; ranges are sorted and never overlap
/// (both rules move past what they mask).
fn splice(text: &str, mut spans: Vec<(Range<usize>, String)>) -> Cow<'_, str> {
    spans.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in spans {
        if range.start < at
            || !text.is_char_boundary(range.start)
            || !text.is_char_boundary(range.end)
        {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(sql: &str) -> String {
        mask_passwords(sql).into_owned()
    }

    #[test]
    fn role_passwords_in_every_literal_form() {
        for sql in [
            "CREATE ROLE x LOGIN PASSWORD 'hunter2'",
            "CREATE USER x WITH ENCRYPTED PASSWORD 'hunter2' VALID UNTIL 'infinity'",
            "ALTER ROLE x WITH PASSWORD E'hun\\'ter2'",
            "ALTER USER x PASSWORD $$hunter2$$",
            "ALTER GROUP x PASSWORD $pw$hunter 2$pw$",
            "CREATE ROLE x PASSWORD U&'hunter2'",
            "create role x password\n  'it''s hunter2'",
            "CREATE ROLE x PASSWORD /* c */ 'hunter2'",
            "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'hunter2')",
            "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'hunter2')",
        ] {
            let out = masked(sql);
            assert!(
                !out.contains("hunter") && !out.contains("ter2"),
                "{sql} -> {out}"
            );
            assert!(out.contains(MASK), "{sql} -> {out}");
        }
        assert_eq!(
            masked("CREATE USER x WITH ENCRYPTED PASSWORD 'hunter2' VALID UNTIL 'infinity'"),
            "CREATE USER x WITH ENCRYPTED PASSWORD '********' VALID UNTIL 'infinity'"
        );
    }

    #[test]
    fn passwords_inside_bodies_and_strings() {
        for sql in [
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN CREATE ROLE app PASSWORD 'hunter2'; END IF; END $$",
            "DO $body$ BEGIN EXECUTE 'CREATE ROLE app PASSWORD ''hunter2'''; END $body$",
            "EXECUTE format('CREATE ROLE app PASSWORD %L', 'x') -- password: hunter2",
            "CREATE SUBSCRIPTION s CONNECTION 'host=db user=u password=hunter2 dbname=d' PUBLICATION p",
            "SELECT dblink_connect('host=db password = hunter2')",
            "DO $$ BEGIN CREATE ROLE app PASSWORD 'hunter2'; END",
        ] {
            let out = masked(sql);
            assert!(!out.contains("hunter2"), "{sql} -> {out}");
        }
        assert_eq!(
            masked("CREATE SUBSCRIPTION s CONNECTION 'host=db password=hunter2 dbname=d' PUBLICATION p"),
            "CREATE SUBSCRIPTION s CONNECTION 'host=db password=******** dbname=d' PUBLICATION p"
        );
    }

    #[test]
    fn statements_without_passwords_are_unchanged() {
        for sql in [
            "SELECT 1",
            "CREATE TABLE users (password text NOT NULL)",
            "UPDATE users SET password_hash = crypt(p, gen_salt('bf'))",
            "ALTER ROLE x PASSWORD NULL",
            "COMMENT ON COLUMN users.password IS NULL",
            "INSERT INTO t (passwords) VALUES ('x')",
            "-- the password authentication failed",
        ] {
            assert!(matches!(mask_passwords(sql), Cow::Borrowed(_)), "{sql}");
        }
    }

    #[test]
    fn text_that_does_not_lex_is_still_masked() {
        let line = "DEBUG executing statement batch: it's CREATE ROLE x PASSWORD 'hunter2'";
        assert!(!masked(line).contains("hunter2"), "{}", masked(line));
        assert!(!masked("PASSWORD 'hunter2").contains("hunter2"));
    }

    #[test]
    fn server_messages_about_a_statement_are_redacted() {
        let statement = "CREATE ROLE x PASSWORD 'hunter2' NOPE";
        let message = "syntax error at or near \"'hunter2'\"";
        assert_eq!(
            redact(message, statement),
            "syntax error at or near \"********\""
        );
        let message = "role \"x\" already exists";
        assert!(matches!(redact(message, statement), Cow::Borrowed(_)));
        // A short value found by the text rule is not searched for.
        assert_eq!(redact("a b c", "SELECT 'password=a'"), "a b c");
    }
}
