//! The tokens of a SQL file, as psql's lexer (`psqlscan.l`) sees them: the
//! one place that knows PostgreSQL's quoting and comment rules. The
//! splitter, the checks and the password mask all read SQL through it.

use super::LexError;

/// What a significant token is, as far as dmig's questions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An unquoted identifier or keyword (`CREATE`, `concurrently`, `café`).
    Word,
    /// A `"…"` or `U&"…"` identifier.
    QuotedIdent,
    /// A string literal: `'…'`, `E'…'`, `B'…'`, `X'…'`, `N'…'`, `U&'…'`.
    String,
    /// A `$tag$…$tag$` string.
    DollarString,
    /// One byte of anything else: `(`, `)`, `;`, an operator, a digit, `\`,
    /// or a `$1` parameter (as a whole).
    Other,
}

/// A significant token: `sql[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// psql's tokens of a text, whitespace and comments skipped: what the
/// statement splitter reads, and what anything else that needs to tell SQL
/// from quotes and comments should read, so they cannot disagree.
pub(crate) struct Lexer<'a> {
    sql: &'a str,
    at: usize,
    /// The text ended inside a `--` comment (no newline after it).
    pub ends_in_line_comment: bool,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(sql: &'a str) -> Lexer<'a> {
        Lexer {
            sql,
            at: 0,
            ends_in_line_comment: false,
        }
    }

    /// The next significant token, `None` at the end.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token>, LexError> {
        let b = self.sql.as_bytes();
        let n = b.len();
        let mut i = self.at;
        while i < n {
            let token = i;
            let kind = match b[i] {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                    i += 1;
                    continue;
                }
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    // psqlscan.l ends a `--` comment at either CR or LF.
                    match find(b, i + 2, |c| c == b'\n' || c == b'\r') {
                        Some(newline) => i = newline,
                        None => {
                            i = n;
                            self.ends_in_line_comment = true;
                        }
                    }
                    continue;
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = block_comment_end(b, i)
                        .ok_or_else(|| unterminated(b, token, "block comment"))?;
                    continue;
                }
                b'\'' => {
                    i = quoted_end(b, i + 1, b'\'', token, "string literal")?;
                    TokenKind::String
                }
                b'"' => {
                    i = quoted_end(b, i + 1, b'"', token, "quoted identifier")?;
                    TokenKind::QuotedIdent
                }
                b'e' | b'E' if b.get(i + 1) == Some(&b'\'') => {
                    i = escape_string_end(b, i + 2, token)?;
                    TokenKind::String
                }
                // Bit, hex and national strings lex like plain ones.
                b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if b.get(i + 1) == Some(&b'\'') => {
                    i = quoted_end(b, i + 2, b'\'', token, "string literal")?;
                    TokenKind::String
                }
                b'u' | b'U' if b.get(i + 1) == Some(&b'&') && b.get(i + 2) == Some(&b'\'') => {
                    i = quoted_end(b, i + 3, b'\'', token, "string literal")?;
                    TokenKind::String
                }
                b'u' | b'U' if b.get(i + 1) == Some(&b'&') && b.get(i + 2) == Some(&b'"') => {
                    i = quoted_end(b, i + 3, b'"', token, "quoted identifier")?;
                    TokenKind::QuotedIdent
                }
                b'$' => {
                    i = dollar_end(self.sql, i)?;
                    // `$$…$$` and `$tag$…$tag$` end in `$`; `$` and `$1` do not.
                    if i - token >= 2 && b[i - 1] == b'$' {
                        TokenKind::DollarString
                    } else {
                        TokenKind::Other
                    }
                }
                c if is_ident_start(c) => {
                    // An identifier swallows `$`, so `foo$bar$` never opens a quote.
                    i = find(b, i + 1, |c| !is_ident_cont(c)).unwrap_or(n);
                    TokenKind::Word
                }
                // Digits, operators and punctuation: one byte at a time is enough,
                // since none of them can start a quote or comment mid-token.
                _ => {
                    i += 1;
                    TokenKind::Other
                }
            };
            self.at = i;
            return Ok(Some(Token {
                kind,
                start: token,
                end: i,
            }));
        }
        self.at = n;
        Ok(None)
    }
}

/// `[A-Za-z_]` or any byte of a non-ASCII character, as in psqlscan.l.
fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// Identifier continuation, which includes `$`.
fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// Dollar-quote tag continuation: like an identifier, but without `$`.
fn is_tag_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

fn find(b: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&c| pred(c))
        .map(|at| from + at)
}

