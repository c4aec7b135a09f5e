//! `split`, `tail` and `line_col` on arbitrary UTF-8: never panic; statements
//! are non-empty, trimmed, in order, non-overlapping and inside the input;
//! `split` and `tail` agree; and `tail` tells how to append SQL safely.

#![no_main]

use dmig::sql::{line_col, split, tail};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    let sql = sql.as_ref();
    let statements = split(sql);
    let tail_of = tail(sql);
    assert_eq!(
        statements.as_ref().err(),
        tail_of.as_ref().err(),
        "split and tail disagree on {sql:?}"
    );
    let lines = 1 + sql.bytes().filter(|&b| b == b'\n').count();

    // line_col at arbitrary offsets and positions, including out of range ones.
    for (offset, position) in [
        (0, 0),
        (0, 1),
        (data.len() / 2, data.len() / 3 + 1),
        (sql.len(), 1),
        (sql.len() + 7, usize::MAX),
        (usize::MAX, 1),
    ] {
        let (line, col) = line_col(sql, offset, position);
        assert!(line >= 1 && col >= 1 && line <= lines, "{sql:?}");
    }

    let (Ok(statements), Ok(tail_of)) = (statements, tail_of) else {
        return;
    };
    assert_eq!(tail_of.is_empty, statements.is_empty(), "{sql:?}");
    let mut previous_end = 0;
    for (i, statement) in statements.iter().enumerate() {
        let start = statement.offset;
        let end = start + statement.text.len();
        assert!(previous_end <= start && end <= sql.len(), "{sql:?}");
        assert_eq!(&sql[start..end], statement.text, "{sql:?}");
        assert_eq!(statement.text.as_ptr(), sql[start..].as_ptr());
        assert!(!statement.text.is_empty());
        // Trimmed of the lexer's whitespace (psql 15's: no vertical tab).
        let trimmed = statement
            .text
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'));
        assert_eq!(trimmed, statement.text, "{sql:?}");
        assert!(
            i + 1 == statements.len() || statement.text.ends_with(';'),
            "only the last statement may lack `;`: {sql:?}"
        );
        previous_end = end;

        let (line, col) = line_col(sql, start, 1);
        let before = &sql[..start];
        assert_eq!(line, 1 + before.matches('\n').count(), "{sql:?}");
        assert_eq!(
            col,
            1 + before[before.rfind('\n').map_or(0, |at| at + 1)..]
                .chars()
                .count()
        );
        let chars = statement.text.chars().count();
        let (line, col) = line_col(sql, start, chars);
        assert!(line >= 1 && col >= 1 && line <= lines);
    }
    match statements.last() {
        Some(last) => assert_eq!(
            tail_of.needs_semicolon,
            !last.text.ends_with(';'),
            "{sql:?}"
        ),
        None => assert!(!tail_of.needs_semicolon),
    }

    // What tail promises: after a newline if it ends in a `--` comment and a
    // `;` if it needs one, more SQL appended is a statement of its own.
    let mut joined = sql.to_owned();
    if tail_of.ends_in_line_comment {
        joined.push('\n');
    }
    if tail_of.needs_semicolon {
        joined.push(';');
    }
    joined.push_str("\nSELECT 1;");
    let after = split(&joined).unwrap_or_else(|e| panic!("{joined:?}: {e}"));
    assert_eq!(after.len(), statements.len() + 1, "{joined:?}");
    assert_eq!(after.last().unwrap().text, "SELECT 1;", "{joined:?}");
    for (before, after) in statements.iter().zip(&after) {
        assert_eq!(before.offset, after.offset, "{joined:?}");
        assert!(after.text.starts_with(before.text), "{joined:?}");
    }
});
