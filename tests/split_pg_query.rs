//! Differential test of [`dmig::sql::split`] against PostgreSQL's own lexer, the
//! server's `scan.l` as compiled into libpg_query (the `pg_query` crate, a
//! dev-dependency only).
//!
//! For every input, [`check`] compares four splits, as byte ranges from a
//! statement's first significant token through its `;` (or its last token when
//! it has none), comments and whitespace around it left out:
//!
//! - ours, from `dmig::sql::split`;
//! - the *psql model*: the server scanner's tokens (`pg_query::scan_tokens`)
//!   grouped by psql's rules (`psqlscan.l`): `;` ends a statement outside
//!   parentheses (an unmatched `)` is ignored) and outside `BEGIN … END` in
//!   `CREATE [OR REPLACE] FUNCTION|PROCEDURE`. Ours must equal it exactly, so
//!   every lexical decision (quotes, comments, dollar tags, prefixes, non-ASCII)
//!   is checked against the real scanner;
//! - `pg_query::split_with_scanner`, which must equal the *scanner model* (the
//!   same tokens grouped the way `pg_query_split.c` does), and must equal ours
//!   unless one of the [`Quirk`]s below is present;
//! - `pg_query::split_with_parser`, which must equal ours whenever the input
//!   parses (it is the only one that really understands `BEGIN ATOMIC`).
//!
//! Intentional differences from `split_with_scanner` ([`Quirk`]), each asserted:
//!
//! - [`Quirk::RoutineBody`]: it ends a statement at every `;` in a
//!   `BEGIN ATOMIC … END` body; psql (and dmig) keep the routine whole;
//! - [`Quirk::Keywordless`]: it drops a statement holding no keyword (`foo;`);
//!   psql sends it (and the server rejects it);
//! - [`Quirk::UnmatchedClose`]: an unmatched `)` wraps its unsigned depth, so
//!   no `;` ends a statement until a `(` wraps it back; psql ignores the `)`;
//! - [`Quirk::Unclosed`]: a `(` or routine `BEGIN` still open at the end: dmig
//!   rejects the file (psql would glue the next file on), the scanner does not.
//!
//! Lexical differences between psql and the server, where the psql model does
//! not apply, are fixed cases with dmig's expected statements
//! ([`Expect::ServerLexesDifferently`]): the server joins `'a'` newline `'b'`
//! into one literal while psql, reading line by line, joins them only across
//! a CR within a line (which dmig follows, and which the server agrees with);
//! and PostgreSQL 16+ (the scanner here is 18's) treats a vertical tab as
//! whitespace where psql 15 and dmig do not. Only E'' strings can change
//! statement boundaries through such a join.
//!
//! The generated test builds random statement sequences from a grammar of
//! fragments with a small deterministic PRNG; set `DMIG_SPLIT_CASES` and
//! `DMIG_SPLIT_SEED` to run more or other cases.

use std::ops::Range;
use std::sync::Mutex;

use dmig::sql::{self, LexError};
use pg_query::protobuf::{ScanToken, Token};

/// libpg_query redirects the process's stderr around each call: serialize them.
static PG_QUERY: Mutex<()> = Mutex::new(());

type Span = Range<usize>;

/// A difference between psql's splitting (dmig's) and `split_with_scanner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Quirk {
    RoutineBody,
    Keywordless,
    UnmatchedClose,
    Unclosed,
}

/// What [`check`] found out about one input, beyond its assertions.
#[derive(Debug, Default)]
struct Outcome {
    quirks: Vec<Quirk>,
    /// Both lexers rejected it (an unterminated quote or comment).
    rejected: bool,
    /// `split_with_parser` accepted it (and agreed with us).
    parsed: bool,
    statements: usize,
}

/// A scanner token, classified for splitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Comment,
    Semicolon,
    Open,
    Close,
    /// An unquoted identifier or keyword, as psql's `{identifier}`.
    Word {
        keyword: bool,
    },
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    span: (usize, usize),
    kind: Kind,
}

fn tokens(sql: &str) -> Result<Vec<Tok>, String> {
    // pg_query 18.1's scan_tokens builds a slice from a null pointer when there
    // is no token at all (undefined behaviour, which debug builds abort on).
    if sql.bytes().all(|b| b" \t\n\r\x0b\x0c".contains(&b)) {
        return Ok(Vec::new());
    }
    let scanned = {
        let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
        pg_query::scan_tokens(sql).map_err(|e| e.to_string())?
    };
    Ok(scanned.iter().map(|t| classify(sql, t)).collect())
}

fn classify(sql: &str, t: &ScanToken) -> Tok {
    let span = (t.start as usize, t.end as usize);
    let kind = match Token::try_from(t.token) {
        Ok(Token::SqlComment | Token::CComment) => Kind::Comment,
        Ok(Token::Ascii59) => Kind::Semicolon,
        Ok(Token::Ascii40) => Kind::Open,
        Ok(Token::Ascii41) => Kind::Close,
        _ if t.keyword_kind != 0 => Kind::Word { keyword: true },
        // IDENT also covers "quoted" identifiers, which psql does not count.
        Ok(Token::Ident) if !sql[span.0..].starts_with('"') => Kind::Word { keyword: false },
        _ => Kind::Other,
    };
    Tok { span, kind }
}