/// End (exclusive) of a `'…'` or `"…"` whose body starts at `from`; a doubled
/// quote is part of the body.
fn quoted_end(
    b: &[u8],
    mut from: usize,
    quote: u8,
    token: usize,
    kind: &'static str,
) -> Result<usize, LexError> {
    loop {
        let close = find(b, from, |c| c == quote).ok_or_else(|| unterminated(b, token, kind))?;
        if b.get(close + 1) != Some(&quote) {
            return Ok(close + 1);
        }
        from = close + 2;
    }
}

/// End (exclusive) of an `E'…'` string whose body starts at `from`: a backslash
/// escapes the next byte, so `E'\''` is complete.
fn escape_string_end(b: &[u8], mut from: usize, token: usize) -> Result<usize, LexError> {
    loop {
        let at = find(b, from, |c| c == b'\'' || c == b'\\')
            .ok_or_else(|| unterminated(b, token, "string literal"))?;
        if b[at] == b'\\' || b.get(at + 1) == Some(&b'\'') {
            // The escaped byte may be the lead of a multibyte character; its
            // continuation bytes are never `'` or `\`, so skipping one is enough.
            from = at + 2;
        } else if let Some(next) = continuation(b, at + 1) {
            // The next literal is lexed with the same escapes.
            from = next;
        } else {
            return Ok(at + 1);
        }
    }
}

/// Where a string literal goes on when the text after its closing quote (at
/// `from`) is what psqlscan.l calls a quote continuation: whitespace holding a
/// newline, then `'`. psql lexes one line at a time and `\n` ends a line, so the
/// newline can only be a CR; but a quote that ends a line leaves psql waiting
/// for a continuation, and empty lines don't end that wait. Only an `E'…'`
/// string's boundaries depend on it (its escapes go on in the continuation).
fn continuation(b: &[u8], mut i: usize) -> Option<usize> {
    while b.get(i) == Some(&b'\n') {
        i += 1;
    }
    // Spaces and `--` comments, then the CR.
    loop {
        match *b.get(i)? {
            b' ' | b'\t' | 0x0c => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = find(b, i + 2, |c| c == b'\n' || c == b'\r')?;
            }
            b'\r' => break,
            _ => return None,
        }
    }
    i += 1;
    // Whitespace and `--` comments, all within the line, then the quote.
    loop {
        match *b.get(i)? {
            b' ' | b'\t' | b'\r' | 0x0c => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = find(b, i + 2, |c| c == b'\n' || c == b'\r')?;
                if b[i] == b'\n' {
                    return None;
                }
            }
            b'\'' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// End (exclusive) of the token starting with the `$` at `at`: a `$n` parameter,
/// a whole `$tag$…$tag$` string, or just the `$` itself.
fn dollar_end(sql: &str, at: usize) -> Result<usize, LexError> {
    let b = sql.as_bytes();
    let Some(&next) = b.get(at + 1) else {
        return Ok(at + 1);
    };
    if next.is_ascii_digit() {
        return Ok(find(b, at + 1, |c| !c.is_ascii_digit()).unwrap_or(b.len()));
    }
    if next != b'$' && !is_ident_start(next) {
        return Ok(at + 1);
    }
    let tag_end = find(b, at + 1, |c| !is_tag_cont(c)).unwrap_or(b.len());
    if b.get(tag_end) != Some(&b'$') {
        // `$abc` without a closing `$`: psql takes the `$` alone.
        return Ok(at + 1);
    }
    let tag = &b[at..=tag_end];
    // Like psqlscan.l, look at each `$` in the body and the tag-like run after
    // it; a mismatch resumes at the run's end, which keeps the search linear.
    let mut from = tag_end + 1;
    while let Some(open) = find(b, from, |c| c == b'$') {
        let run_end = find(b, open + 1, |c| !is_tag_cont(c)).unwrap_or(b.len());
        if b.get(run_end) == Some(&b'$') && &b[open..=run_end] == tag {
            return Ok(run_end + 1);
        }
        from = run_end;
    }
    Err(LexError::UnterminatedDollarQuote {
        line: line_of(b, at),
        tag: sql[at..=tag_end].to_owned(),
    })
}

/// End (exclusive) of the nesting block comment opening at `at`, if it closes.
fn block_comment_end(b: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at + 2;
    loop {
        i = find(b, i, |c| c == b'*' || c == b'/')?;
        match (b[i], b.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                if depth == 0 {
                    return Some(i + 2);
                }
                depth -= 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

fn unterminated(b: &[u8], at: usize, kind: &'static str) -> LexError {
    LexError::UnterminatedQuote {
        line: line_of(b, at),
        kind,
    }
}

/// 1-based line of byte `at`; only computed for errors.
pub(crate) fn line_of(b: &[u8], at: usize) -> usize {
    1 + b[..at].iter().filter(|&&c| c == b'\n').count()
}
