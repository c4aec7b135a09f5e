//! A small PostgreSQL lexer: where statements end, how a file ends, and where an
//! error position points.
//!
//! dmig needs three answers about a migration file without parsing SQL:
//!
//! - [`split`]: its top-level statements, so a non-transactional revision can run
//!   them one by one in autocommit (two `CREATE INDEX CONCURRENTLY` in one file
//!   must not share an implicit transaction).
//! - [`tail`]: whether it ends without `;` or inside a `--` comment, so files can
//!   be concatenated into one script for psql without gluing statements together.
//! - [`line_col`]: the line and column in the file for the character position
//!   that PostgreSQL reports within the statement it was sent.
//!
//! Statement boundaries follow psql (`src/fe_utils/psqlscan.l`), because a
//! rendered script is run by psql and the online path must agree with it:
//!
//! - quotes: `'…'` with `''`, `E'…'` with backslash escapes, `B'…'`, `X'…'`,
//!   `N'…'`, `U&'…'`, `"…"` and `U&"…"` with `""`, and `$tag$…$tag$`
//!   (standard_conforming_strings is assumed on);
//! - comments: `--` to the end of the line and nesting `/* … */`;
//! - a `;` inside parentheses does not end a statement;
//! - in `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, a `;` between `BEGIN` and its
//!   `END` does not end a statement (SQL-standard bodies, `BEGIN ATOMIC … END`).
//!
//! psql reads a file line by line, so a string literal never continues onto the
//! next line the way the server's `'a'\n'b'` continuation does; this lexer does
//! not continue them either, except where psql does: across a carriage return
//! (see [`continuation`]). psql meta-commands (`\…`) and `:variables` are not
//! interpreted: migration files are plain SQL, and [`check`] finds a
//! meta-command so that both modes refuse it.
//!
//! The lexer makes one pass over the bytes and allocates nothing per token: every
//! byte that matters is ASCII, and UTF-8 continuation bytes never look like one.
//!
//! Two modules read statements through the same lexer: [`check`] (what a
//! statement does that decides where it may run: transaction control,
//! statements refused in a transaction block, `COPY` to or from the client,
//! psql meta-commands) and [`mask`] (passwords out of what dmig prints).

pub mod check;
mod lexer;
pub mod mask;

pub(crate) use lexer::{line_of, Lexer, TokenKind};

/// One top-level statement of a SQL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The source text from the first significant character (comments and
    /// whitespace before it are left out) through the terminating `;`, or through
    /// the last significant token when the statement is the last one and has no
    /// `;`. A trailing comment is never included, so `;` can be appended safely.
    pub text: &'a str,
    /// Byte offset of `text` in the file, for [`line_col`].
    pub offset: usize,
}

/// How a SQL file ends, for concatenating it safely into a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tail {
    /// The last statement is not terminated by `;`.
    pub needs_semicolon: bool,
    /// The file ends inside a `--` comment with no newline after it, so anything
    /// appended on the same line would be commented out.
    pub ends_in_line_comment: bool,
    /// The file holds no statement: it is empty or holds only whitespace,
    /// comments and bare `;`.
    pub is_empty: bool,
}

/// A SQL file that psql would not split into complete statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LexError {
    /// A string literal, quoted identifier or block comment that is never closed.
    #[error("unterminated {kind} starting at line {line}")]
    UnterminatedQuote {
        /// 1-based line of the opening quote or `/*`.
        line: usize,
        /// `"string literal"`, `"quoted identifier"` or `"block comment"`.
        kind: &'static str,
    },
    /// A `$tag$` string that is never closed.
    #[error("unterminated dollar-quoted string {tag} starting at line {line}")]
    UnterminatedDollarQuote {
        /// 1-based line of the opening delimiter.
        line: usize,
        /// The delimiter, dollars included (`$body$`, `$$`).
        tag: String,
    },
    /// A `(` still open at the end of the file: psql would glue whatever follows
    /// the file onto its last statement.
    #[error("unclosed parenthesis starting at line {line}")]
    UnclosedParenthesis {
        /// 1-based line of the outermost unclosed `(`.
        line: usize,
    },
    /// A `BEGIN` in `CREATE FUNCTION`/`CREATE PROCEDURE` without its `END` at the
    /// end of the file.
    #[error(
        "unclosed BEGIN block starting at line {line} (psql does not end a CREATE \
         FUNCTION or PROCEDURE statement at `;` between BEGIN and its END)"
    )]
    UnclosedBegin {
        /// 1-based line of the outermost unclosed `BEGIN`.
        line: usize,
    },
}