/// psql's statement boundaries (psqlscan.l) over the server's tokens, the
/// quirks relative to `split_with_scanner` that the input exhibits, and whether
/// something is still open at the end.
fn psql_model(sql: &str, tokens: &[Tok]) -> (Vec<Span>, Vec<Quirk>) {
    let mut spans = Vec::new();
    let mut quirks = Vec::new();
    let mut start = None;
    let mut end = 0;
    let mut has_keyword = false;
    let mut parens = 0usize;
    // psql's routine-body heuristic: identifier_count, identifiers[4], begin_depth.
    let mut count = 0usize;
    let mut leading = [0u8; 4];
    let mut depth = 0usize;
    for t in tokens.iter().filter(|t| t.kind != Kind::Comment) {
        match t.kind {
            Kind::Semicolon if parens == 0 && depth == 0 => {
                if let Some(first) = start.take() {
                    spans.push(first..t.span.1);
                    if !has_keyword {
                        quirks.push(Quirk::Keywordless);
                    }
                }
                has_keyword = false;
                count = 0;
                continue;
            }
            Kind::Semicolon if parens == 0 => quirks.push(Quirk::RoutineBody),
            Kind::Open => parens += 1,
            Kind::Close if parens == 0 => quirks.push(Quirk::UnmatchedClose),
            Kind::Close => parens -= 1,
            Kind::Word { keyword } => {
                has_keyword |= keyword;
                let word = sql[t.span.0..t.span.1].to_ascii_lowercase();
                if count == 0 {
                    leading = [0; 4];
                }
                if count < 4
                    && ["create", "function", "procedure", "or", "replace"].contains(&&*word)
                {
                    leading[count] = word.as_bytes()[0];
                }
                count += 1;
                let routine = leading[0] == b'c'
                    && (matches!(leading[1], b'f' | b'p')
                        || (leading[1] == b'o'
                            && leading[2] == b'r'
                            && matches!(leading[3], b'f' | b'p')));
                if routine && parens == 0 {
                    match &*word {
                        "begin" => depth += 1,
                        "case" if depth > 0 => depth += 1,
                        "end" => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        start.get_or_insert(t.span.0);
        end = t.span.1;
    }
    if parens > 0 || depth > 0 {
        quirks.push(Quirk::Unclosed);
    } else if let Some(first) = start {
        spans.push(first..end);
        if !has_keyword {
            quirks.push(Quirk::Keywordless);
        }
    }
    quirks.sort();
    quirks.dedup();
    (spans, quirks)
}

/// `pg_query_split_with_scanner`'s grouping (pg_query_split.c) over the same
/// tokens: a `;` outside parentheses ends a statement if a keyword came since
/// the last one; the depth is a `size_t` that an unmatched `)` wraps.
fn scanner_model(sql: &str, tokens: &[Tok]) -> Vec<Span> {
    let mut raw = Vec::new();
    let mut parens = 0usize;
    let mut keyword = false;
    let mut stmt_start = 0;
    for t in tokens.iter().filter(|t| t.kind != Kind::Comment) {
        match t.kind {
            Kind::Word { keyword: true } => keyword = true,
            Kind::Open => parens = parens.wrapping_add(1),
            Kind::Close => parens = parens.wrapping_sub(1),
            Kind::Semicolon if parens == 0 => {
                if keyword {
                    raw.push(stmt_start..t.span.0);
                }
                keyword = false;
                stmt_start = t.span.0 + 1;
            }
            _ => {}
        }
    }
    if keyword && parens == 0 {
        raw.push(stmt_start..sql.len());
    }
    raw.into_iter().map(|r| normalize(sql, tokens, r)).collect()
}

/// Trim a raw statement range from libpg_query (which starts after the previous
/// `;` and stops before its own) to our convention.
fn normalize(sql: &str, tokens: &[Tok], raw: Span) -> Span {
    let mut inside = tokens
        .iter()
        .filter(|t| t.kind != Kind::Comment && t.span.0 >= raw.start && t.span.1 <= raw.end);
    let first = inside
        .find(|t| t.kind != Kind::Semicolon)
        .unwrap_or_else(|| panic!("no token in {raw:?} of {sql:?}"));
    let last = inside.next_back().unwrap_or(first);
    if sql.as_bytes().get(raw.end) == Some(&b';') {
        first.span.0..raw.end + 1
    } else {
        first.span.0..last.span.1
    }
}

/// Byte range of `part` within `whole`, which it borrows from.
fn range_in(whole: &str, part: &str) -> Span {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

fn ours(sql: &str) -> Result<Vec<Span>, LexError> {
    Ok(sql::split(sql)?
        .iter()
        .map(|s| s.offset..s.offset + s.text.len())
        .collect())
}

/// Assert two splits are the same byte ranges, showing their texts if not.
fn assert_same(sql: &str, left: &[Span], right: &[Span], what: &str) {
    let show = |spans: &[Span]| -> Vec<String> {
        spans
            .iter()
            .map(|s| format!("{s:?} {:?}", &sql[s.clone()]))
            .collect()
    };
    assert!(
        left == right,
        "{what}, for {sql:?}:\n{:#?}\nvs\n{:#?}",
        show(left),
        show(right)
    );
}

/// Assert every relation described in the module docs for `sql`; return what
/// was found for statistics and for comparing with a case's [`Expect`].
fn check(sql: &str) -> Outcome {
    let ours = ours(sql);
    let (scanner, parser) = {
        let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
        let scanner = pg_query::split_with_scanner(sql)
            .map(|parts| parts.iter().map(|p| range_in(sql, p)).collect::<Vec<_>>());
        let parser = pg_query::split_with_parser(sql)
            .map(|parts| parts.iter().map(|p| range_in(sql, p)).collect::<Vec<_>>());
        (scanner, parser)
    };
    let tokens = match tokens(sql) {
        Ok(tokens) => tokens,
        Err(message) => {
            // The server scanner rejects it: it must be an unterminated quote or
            // comment, which we must reject too.
            assert!(
                matches!(
                    ours,
                    Err(LexError::UnterminatedQuote { .. }
                        | LexError::UnterminatedDollarQuote { .. })
                ),
                "the server scanner rejects {sql:?} ({message}) but dmig gives {ours:?}"
            );
            assert!(
                scanner.is_err(),
                "{sql:?}: scan fails but split_with_scanner does not"
            );
            return Outcome {
                rejected: true,
                ..Outcome::default()
            };
        }
    };
    if let Err(
        e @ (LexError::UnterminatedQuote { .. } | LexError::UnterminatedDollarQuote { .. }),
    ) = &ours
    {
        panic!("dmig rejects {sql:?} ({e}) but the server scanner accepts it: {tokens:?}");
    }

    let (psql, quirks) = psql_model(sql, &tokens);
    if quirks.contains(&Quirk::Unclosed) {
        assert!(
            matches!(
                ours,
                Err(LexError::UnclosedParenthesis { .. } | LexError::UnclosedBegin { .. })
            ),
            "{sql:?}: a `(` or BEGIN is left open, but dmig gives {ours:?}"
        );
    } else {
        let ours = ours
            .as_ref()
            .unwrap_or_else(|e| panic!("{sql:?}: dmig fails: {e}"));
        assert_same(
            sql,
            ours,
            &psql,
            "dmig vs psql's rules over the server's tokens",
        );
    }

    let scanner = scanner.unwrap_or_else(|e| panic!("{sql:?}: split_with_scanner fails: {e}"));
    let scanner: Vec<Span> = scanner
        .into_iter()
        .map(|raw| normalize(sql, &tokens, raw))
        .collect();
    assert_same(
        sql,
        &scanner,
        &scanner_model(sql, &tokens),
        "split_with_scanner vs its model",
    );
    if quirks.is_empty() {
        assert_same(sql, &psql, &scanner, "dmig vs split_with_scanner");
    }
    // Some quirks alone have a simple effect.
    match quirks.as_slice() {
        [Quirk::RoutineBody] => {
            // The scanner cuts our statements into more pieces.
            assert!(scanner.len() > psql.len(), "{sql:?}");
            for piece in &scanner {
                assert!(
                    psql.iter()
                        .any(|s| s.start <= piece.start && piece.end <= s.end),
                    "{sql:?}: scanner piece {piece:?} straddles our statements {psql:?}"
                );
            }
        }
        [Quirk::Keywordless] => {
            assert!(scanner.len() < psql.len(), "{sql:?}");
            assert!(scanner.iter().all(|s| psql.contains(s)), "{sql:?}");
        }
        // After an unmatched `)` the scanner's depth is off by one until a
        // `(` wraps it back: no simple relation, the model says it all.
        _ => {}
    }

    let mut parsed = false;
    if let (Ok(parser), Ok(ours)) = (parser, &ours) {
        let parser: Vec<Span> = parser
            .into_iter()
            .map(|raw| normalize(sql, &tokens, raw))
            .collect();
        assert_same(sql, ours, &parser, "dmig vs split_with_parser");
        parsed = true;
    }
    Outcome {
        statements: psql.len(),
        quirks,
        rejected: false,
        parsed,
    }
}

/// What a corpus case is expected to show.
enum Expect {
    /// Same statements as `split_with_scanner` (or both reject the input).
    Same,
    /// Differs from `split_with_scanner` exactly by these quirks.
    Quirks(&'static [Quirk]),
    /// psql and the server lex it differently: dmig (like psql) gives `ours`;
    /// `split_with_scanner` gives `server` (trimmed of whitespace), or fails.
    ServerLexesDifferently {
        ours: &'static [&'static str],
        server: Option<&'static [&'static str]>,
    },
}

use Expect::{Quirks, Same, ServerLexesDifferently};
use Quirk::{Keywordless, RoutineBody, Unclosed, UnmatchedClose};

/// The statement-splitting fixtures of src/sql.rs's unit tests (the
/// `PSQL_FIXTURES` checked against psql included), then more tricky SQL.
const CORPUS: &[(&str, Expect)] = &[
    // src/sql.rs unit tests.
    ("SELECT 1;\nSELECT 2;\n", Same),
    (
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n\
         CREATE INDEX CONCURRENTLY users_name ON users (name);\n",
        Same,
    ),
    ("-- leading\n  /* c */ SELECT 1 ;  SELECT 2", Same),
    ("SELECT 1; -- done", Same),
    ("SELECT 1 -- done", Same),
    ("SELECT 1; -- done\n", Same),
    ("-- a\rSELECT 1;\r\n", Same),
    ("SELECT 1; -- a\r", Same),
    ("SELECT 1 -- ; 'x\n, 2;", Same),
    ("SELECT $a$ $ab$ $b$ ; $A$ $a$; SELECT 2;", Same),
    ("SELECT $é1$;$é1$; SELECT 2;", Same),
    ("SELECT $1;SELECT $2;", Same),
    ("SELECT $1$a$;$a$;", Same),
    ("SELECT 1 AS foo$bar$; SELECT 2 AS \"$bar$\";", Same),
    ("SELECT 1$$;$$; SELECT 2;", Same),
    ("SELECT $ ; SELECT $x ;", Same),
    ("SELECT 1 $", Same),
    (
        "INSERT INTO users (password) VALUES ('$pbkdf2-sha512$25000$c2FsdA$aGFzaA');\nSELECT 2;",
        Same,
    ),
    ("SELECT '$$';SELECT '$a$';", Same),
    ("SELECT 'it''s; fine';SELECT '';", Same),
    (r"SELECT 'C:\';SELECT 2;", Same),
    (r"SELECT E'\'';SELECT 2;", Same),
    (r"SELECT e'a\\';SELECT 2;", Same),
    (r"SELECT E'it''s\n;';SELECT 2;", Same),
    (r"SELECT somee'\';SELECT 2;", Same),
    (
        "SELECT B'10;', X'1F;', N'x;', U&'d\\0061;', U&\"a;\"\"b\";SELECT 2;",
        Same,
    ),
    ("CREATE TABLE \"a\"\";b\" (x int);SELECT 2;", Same),
    (
        "SELECT /* outer /* inner ; ' \" $$ */ still ; comment */ 1;\nSELECT 2;",
        Same,
    ),
    ("SELECT 1 /**/;SELECT /*/ ; */ 2;", Same),
    ("SELECT 1 /* a **/;", Same),
    ("SELECT (1;\n2);SELECT 3;", Same),
    ("SELECT 1);SELECT (2);", Quirks(&[UnmatchedClose])),
    (
        "CREATE PROCEDURE p(a int)\nLANGUAGE SQL\nBEGIN ATOMIC\n  INSERT INTO t VALUES (a);\n  \
         SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND;\nSELECT 1;",
        Quirks(&[RoutineBody]),
    ),
    (
        "create or replace function f() returns int language sql \
         begin atomic select 1; end; select 2;",
        Quirks(&[RoutineBody]),
    ),
    ("BEGIN;\nSELECT 1;\nEND;", Same),
    (
        "CREATE TABLE t (begin int);\nCREATE FUNCTION f() RETURNS int AS $$ begin end $$ \
         LANGUAGE plpgsql;SELECT 1;",
        Same,
    ),
    (
        "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN 1; SELECT 2;",
        Same,
    ),
    (
        "SELECT 1;\nCREATE FUNCTION begin() RETURNS int AS 'select 1' LANGUAGE sql;\nSELECT 2;",
        Quirks(&[RoutineBody, Unclosed]),
    ),
    ("SELECT 1;\nSELECT (1;\n", Quirks(&[Unclosed])),
    ("", Same),
    ("  \n\t", Same),
    ("-- only\n", Same),
    ("-- only", Same),
    ("/* a */\n-- b\n", Same),
    (";;\n;", Same),
    ("SELECT 1;;\n;SELECT 2;", Same),
    ("SELECT 1;\nSELECT 'abc", Same),
    ("SELECT E'abc\\'", Same),
    ("\n\nSELECT \"abc", Same),
    ("SELECT 1 /* a /* b */", Same),
    ("SELECT B'01", Same),
    ("SELECT U&\"x", Same),
    (
        "SELECT 1;\n\nCREATE FUNCTION f() AS $body$\nBEGIN\n$$;\n",
        Same,
    ),
    ("SELECT $$ x $", Same),
    (
        "INSERT INTO t VALUES ('héllo; 世界');\nCREATE TABLE café (ß int);\nSELECT 'ok'",
        Same,
    ),
    ("SELECT 1 AS é$a$; SELECT 2;", Same),
    ("-- é\nSELECT 1;\nSELECT 'ü', x FROM t;", Same),
    ("SELECT 1;\nSELECT\n  ünknown;", Same),
    // src/sql.rs PSQL_FIXTURES not already above.
    (
        "CREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON t (y);\n",
        Same,
    ),
    ("SELECT 1;\nSELECT 2\n", Same),
    ("SELECT 1;\nSELECT 2 -- trailing", Same),
    (
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN NEW;\nEND $$",
        Same,
    ),
    (
        "CREATE FUNCTION f() RETURNS text AS $BODY$\nBEGIN RETURN $$x;y$$; END;\n$BODY$ \
         LANGUAGE plpgsql;\nSELECT 1;",
        Same,
    ),
    ("SELECT /* a /* b ; ' \" */ c ; */ 1;\nSELECT 2;", Same),
    (
        "SELECT E'\\'';\nSELECT e'\\\\';\nSELECT 'C:\\';\nSELECT 2;",
        Same,
    ),
    (
        "INSERT INTO u VALUES ('$pbkdf2-sha512$25000$c2FsdA$aGFzaA');\nSELECT '$$';",
        Same,
    ),
    (
        "SELECT 'héllo; 世界';\nCREATE TABLE café (ß int);\nSELECT $é$;$é$;",
        Same,
    ),
    (
        "SELECT (1;\n2);\nSELECT 3);\nSELECT 4;",
        Quirks(&[UnmatchedClose]),
    ),
    ("BEGIN;\nSELECT 1;\nEND;\nCREATE TABLE t (begin int);", Same),
    (
        "SELECT 1 AS foo$bar$; SELECT 2 AS \"$bar$\";\nSELECT 1$$;$$;\nSELECT $1$a$;$a$;",
        Same,
    ),
    ("PREPARE p AS SELECT $1::int; SELECT $ ; SELECT $x ;", Same),
    (
        "SELECT B'10;', X'1F;', N'x;', U&'d\\0061;', U&\"a;\"\"b\";\nSELECT 'it''s;';",
        Same,
    ),
    (
        "CREATE TABLE \"a\"\";b\" (x int);\r\nSELECT 2;\r\n-- c\rSELECT 3;\r\n",
        Same,
    ),
    ("SELECT 1 -- ; 'x\n, 2;\nSELECT somee'\\';\nSELECT 3;", Same),
    // psql lexes line by line, so `'b\'` is a standard string there; the server
    // continues the E'' string across the newline, where `\'` escapes the quote
    // and the literal never ends.
    (
        "SELECT E'a'\n'b\\';\nSELECT ';';",
        ServerLexesDifferently {
            ours: &["SELECT E'a'\n'b\\';", "SELECT ';';"],
            server: None,
        },
    ),
    // psql continues a literal across a CR within a line (or at the start of
    // the next non-empty line), as the server does; the `\'` then escapes.
    ("SELECT E'a'\r'\\';'; SELECT 2;", Same),
    ("SELECT E'a'\n\r'\\';'; SELECT 2;", Same),
    ("SELECT E'a'\n\n\r'\\';'; SELECT 2;", Same),
    ("SELECT E'a' -- c\r'\\';'; SELECT 2;", Same),
    ("SELECT E'a'\n \r'\\';'; SELECT 2;", Same),
    ("SELECT E'a'\r -- c\r '\\';'; SELECT 2;", Same),
    ("SELECT E'a'\r\r \t'\\';'; SELECT 2;", Same),
    ("SELECT E'a'\n-- c\r'\\';'; SELECT 2;", Same),
    (
        "SELECT E'a'\r /* c */ '\\';'; SELECT 2;'",
        Quirks(&[Keywordless]),
    ),
    // Where psql's line ends inside the gap, only the server continues.
    (
        "SELECT E'a'\r\n'\\';'; SELECT 2;'",
        ServerLexesDifferently {
            ours: &["SELECT E'a'\r\n'\\';", "'; SELECT 2;'"],
            server: None,
        },
    ),
    (
        "SELECT E'a' \n\r'\\';'; SELECT 2;'",
        ServerLexesDifferently {
            ours: &["SELECT E'a' \n\r'\\';", "'; SELECT 2;'"],
            server: None,
        },
    ),
    (
        "SELECT E'a'\r--c\n'\\';'; SELECT 2;'",
        ServerLexesDifferently {
            ours: &["SELECT E'a'\r--c\n'\\';", "'; SELECT 2;'"],
            server: None,
        },
    ),
    // Dollar quotes.
    ("SELECT $$$$; SELECT $a$$a$;", Same),
    ("SELECT $_$;$_$, $a1$;$a1$, $Ä$;$Ä$;", Same),
    (
        "DO $outer$ BEGIN EXECUTE $inner$ SELECT ';' $inner$; END $outer$; SELECT 1;",
        Same,
    ),
    ("SELECT $a$ $a $ab$ a$ $A$ ;$a$;", Same),
    ("SELECT $q$ '; \"; /* -- $q$; SELECT 2;", Same),
    ("SELECT $$ $a$ ; $$; SELECT $a$ $$ ; $a$;", Same),
    ("SELECT a$$b$$; SELECT $abc; SELECT 2;", Same),
    ("SELECT $1$$;$$; SELECT $12a;", Same),
    // Escape strings.
    (r"SELECT E'\\'; SELECT E'\\\''; SELECT 2;", Same),
    (r"SELECT e'\x41;', E'a''b;', E'\';\'';", Same),
    ("SELECT E'é\\é;'; SELECT E'\\\n;';", Same),
    (r"SELECT 'a\'; SELECT E'b\'';", Same),
    (
        r"SELECT U&'\0041;' UESCAPE '!'; SELECT U&'!0041' UESCAPE '!';",
        Same,
    ),
    // Comments.
    ("SELECT /* /* /* ; */ */ */ 1; SELECT 2;", Same),
    ("SELECT /*/**/*/ 1; /**/ SELECT 2;", Same),
    ("SELECT /* -- */ 1; -- /*\nSELECT 2;", Same),
    ("SELECT 1 +-- c\n 2; SELECT 2 */* c */ 3;", Same),
    ("SELECT 1 ---x\n; SELECT 2 -/**/-1;", Same),
    (
        "/* lead */ -- c\nSELECT 1 /* mid */ ; /* between */ SELECT 2 /* trail */",
        Same,
    ),
    // Semicolons in parentheses; a rule's multiple actions are real SQL.
    (
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); \
         INSERT INTO b VALUES (2)); SELECT 1;",
        Same,
    ),
    ("SELECT ((;);(;)); SELECT 2;", Same),
    ("SELECT f(';', $$;$$, \";\", /* ; */ 1); SELECT 2;", Same),
    // SQL-standard routine bodies.
    (
        "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n\
         BEGIN ATOMIC\n  SELECT a + b;\nEND;\nSELECT add(1, 2);",
        Quirks(&[RoutineBody]),
    ),
    (
        "CREATE OR REPLACE PROCEDURE ins(x int) LANGUAGE sql BEGIN ATOMIC \
         INSERT INTO t VALUES (x); INSERT INTO t VALUES (CASE WHEN x > 0 THEN x END); END;\n\
         CALL ins(1);",
        Quirks(&[RoutineBody]),
    ),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC END; SELECT 1;",
        Same,
    ),
    (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN (SELECT 1); BEGIN; SELECT 2; END;",
        Same,
    ),
    (
        "CREATE TABLE create_function (begin int); SELECT begin FROM create_function;",
        Same,
    ),
    // Non-ASCII.
    (
        "SELECT 'ü'; SELECT \"名前\" FROM \"表\"; SELECT café$1$ FROM ß; -- ☃\nSELECT '😀;';",
        Same,
    ),
    (
        "CREATE TABLE ä (ö text DEFAULT 'ü;'); COMMENT ON TABLE ä IS $é$;$é$;",
        Same,
    ),
    // Statements without a keyword, which psql sends and the server rejects.
    ("foo; SELECT 1;", Quirks(&[Keywordless])),
    ("SELECT 1; (1); 'a'", Quirks(&[Keywordless])),
    // A vertical tab is whitespace for PostgreSQL 16+, not for psql 15 (which
    // sends it as a statement) nor for dmig.
    (
        "SELECT 1;\x0bSELECT 2;\x0b",
        ServerLexesDifferently {
            ours: &["SELECT 1;", "\x0bSELECT 2;", "\x0b"],
            server: Some(&["SELECT 1", "SELECT 2"]),
        },
    ),
];

fn run_corpus_case(sql: &str, expect: &Expect) -> Outcome {
    match expect {
        ServerLexesDifferently { ours, server } => {
            let split: Vec<&str> = sql::split(sql)
                .unwrap_or_else(|e| panic!("{sql:?}: {e}"))
                .iter()
                .map(|s| s.text)
                .collect();
            assert_eq!(split, *ours, "{sql:?}");
            let _guard = PG_QUERY.lock().unwrap_or_else(|e| e.into_inner());
            let scanner = pg_query::split_with_scanner(sql).ok().map(|parts| {
                parts
                    .iter()
                    .map(|p| p.trim_matches(char::is_whitespace).to_owned())
                    .collect::<Vec<_>>()
            });
            assert_eq!(
                scanner,
                server.map(|s| s.iter().map(|s| s.to_string()).collect()),
                "{sql:?}"
            );
            Outcome::default()
        }
        Same | Quirks(_) => {
            let outcome = check(sql);
            let expected: &[Quirk] = match expect {
                Quirks(quirks) => quirks,
                _ => &[],
            };
            assert_eq!(outcome.quirks, expected, "{sql:?}");
            outcome
        }
    }
}

fn repo_sql_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["migrations", "tests/render/basic/migrations"] {
        for revision in std::fs::read_dir(root.join(dir)).unwrap() {
            for file in std::fs::read_dir(revision.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|e| e == "sql") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn corpus_matches_postgres_scanner() {
    let mut parsed = 0;
    for (sql, expect) in CORPUS {
        parsed += usize::from(run_corpus_case(sql, expect).parsed);
    }
    // Long dollar tags and bodies full of near-miss `$…` runs.
    let tag = format!("${}$", "a".repeat(300));
    let body = format!("${}", "a".repeat(299)).repeat(50);
    check(&format!("SELECT {tag}{body}{tag}; SELECT 2;"));
    eprintln!(
        "{} corpus cases, {parsed} also parsed by split_with_parser",
        CORPUS.len()
    );
}

#[test]
fn repository_migrations_match_postgres_scanner() {
    let files = repo_sql_files();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let sql = std::fs::read_to_string(&path).unwrap();
        let outcome = check(&sql);
        assert!(
            outcome.quirks.is_empty(),
            "{}: {:?}",
            path.display(),
            outcome.quirks
        );
        assert!(
            outcome.parsed,
            "{}: split_with_parser rejects it",
            path.display()
        );
    }
}

/// splitmix64: small, deterministic, good enough to pick fragments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces of text inside literals and comments: everything that could end or
/// open something if mis-lexed. Contexts filter out what would close them.
const NOISE: &[&str] = &[
    "a", "Z", "_", "0", "9", " ", " ", "\n", "\t", "\r\n", ";", ";", "'", "\"", "$", "$$", "$a$",
    "$ab$", "$A$", "$1", "(", ")", "--", "/*", "*/", "\\", "é", "世", "ß", "😀", "E'", "begin",
    "END", "case", "x;y", "$q", "q$",
];

/// The escapes used in E'' strings.
const E_ESCAPES: &[&str] = &["\\\\", "\\'", "\\n", "\\;", "''", "\\é", "\\\""];

const KEYWORDS: &[&str] = &[
    "SELECT",
    "select",
    "INSERT INTO",
    "UPDATE",
    "DELETE FROM",
    "CREATE TABLE",
    "ALTER TABLE",
    "DROP TABLE",
    "COMMENT ON TABLE",
    "DO",
    "SET",
    "VALUES",
    "WITH",
    "GRANT",
    "BEGIN",
    "END",
    "COMMIT",
    "case",
];

/// Statement keywords inside a routine body: none that opens or closes a block.
const BODY_KEYWORDS: &[&str] = &["SELECT", "insert into", "UPDATE", "DELETE FROM", "VALUES"];

const WORDS: &[&str] = &[
    "t",
    "users",
    "x_1",
    "café",
    "ß",
    "名前",
    "foo$bar",
    "foo$bar$",
    "a$$",
    "_",
    "begin",
    "end",
    "AS",
    "FROM",
    "where",
    "Atomic",
    "function",
    "procedure",
    "or",
    "replace",
    "create",
    "somee",
    "UESCAPE",
];

const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "<>", "::", "=", "||", "->>", "@", "#", "!", "%", "^", "~", ",", ".", "[",
    "]", ":=", "=>", "<=", "?",
];

/// Whether `gap` could separate a literal from its continuation.
fn only_whitespace_and_line_comments(mut gap: &str) -> bool {
    loop {
        gap = gap.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        match gap.strip_prefix("--") {
            Some(comment) => match comment.find(['\n', '\r']) {
                Some(newline) => gap = &comment[newline..],
                None => return false,
            },
            None => return gap.is_empty(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EMode {
    Continued,
    Ambiguous,
}

/// Builds one input from the fragment grammar.
struct Gen {
    rng: Rng,
    out: String,
    /// Where the last E'' string (or a literal continuing it) ended, and
    /// whether psql and the server may already disagree on whether that chain
    /// is still an E'' string.
    e_end: Option<(usize, bool)>,
}

impl Gen {
    fn noise(&mut self, max: usize, keep: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        for _ in 0..self.rng.below(max + 1) {
            let piece = self.rng.pick(NOISE);
            if keep(piece) {
                text.push_str(piece);
            }
        }
        text
    }

    /// Whitespace and comments between tokens; empty sometimes, where two
    /// fragments may touch. They touch only after a quote, a parenthesis, `,`
    /// or `;`: after a word a `$` or a digit would extend it, and after `-` or
    /// `/` a comment could open, either of which can expose the inside of a
    /// literal as code (trailing junk after a number, an error for the server
    /// only).
    fn separator(&mut self, may_touch: bool) {
        let touchable = self.out.ends_with(['\'', '"', '(', ')', ',', ';']);
        if may_touch && touchable && self.rng.chance(25) {
            return;
        }
        for _ in 0..1 + self.rng.below(2) {
            match self.rng.below(10) {
                0 => {
                    let body = self.noise(4, |p| !p.contains(['\n', '\r']));
                    let newline = self.rng.pick(&["\n", "\r", "\r\n"]);
                    self.out.push_str(&format!("--{body}{newline}"));
                }
                1 => {
                    self.block_comment(2);
                }
                _ => {
                    let space = self
                        .rng
                        .pick(&[" ", " ", "  ", "\n", "\t", "\r\n", "\r", "\x0c"]);
                    self.out.push_str(space);
                }
            }
        }
    }

    fn block_comment(&mut self, nesting: usize) {
        self.out.push_str("/*");
        for _ in 0..self.rng.below(3) {
            if nesting > 0 && self.rng.chance(30) {
                self.block_comment(nesting - 1);
            } else {
                let text = self.noise(4, |p| !p.contains(['*', '/']));
                self.out.push_str(&text);
                if self.rng.chance(20) {
                    self.out
                        .push_str(self.rng.pick(&[" * ", " / ", " ** ", " *\u{a0}/ "]));
                }
            }
        }
        self.out.push_str("*/");
    }

    fn dollar_quote(&mut self) {
        let tag = self.rng.pick(&["", "", "a", "ab", "A", "_x1", "é", "tag"]);
        let delimiter = format!("${tag}$");
        let mut body = self.noise(6, |_| true);
        // The body may hold other tags, never its own; and a `$` run at its end
        // must not run into the closing delimiter (`$a` + `$a$`).
        if body.contains(&delimiter) {
            body.retain(|c| c != '$');
        }
        if body.contains('$') {
            body.push(' ');
        }
        self.out.push_str(&format!("{delimiter}{body}{delimiter}"));
    }

    /// One token-ish fragment of a statement at paren depth `depth`.
    fn fragment(&mut self, depth: usize) {
        // How a '' literal here relates to an E'' string before it: the gap
        // between them is empty (a doubled quote: all continue it), holds no
        // line break (none does), holds CRs only (psql and the server continue
        // it, see dmig's `continuation`), or holds a `\n` (the server does,
        // psql may not).
        let e_mode = self.e_end.take().and_then(|(end, ambiguous)| {
            let gap = &self.out[end..];
            if !only_whitespace_and_line_comments(gap) {
                None
            } else if ambiguous || gap.contains('\n') {
                Some(EMode::Ambiguous)
            } else if gap.is_empty() || gap.contains('\r') {
                Some(EMode::Continued)
            } else {
                None
            }
        });
        match self.rng.below(14) {
            0 | 1 => {
                let quote = if e_mode.is_some() {
                    "'"
                } else {
                    self.rng.pick(&["'", "'", "N'", "B'", "X'", "U&'"])
                };
                let mut body = String::new();
                for _ in 0..self.rng.below(6) {
                    let piece = self.rng.pick(NOISE);
                    match e_mode {
                        _ if piece.contains('\'') => {}
                        None => body.push_str(piece),
                        // Maybe E'', maybe not: no backslash at all.
                        Some(EMode::Ambiguous) => body.push_str(&piece.replace('\\', "")),
                        // E'' for all: backslashes only as escapes (`\0` would
                        // be a NUL byte, an error for the server).
                        Some(EMode::Continued) => {
                            if self.rng.chance(30) {
                                body.push_str(self.rng.pick(E_ESCAPES));
                            }
                            body.push_str(&piece.replace('\\', "\\\\"));
                        }
                    }
                }
                let doubled = if self.rng.chance(20) { "''" } else { "" };
                self.out.push_str(&format!("{quote}{body}{doubled}'"));
                if let Some(mode) = e_mode {
                    self.e_end = Some((self.out.len(), mode == EMode::Ambiguous));
                }
            }
            2 => {
                let prefix = self.rng.pick(&["E", "e"]);
                // Quotes and backslashes only in these escapes.
                let mut body = String::new();
                for _ in 0..self.rng.below(6) {
                    if self.rng.chance(30) {
                        body.push_str(self.rng.pick(E_ESCAPES));
                    } else {
                        body.extend(
                            self.rng
                                .pick(NOISE)
                                .chars()
                                .filter(|c| !matches!(c, '\'' | '\\')),
                        );
                    }
                }
                self.out.push_str(&format!("{prefix}'{body}'"));
                self.e_end = Some((self.out.len(), false));
            }
            3 => self.dollar_quote(),
            4 => {
                let prefix = self.rng.pick(&["\"", "\"", "U&\""]);
                let mut body = self.noise(4, |p| !p.contains('"'));
                if body.is_empty() {
                    body.push('q');
                }
                if self.rng.chance(20) {
                    body.push_str("\"\"");
                }
                self.out.push_str(&format!("{prefix}{body}\""));
            }
            5 | 6 => self.out.push_str(self.rng.pick(WORDS)),
            7 => self.out.push_str(self.rng.pick(KEYWORDS)),
            8 => self.out.push_str(self.rng.pick(OPERATORS)),
            9 => {
                self.out.push_str(
                    self.rng
                        .pick(&["1", "42", "3.14", ".5", "1e5", "$1", "$23"]),
                );
                // A number or parameter must not touch an identifier (trailing
                // junk is an error for the server).
                self.out.push(' ');
            }
            10 if depth < 3 => {
                self.out.push('(');
                for _ in 0..self.rng.below(4) {
                    self.separator(true);
                    if self.rng.chance(20) {
                        self.out.push(';');
                    } else {
                        self.fragment(depth + 1);
                    }
                }
                self.separator(true);
                self.out.push(')');
            }
            11 => self.out.push_str(
                self.rng
                    .pick(&["foo$bar$", "somee'x'", "1$$;$$", "$", "$ x", "x$$y"]),
            ),
            _ => {
                let text = self.rng.pick(&["a", "b", "é", "1.5", "NULL"]);
                self.out.push_str(text);
                self.out.push(' ');
            }
        }
    }

    /// A SQL-standard routine whose BEGIN ATOMIC body holds `;`.
    fn routine(&mut self) {
        let head = self.rng.pick(&[
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql",
            "create or replace procedure p(a int) language sql",
            "CREATE OR REPLACE FUNCTION \"f;\"(x text DEFAULT ';') RETURNS int",
            "CREATE PROCEDURE é()",
        ]);
        self.out.push_str(head);
        self.separator(false);
        self.out
            .push_str(self.rng.pick(&["BEGIN ATOMIC", "begin atomic", "BEGIN"]));
        for _ in 0..self.rng.below(4) {
            self.separator(false);
            self.out.push_str(self.rng.pick(BODY_KEYWORDS));
            for _ in 0..self.rng.below(3) {
                self.separator(false);
                self.fragment_without_words();
            }
            if self.rng.chance(30) {
                self.separator(false);
                self.out.push_str("CASE WHEN 1 = 1 THEN 1 ELSE 2 END");
            }
            self.separator(true);
            self.out.push(';');
        }
        self.separator(false);
        self.out.push_str("END");
    }

    /// A fragment that is not a bare word, so it cannot be BEGIN/CASE/END.
    fn fragment_without_words(&mut self) {
        loop {
            let mark = self.out.len();
            let e_end = self.e_end;
            self.fragment(1);
            let added = &self.out[mark..];
            let lowered = added.to_ascii_lowercase();
            if !["begin", "end", "case"].iter().any(|w| lowered.contains(w)) {
                return;
            }
            self.out.truncate(mark);
            self.e_end = e_end;
        }
    }

    fn statement(&mut self) {
        if self.rng.chance(8) {
            self.routine();
            return;
        }
        self.out.push_str(self.rng.pick(KEYWORDS));
        for _ in 0..self.rng.below(7) {
            self.separator(true);
            self.fragment(0);
        }
    }

    fn input(seed: u64) -> String {
        let mut g = Gen {
            rng: Rng(seed),
            out: String::new(),
            e_end: None,
        };
        if g.rng.chance(50) {
            g.separator(false);
        }
        let n = 1 + g.rng.below(5);
        for i in 0..n {
            g.statement();
            g.separator(true);
            if i + 1 < n || g.rng.chance(70) {
                g.out.push(';');
                if g.rng.chance(10) {
                    g.out.push(';');
                }
            }
            if g.rng.chance(50) {
                g.separator(false);
            }
        }
        if g.rng.chance(10) {
            // Leave something open at the end.
            let open = g.rng.pick(&[
                "SELECT 'abc",
                "SELECT E'ab\\'",
                "SELECT \"ab",
                "SELECT $q$ ;",
                "SELECT /* /* */",
                "SELECT (1;",
                "CREATE FUNCTION f() BEGIN ATOMIC SELECT 1;",
                "SELECT 1 -- end",
            ]);
            g.out.push_str(open);
        }
        g.out
    }
}

#[test]
fn generated_statements_match_postgres_scanner() {
    let cases: u64 = std::env::var("DMIG_SPLIT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let seed: u64 = std::env::var("DMIG_SPLIT_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x5EED);
    let mut stats = std::collections::BTreeMap::<String, usize>::new();
    let mut statements = 0;
    for i in 0..cases {
        let sql = Gen::input(seed.wrapping_mul(0x1_0000_0001).wrapping_add(i));
        let outcome = check(&sql);
        statements += outcome.statements;
        let key = if outcome.rejected {
            "rejected by both".to_owned()
        } else if outcome.quirks.is_empty() {
            "same as split_with_scanner".to_owned()
        } else {
            format!("{:?}", outcome.quirks)
        };
        *stats.entry(key).or_default() += 1;
        if outcome.parsed {
            *stats.entry("also parsed".to_owned()).or_default() += 1;
        }
    }
    eprintln!("{cases} generated inputs, {statements} statements: {stats:#?}");
    // The grammar must keep reaching every interesting region.
    for key in [
        "same as split_with_scanner",
        "rejected by both",
        "[RoutineBody]",
        "[Unclosed]",
    ] {
        assert!(
            stats.get(key).copied().unwrap_or(0) > cases as usize / 100,
            "{key}: {stats:?}"
        );
    }
}