/// Split a SQL file into its top-level statements, as `psql -f` would send them.
///
/// Statements with nothing but whitespace, comments or a bare `;` are left out.
///
/// # Examples
///
/// ```
/// let sql = "CREATE INDEX CONCURRENTLY a ON t (x);\n\
///            CREATE INDEX CONCURRENTLY b ON t (y) -- no semicolon";
/// let statements = dmig::sql::split(sql).unwrap();
/// assert_eq!(statements.len(), 2);
/// assert_eq!(statements[1].text, "CREATE INDEX CONCURRENTLY b ON t (y)");
/// ```
pub fn split(sql: &str) -> Result<Vec<Statement<'_>>, LexError> {
    let mut statements = Vec::new();
    scan(sql, |start, end, _| {
        statements.push(Statement {
            text: &sql[start..end],
            offset: start,
        });
    })?;
    Ok(statements)
}

/// The statements of `sql` up to where it stops lexing (all of them when it
/// lexes): what psql would have sent before the error.
pub(crate) fn split_prefix(sql: &str) -> Vec<Statement<'_>> {
    let mut statements = Vec::new();
    // The error is the caller's to report; only what came before it matters here.
    let _ = scan(sql, |start, end, _| {
        statements.push(Statement {
            text: &sql[start..end],
            offset: start,
        });
    });
    statements
}

/// Describe how a SQL file ends, so it can be followed by other SQL in a script.
///
/// # Examples
///
/// ```
/// let tail = dmig::sql::tail("SELECT 1 -- done").unwrap();
/// assert!(tail.needs_semicolon && tail.ends_in_line_comment && !tail.is_empty);
/// ```
pub fn tail(sql: &str) -> Result<Tail, LexError> {
    let mut last_terminated = None;
    let ends_in_line_comment = scan(sql, |_, _, terminated| {
        last_terminated = Some(terminated);
    })?;
    Ok(Tail {
        needs_semicolon: last_terminated == Some(false),
        ends_in_line_comment,
        is_empty: last_terminated.is_none(),
    })
}

/// `sql` made safe to follow with more SQL: trailing whitespace dropped, a
/// missing final `;` added, and a trailing `--` comment ended with a newline,
/// so the next line cannot be swallowed. Text that does not lex (an
/// unterminated quote) is terminated all the same: the server will say what
/// is wrong with it.
///
/// # Examples
///
/// ```
/// assert_eq!(dmig::sql::terminated("SELECT 1 -- done"), "SELECT 1 -- done\n;");
/// assert_eq!(dmig::sql::terminated("SELECT 1;\n\n"), "SELECT 1;");
/// ```
pub fn terminated(sql: &str) -> std::borrow::Cow<'_, str> {
    let body = sql.trim_end();
    let tail = tail(body).unwrap_or(Tail {
        needs_semicolon: true,
        ends_in_line_comment: true,
        is_empty: false,
    });
    finish(body, tail)
}

/// [`terminated`], or the lexer's error when `sql` does not lex: what goes
/// inside a psql `\if` branch must leave psql's lexer where it found it, or
/// an open quote or comment would swallow the `\endif`.
///
/// # Examples
///
/// ```
/// assert_eq!(dmig::sql::try_terminated("SELECT 1").unwrap(), "SELECT 1;");
/// assert!(dmig::sql::try_terminated("SELECT 1 /* open").is_err());
/// ```
pub fn try_terminated(sql: &str) -> Result<std::borrow::Cow<'_, str>, LexError> {
    let body = sql.trim_end();
    Ok(finish(body, tail(body)?))
}

fn finish(body: &str, tail: Tail) -> std::borrow::Cow<'_, str> {
    match (tail.needs_semicolon, tail.ends_in_line_comment) {
        (true, true) => format!("{body}\n;").into(),
        (true, false) => format!("{body};").into(),
        (false, _) => body.into(),
    }
}

/// Convert PostgreSQL's 1-based character position within a statement that starts
/// at byte `offset` of `file` into a 1-based `(line, column)` in `file`.
///
/// The column counts characters, not bytes. A position past the end of the file
/// maps to just after its last character.
///
/// # Examples
///
/// ```
/// let file = "-- é\nSELECT 1;\nSELEC 2;";
/// let second = &dmig::sql::split(file).unwrap()[1];
/// assert_eq!(dmig::sql::line_col(file, second.offset, 1), (3, 1));
/// ```
pub fn line_col(file: &str, offset: usize, char_position: usize) -> (usize, usize) {
    let mut offset = offset.min(file.len());
    while !file.is_char_boundary(offset) {
        offset -= 1;
    }
    let target = file[offset..]
        .char_indices()
        .nth(char_position.saturating_sub(1))
        .map_or(file.len(), |(at, _)| offset + at);
    let before = &file[..target];
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, file[line_start..target].chars().count() + 1)
}

/// Walk `sql` once, calling `emit(start, end, terminated)` for each statement
/// that has significant content, and return whether the input ends inside a
/// `--` comment.
fn scan(sql: &str, mut emit: impl FnMut(usize, usize, bool)) -> Result<bool, LexError> {
    let b = sql.as_bytes();
    let mut lexer = Lexer::new(sql);
    // First byte and end of the last significant token of the current statement.
    let mut start = None;
    let mut end = 0;
    let mut parens = 0usize;
    let mut paren_opened_at = 0;
    let mut routine = RoutineTracker::default();

    while let Some(token) = lexer.next_token()? {
        match (token.kind, b[token.start]) {
            (TokenKind::Word, _) => {
                routine.identifier(&b[token.start..token.end], token.start, parens == 0);
            }
            (TokenKind::Other, b'(') => {
                if parens == 0 {
                    paren_opened_at = token.start;
                }
                parens += 1;
            }
            (TokenKind::Other, b')') => parens = parens.saturating_sub(1),
            (TokenKind::Other, b';') if parens == 0 && routine.depth == 0 => {
                if let Some(first) = start.take() {
                    emit(first, token.end, true);
                }
                routine.reset();
                continue;
            }
            _ => {}
        }
        start.get_or_insert(token.start);
        end = token.end;
    }

    // psql would send such a statement only at the end of the whole script,
    // with the next files glued on.
    if parens > 0 {
        return Err(LexError::UnclosedParenthesis {
            line: line_of(b, paren_opened_at),
        });
    }
    if routine.depth > 0 {
        return Err(LexError::UnclosedBegin {
            line: line_of(b, routine.opened_at),
        });
    }
    if let Some(first) = start {
        emit(first, end, false);
    }
    Ok(lexer.ends_in_line_comment)
}

/// psql's heuristic for SQL-standard routine bodies: in a statement whose first
/// identifiers are `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, count `BEGIN`/`CASE`
/// against `END` outside parentheses and don't end the statement while inside.
#[derive(Default)]
struct RoutineTracker {
    /// Unquoted identifiers seen in the current statement.
    count: usize,
    /// First letters of the leading identifiers that are one of the keywords.
    leading: [u8; 4],
    depth: usize,
    opened_at: usize,
}

impl RoutineTracker {
    fn identifier(&mut self, word: &[u8], at: usize, top_level: bool) {
        if self.count == 0 {
            self.leading = [0; 4];
        }
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword.as_bytes());
        if self.count < self.leading.len()
            && ["create", "function", "procedure", "or", "replace"]
                .iter()
                .any(|keyword| is(keyword))
        {
            self.leading[self.count] = word[0].to_ascii_lowercase();
        }
        self.count += 1;

        let in_routine = matches!(
            self.leading,
            [b'c', b'f' | b'p', _, _] | [b'c', b'o', b'r', b'f' | b'p']
        );
        if !in_routine || !top_level {
            return;
        }
        if is("begin") {
            if self.depth == 0 {
                self.opened_at = at;
            }
            self.depth += 1;
        } else if is("case") {
            // CASE also closes with END, but only matters inside a BEGIN.
            if self.depth > 0 {
                self.depth += 1;
            }
        } else if is("end") {
            self.depth = self.depth.saturating_sub(1);
        }
    }

    fn reset(&mut self) {
        self.count = 0;
        self.depth = 0;
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).unwrap().into_iter().map(|s| s.text).collect()
    }

    fn tail_of(sql: &str) -> (bool, bool, bool) {
        let t = tail(sql).unwrap();
        (t.needs_semicolon, t.ends_in_line_comment, t.is_empty)
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        assert_eq!(texts("SELECT 1;\nSELECT 2;\n"), ["SELECT 1;", "SELECT 2;"]);
    }

    #[test]
    fn splits_two_create_index_concurrently() {
        let sql = "CREATE INDEX CONCURRENTLY users_email ON users (email);\n\
                   CREATE INDEX CONCURRENTLY users_name ON users (name);\n";
        assert_eq!(
            texts(sql),
            [
                "CREATE INDEX CONCURRENTLY users_email ON users (email);",
                "CREATE INDEX CONCURRENTLY users_name ON users (name);"
            ]
        );
    }

    #[test]
    fn statement_offset_points_at_its_text() {
        let sql = "-- leading\n  /* c */ SELECT 1 ;  SELECT 2";
        for s in split(sql).unwrap() {
            assert_eq!(&sql[s.offset..s.offset + s.text.len()], s.text);
        }
        assert_eq!(texts(sql), ["SELECT 1 ;", "SELECT 2"]);
    }

    #[test]
    fn last_statement_without_semicolon_is_kept() {
        assert_eq!(texts("SELECT 1;\nSELECT 2\n"), ["SELECT 1;", "SELECT 2"]);
        assert_eq!(tail_of("SELECT 1;\nSELECT 2\n"), (true, false, false));
        assert_eq!(tail_of("SELECT 1;\n"), (false, false, false));
    }

    #[test]
    fn trailing_line_comment_without_newline() {
        let sql = "SELECT 1; -- done";
        assert_eq!(texts(sql), ["SELECT 1;"]);
        assert_eq!(tail_of(sql), (false, true, false));
        assert_eq!(tail_of("SELECT 1 -- done"), (true, true, false));
        assert_eq!(texts("SELECT 1 -- done"), ["SELECT 1"]);
        assert_eq!(tail_of("SELECT 1; -- done\n"), (false, false, false));
    }

    #[test]
    fn line_comment_ends_at_carriage_return() {
        assert_eq!(texts("-- a\rSELECT 1;\r\n"), ["SELECT 1;"]);
        assert_eq!(tail_of("SELECT 1; -- a\r"), (false, false, false));
    }

    #[test]
    fn semicolon_inside_line_comment_does_not_split() {
        assert_eq!(texts("SELECT 1 -- ; 'x\n, 2;"), ["SELECT 1 -- ; 'x\n, 2;"]);
    }

    #[test]
    fn dollar_body_ending_in_end_dollar_then_eof() {
        let sql = "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                   BEGIN\n  RETURN NEW;\nEND $$";
        assert_eq!(texts(sql), [sql]);
        assert_eq!(tail_of(sql), (true, false, false));
    }

    #[test]
    fn tagged_dollar_body_may_contain_dollar_dollar_and_semicolons() {
        let sql = "CREATE FUNCTION f() RETURNS text AS $BODY$\n\
                   BEGIN RETURN $$x;y$$; END;\n$BODY$ LANGUAGE plpgsql;\nSELECT 1;";
        let statements = texts(sql);
        assert_eq!(statements.len(), 2);
        assert!(statements[0].ends_with("$BODY$ LANGUAGE plpgsql;"));
    }

    #[test]
    fn dollar_tag_must_match_exactly() {
        let sql = "SELECT $a$ $ab$ $b$ ; $A$ $a$; SELECT 2;";
        assert_eq!(texts(sql), ["SELECT $a$ $ab$ $b$ ; $A$ $a$;", "SELECT 2;"]);
    }

    #[test]
    fn dollar_tags_may_be_non_ascii_and_hold_digits() {
        let sql = "SELECT $é1$;$é1$; SELECT 2;";
        assert_eq!(texts(sql), ["SELECT $é1$;$é1$;", "SELECT 2;"]);
    }

    #[test]
    fn dollar_digit_is_a_parameter_not_a_tag() {
        assert_eq!(texts("SELECT $1;SELECT $2;"), ["SELECT $1;", "SELECT $2;"]);
        // psql: `$1` then `$a$…$a$`.
        assert_eq!(texts("SELECT $1$a$;$a$;"), ["SELECT $1$a$;$a$;"]);
    }

    #[test]
    fn identifier_absorbs_dollar_signs() {
        assert_eq!(
            texts("SELECT 1 AS foo$bar$; SELECT 2 AS \"$bar$\";"),
            ["SELECT 1 AS foo$bar$;", "SELECT 2 AS \"$bar$\";"]
        );
    }

    #[test]
    fn dollar_after_digit_opens_a_quote_as_in_psql() {
        assert_eq!(
            texts("SELECT 1$$;$$; SELECT 2;"),
            ["SELECT 1$$;$$;", "SELECT 2;"]
        );
    }

    #[test]
    fn lone_dollar_is_an_ordinary_byte() {
        assert_eq!(
            texts("SELECT $ ; SELECT $x ;"),
            ["SELECT $ ;", "SELECT $x ;"]
        );
        assert_eq!(texts("SELECT 1 $"), ["SELECT 1 $"]);
    }

    #[test]
    fn dollar_sign_inside_string_is_not_a_tag() {
        let sql = "INSERT INTO users (password) VALUES \
                   ('$pbkdf2-sha512$25000$c2FsdA$aGFzaA');\nSELECT 2;";
        assert_eq!(split(sql).unwrap().len(), 2);
        assert_eq!(split("SELECT '$$';SELECT '$a$';").unwrap().len(), 2);
    }

    #[test]
    fn doubled_single_quotes_stay_in_the_string() {
        assert_eq!(
            texts("SELECT 'it''s; fine';SELECT '';"),
            ["SELECT 'it''s; fine';", "SELECT '';"]
        );
    }

    #[test]
    fn backslash_is_literal_in_standard_strings() {
        assert_eq!(
            texts(r"SELECT 'C:\';SELECT 2;"),
            [r"SELECT 'C:\';", "SELECT 2;"]
        );
    }

    #[test]
    fn escape_string_backslash_quote_is_complete() {
        assert_eq!(
            texts(r"SELECT E'\'';SELECT 2;"),
            [r"SELECT E'\'';", "SELECT 2;"]
        );
        assert_eq!(
            texts(r"SELECT e'a\\';SELECT 2;"),
            [r"SELECT e'a\\';", "SELECT 2;"]
        );
        assert_eq!(texts(r"SELECT E'it''s\n;';SELECT 2;").len(), 2);
    }

    #[test]
    fn escape_prefix_only_at_token_start() {
        // `somee'…'` is identifier `somee` then a standard string.
        assert_eq!(
            texts(r"SELECT somee'\';SELECT 2;"),
            [r"SELECT somee'\';", "SELECT 2;"]
        );
    }

    #[test]
    fn string_continuation_is_not_applied_like_psql() {
        // psql lexes line by line, so the second line starts a standard string.
        assert_eq!(
            texts("SELECT E'a'\n'b\\';\nSELECT ';';"),
            ["SELECT E'a'\n'b\\';", "SELECT ';';"]
        );
    }

    #[test]
    fn escape_string_continues_across_a_carriage_return_like_psql() {
        // psql joins `E'a'` and `'\';'` when only whitespace holding a CR lies
        // between them within a line, or at the start of the next non-empty
        // line; the `\'` then escapes the quote.
        for sql in [
            "SELECT E'a'\r'\\';'; SELECT 2;",
            "SELECT E'a'\n\r'\\';'; SELECT 2;",
            "SELECT E'a'\n\n\r'\\';'; SELECT 2;",
            "SELECT E'a' -- c\r'\\';'; SELECT 2;",
            "SELECT E'a'\n \r'\\';'; SELECT 2;",
            "SELECT E'a'\r -- c\r '\\';'; SELECT 2;",
            "SELECT E'a'\r\r \t'\\';'; SELECT 2;",
            "SELECT E'a'\n-- c\r'\\';'; SELECT 2;",
        ] {
            assert_eq!(texts(sql).len(), 2, "{sql:?}");
            assert!(texts(sql)[0].ends_with("';';"), "{sql:?}");
        }
        // A line break inside the gap ends psql's line first: no continuation.
        for sql in [
            "SELECT E'a'\r\n'\\';'; SELECT 2;",
            "SELECT E'a' \n\r'\\';'; SELECT 2;",
            "SELECT E'a'\r--c\n'\\';'; SELECT 2;",
            "SELECT E'a'\r /* c */ '\\';'; SELECT 2;",
        ] {
            assert!(split(sql).is_err(), "{sql:?}");
            assert_eq!(texts(&format!("{sql}'")).len(), 2, "{sql:?}");
        }
        assert_eq!(texts("SELECT E'a'\r'b';"), ["SELECT E'a'\r'b';"]);
        assert!(split("SELECT E'a'\r'").is_err());
    }

    #[test]
    fn prefixed_strings_and_identifiers() {
        let sql = "SELECT B'10;', X'1F;', N'x;', U&'d\\0061;', U&\"a;\"\"b\";SELECT 2;";
        assert_eq!(split(sql).unwrap().len(), 2);
    }

    #[test]
    fn quoted_identifier_with_doubled_quotes() {
        assert_eq!(
            texts("CREATE TABLE \"a\"\";b\" (x int);SELECT 2;"),
            ["CREATE TABLE \"a\"\";b\" (x int);", "SELECT 2;"]
        );
    }

    #[test]
    fn block_comments_nest_and_hide_quotes_and_semicolons() {
        let sql = "SELECT /* outer /* inner ; ' \" $$ */ still ; comment */ 1;\nSELECT 2;";
        assert_eq!(
            texts(sql),
            [
                "SELECT /* outer /* inner ; ' \" $$ */ still ; comment */ 1;",
                "SELECT 2;"
            ]
        );
        assert_eq!(
            texts("SELECT 1 /**/;SELECT /*/ ; */ 2;"),
            ["SELECT 1 /**/;", "SELECT /*/ ; */ 2;"]
        );
        assert_eq!(texts("SELECT 1 /* a **/;"), ["SELECT 1 /* a **/;"]);
    }

    #[test]
    fn semicolon_inside_parentheses_does_not_split() {
        assert_eq!(
            texts("SELECT (1;\n2);SELECT 3;"),
            ["SELECT (1;\n2);", "SELECT 3;"]
        );
        // An extra `)` does not make the depth negative.
        assert_eq!(
            texts("SELECT 1);SELECT (2);"),
            ["SELECT 1);", "SELECT (2);"]
        );
    }

    #[test]
    fn begin_atomic_body_is_one_statement() {
        let sql = "CREATE PROCEDURE p(a int)\nLANGUAGE SQL\nBEGIN ATOMIC\n  \
                   INSERT INTO t VALUES (a);\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND;\n\
                   SELECT 1;";
        let statements = texts(sql);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(statements[0].ends_with("END;"));
        let replace = "create or replace function f() returns int language sql \
                       begin atomic select 1; end; select 2;";
        assert_eq!(texts(replace).len(), 2);
    }

    #[test]
    fn begin_outside_routines_is_a_transaction() {
        assert_eq!(
            texts("BEGIN;\nSELECT 1;\nEND;"),
            ["BEGIN;", "SELECT 1;", "END;"]
        );
        let sql = "CREATE TABLE t (begin int);\nCREATE FUNCTION f() RETURNS int AS $$ begin end $$ LANGUAGE plpgsql;SELECT 1;";
        assert_eq!(texts(sql).len(), 3);
    }

    #[test]
    fn begin_inside_parentheses_is_ignored() {
        let sql = "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN 1; SELECT 2;";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn unclosed_begin_is_an_error() {
        // psql glues everything after this onto the statement.
        let sql =
            "SELECT 1;\nCREATE FUNCTION begin() RETURNS int AS 'select 1' LANGUAGE sql;\nSELECT 2;";
        assert_eq!(split(sql), Err(LexError::UnclosedBegin { line: 2 }));
        assert!(tail(sql).is_err());
    }

    #[test]
    fn unclosed_parenthesis_is_an_error() {
        let err = split("SELECT 1;\nSELECT (1;\n").unwrap_err();
        assert_eq!(err, LexError::UnclosedParenthesis { line: 2 });
        assert_eq!(err.to_string(), "unclosed parenthesis starting at line 2");
    }

    #[test]
    fn empty_and_comment_only_inputs() {
        for sql in [
            "",
            "  \n\t",
            "-- only\n",
            "-- only",
            "/* a */\n-- b\n",
            ";;\n;",
        ] {
            assert!(split(sql).unwrap().is_empty(), "{sql:?}");
            let t = tail(sql).unwrap();
            assert!(t.is_empty && !t.needs_semicolon, "{sql:?}");
        }
        assert!(tail("-- only").unwrap().ends_in_line_comment);
        assert_eq!(texts("SELECT 1;;\n;SELECT 2;"), ["SELECT 1;", "SELECT 2;"]);
    }

    #[test]
    fn unterminated_quotes_name_kind_and_line() {
        let cases: [(&str, LexError); 6] = [
            (
                "SELECT 1;\nSELECT 'abc",
                unterminated_err(2, "string literal"),
            ),
            ("SELECT E'abc\\'", unterminated_err(1, "string literal")),
            ("\n\nSELECT \"abc", unterminated_err(3, "quoted identifier")),
            (
                "SELECT 1 /* a /* b */",
                unterminated_err(1, "block comment"),
            ),
            ("SELECT B'01", unterminated_err(1, "string literal")),
            ("SELECT U&\"x", unterminated_err(1, "quoted identifier")),
        ];
        for (sql, expected) in cases {
            assert_eq!(split(sql), Err(expected.clone()), "{sql:?}");
            assert_eq!(tail(sql), Err(expected), "{sql:?}");
        }
    }

    fn unterminated_err(line: usize, kind: &'static str) -> LexError {
        LexError::UnterminatedQuote { line, kind }
    }

    #[test]
    fn unterminated_dollar_quote_names_its_tag() {
        let sql = "SELECT 1;\n\nCREATE FUNCTION f() AS $body$\nBEGIN\n$$;\n";
        let err = split(sql).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unterminated dollar-quoted string $body$ starting at line 3"
        );
        assert_eq!(
            split("SELECT $$ x $").unwrap_err().to_string(),
            "unterminated dollar-quoted string $$ starting at line 1"
        );
    }

    #[test]
    fn non_ascii_text_is_lexed_bytewise() {
        let sql = "INSERT INTO t VALUES ('héllo; 世界');\nCREATE TABLE café (ß int);\nSELECT 'ok'";
        assert_eq!(
            texts(sql),
            [
                "INSERT INTO t VALUES ('héllo; 世界');",
                "CREATE TABLE café (ß int);",
                "SELECT 'ok'"
            ]
        );
    }

    #[test]
    fn non_ascii_identifier_before_dollar_is_an_identifier() {
        assert_eq!(texts("SELECT 1 AS é$a$; SELECT 2;").len(), 2);
    }

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = "-- é\nSELECT 1;\nSELECT 'ü', x FROM t;";
        let second = split(file).unwrap()[1];
        // Character 13 of the statement is `x`.
        assert_eq!(second.text.chars().nth(12), Some('x'));
        assert_eq!(line_col(file, second.offset, 13), (3, 13));
        assert_eq!(line_col(file, second.offset, 1), (3, 1));
        assert_eq!(line_col(file, 0, 4), (1, 4));
    }

    #[test]
    fn line_col_crosses_lines_within_a_statement() {
        let file = "SELECT 1;\nSELECT\n  ünknown;";
        let second = split(file).unwrap()[1];
        // `SELECT\n  ` is 9 characters, so the 10th is `ü`.
        assert_eq!(line_col(file, second.offset, 10), (3, 3));
        assert_eq!(line_col(file, second.offset, 11), (3, 4));
    }

    #[test]
    fn line_col_clamps_out_of_range_positions() {
        let file = "SELECT (1\n";
        assert_eq!(line_col(file, 0, 1000), (2, 1));
        assert_eq!(line_col(file, 0, 0), (1, 1));
        assert_eq!(line_col(file, 1000, 1), (2, 1));
        // An offset inside a character backs up to its start.
        assert_eq!(line_col("é", 1, 1), (1, 1));
    }

    #[test]
    fn lexing_is_linear_on_adversarial_dollar_bodies() {
        let tag = format!("${}$", "a".repeat(1000));
        let body = format!("${}", "a".repeat(999)).repeat(2000);
        let sql = format!("SELECT {tag}{body}{tag};");
        assert_eq!(split(&sql).unwrap().len(), 1);
    }

    /// Fixtures whose statement boundaries are compared with psql's.
    const PSQL_FIXTURES: &[&str] = &[
        "CREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON t (y);\n",
        "SELECT 1;\nSELECT 2\n",
        "SELECT 1;\nSELECT 2 -- trailing",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN NEW;\nEND $$",
        "CREATE FUNCTION f() RETURNS text AS $BODY$\nBEGIN RETURN $$x;y$$; END;\n$BODY$ LANGUAGE plpgsql;\nSELECT 1;",
        "SELECT /* a /* b ; ' \" */ c ; */ 1;\nSELECT 2;",
        "SELECT E'\\'';\nSELECT e'\\\\';\nSELECT 'C:\\';\nSELECT 2;",
        "INSERT INTO u VALUES ('$pbkdf2-sha512$25000$c2FsdA$aGFzaA');\nSELECT '$$';",
        "SELECT 'héllo; 世界';\nCREATE TABLE café (ß int);\nSELECT $é$;$é$;",
        "SELECT (1;\n2);\nSELECT 3);\nSELECT 4;",
        "CREATE PROCEDURE p(a int) LANGUAGE SQL\nBEGIN ATOMIC\n  INSERT INTO t VALUES (a);\n  \
         SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND;\nSELECT 1;",
        "create or replace function f() returns int language sql begin atomic select 1; end; select 2;",
        "BEGIN;\nSELECT 1;\nEND;\nCREATE TABLE t (begin int);",
        "SELECT 1 AS foo$bar$; SELECT 2 AS \"$bar$\";\nSELECT 1$$;$$;\nSELECT $1$a$;$a$;",
        "PREPARE p AS SELECT $1::int; SELECT $ ; SELECT $x ;",
        "SELECT B'10;', X'1F;', N'x;', U&'d\\0061;', U&\"a;\"\"b\";\nSELECT 'it''s;';",
        "CREATE TABLE \"a\"\";b\" (x int);\r\nSELECT 2;\r\n-- c\rSELECT 3;\r\n",
        "SELECT 1 -- ; 'x\n, 2;\nSELECT somee'\\';\nSELECT 3;",
        "SELECT E'a'\n'b\\';\nSELECT ';';",
        "SELECT E'a'\r'\\';';\nSELECT E'b'\n\n\r'\\';';\nSELECT E'c'\r\n'\\';\nSELECT ';';",
        "-- only a comment\n",
        "SELECT 1;;\n;SELECT 2;",
    ];

    /// Run `sql` through `psql -f` inside a rolled-back transaction and return the
    /// queries psql sent, read from its `--log-file`.
    fn psql_queries(url: &str, sql: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fixture.sql");
        let log = dir.path().join("psql.log");
        std::fs::write(&file, sql).unwrap();
        let output = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=0", "-c", "BEGIN", "-f"])
            .arg(&file)
            .args(["-c", "ROLLBACK", "-L"])
            .arg(&log)
            .arg(url)
            .output()
            .expect("psql runs");
        assert!(output.status.success(), "{output:?}");
        let log = std::fs::read_to_string(&log).unwrap();
        let mut queries: Vec<String> = log
            .split("********* QUERY **********\n")
            .skip(1)
            .map(|entry| {
                let end = entry.find("\n**************************\n").unwrap();
                entry[..end].to_owned()
            })
            .collect();
        assert_eq!(queries.first().map(String::as_str), Some("BEGIN"));
        assert_eq!(queries.last().map(String::as_str), Some("ROLLBACK"));
        queries.pop();
        queries.remove(0);
        queries
    }

    #[test]
    fn split_matches_psql() {
        let Ok(url) = std::env::var("DMIG_TEST_DATABASE_URL") else {
            eprintln!("skipping split_matches_psql: DMIG_TEST_DATABASE_URL is not set");
            return;
        };
        for sql in PSQL_FIXTURES {
            let ours = split(sql).unwrap();
            // psql also sends a bare `;` and a leftover block comment, which we skip.
            let sent: Vec<String> = psql_queries(&url, sql)
                .into_iter()
                .filter(|q| !tail(q).map(|t| t.is_empty).unwrap_or(false))
                .collect();
            assert_eq!(
                ours.len(),
                sent.len(),
                "fixture {sql:?}\nours: {ours:#?}\npsql: {sent:#?}"
            );
            for (ours, sent) in ours.iter().zip(&sent) {
                // psql drops `--` comments and leading whitespace, so compare the
                // start and whether both end the statement with `;`.
                let head: String = ours.text.chars().take(6).collect();
                assert!(
                    sent.contains(&head),
                    "fixture {sql:?}: {ours:?} vs {sent:?}"
                );
                assert_eq!(
                    ours.text.ends_with(';'),
                    sent.trim_end().ends_with(';'),
                    "fixture {sql:?}: {ours:?} vs {sent:?}"
                );
            }
        }
    }
}
