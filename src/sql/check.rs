//! What a statement does that decides where it may run, read before anything
//! runs so that both modes refuse alike:
//!
//! - [`TransactionUse`]: statements that control the transaction
//!   (`BEGIN`, `COMMIT`, ...) or that PostgreSQL refuses inside a transaction
//!   block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...). In a revision that
//!   runs in a transaction, the first would end that transaction early (a
//!   later failure then rolls back only part of the revision while the report
//!   says "nothing remains"); the second fails at the server, after the
//!   revisions before it committed.
//! - [`Facts::client_copy`]: `COPY ... FROM STDIN` / `TO STDOUT` move data
//!   between the server and the client. psql feeds the data lines that follow
//!   the statement in the file (or prints the rows); a migration run has no
//!   such channel and loses the connection, so the modes would disagree.
//! - [`Facts::meta_command`]: a `\` outside quotes is a psql meta-command (or
//!   the `\.` that ends COPY data): psql interprets it, the server refuses it.
//!
//! Everything is read from tokens (the lexer `split` uses), so a commented-out or
//! quoted `CREATE INDEX CONCURRENTLY` is not one, and mostly from the words at
//! the statement's start: a `DO` block or function body that contains `COMMIT`
//! starts with `DO` or `CREATE`. Where PostgreSQL decides by an option
//! (`CREATE SUBSCRIPTION ... WITH (connect = false)`) or by what a table is (a
//! partitioned table's `CLUSTER`), a statement is flagged only when it is sure
//! to be refused: a false refusal would block a migration that works, a missed
//! one still fails at the server with dmig's advice.

use super::{Lexer, TokenKind};

/// How a statement relates to the transaction it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionUse {
    /// It begins, ends or aborts a transaction: `BEGIN`, `START TRANSACTION`,
    /// `COMMIT`, `END`, `ROLLBACK` (but not `ROLLBACK TO`), `ABORT`,
    /// `PREPARE TRANSACTION`. The text is the command as PostgreSQL names it.
    Control(&'static str),
    /// PostgreSQL refuses it inside a transaction block; the text is the
    /// command as its error message names it (`CREATE INDEX CONCURRENTLY`).
    OutsideOnly(&'static str),
}

impl TransactionUse {
    /// The command, as PostgreSQL names it.
    pub fn command(self) -> &'static str {
        match self {
            TransactionUse::Control(command) | TransactionUse::OutsideOnly(command) => command,
        }
    }
}

/// What [`facts`] found in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// Its relation to the transaction it runs in, if it matters.
    pub transaction: Option<TransactionUse>,
    /// `COPY ... FROM STDIN` or `COPY ... TO STDOUT`: `"FROM STDIN"` or `"TO STDOUT"`.
    pub client_copy: Option<&'static str>,
    /// Byte offset (in the statement) of a `\` outside quotes and comments.
    pub meta_command: Option<usize>,
}

/// How many leading tokens the transaction rules look at.
const LEAD: usize = 8;

/// Read the facts of one statement (as [`super::split`] returns it).
///
/// # Examples
///
/// ```
/// use dmig::sql::check::{facts, TransactionUse};
/// let f = facts("CREATE UNIQUE INDEX CONCURRENTLY i ON t (x)");
/// assert_eq!(f.transaction, Some(TransactionUse::OutsideOnly("CREATE INDEX CONCURRENTLY")));
/// assert_eq!(facts("-- CREATE INDEX CONCURRENTLY\nSELECT 1").transaction, None);
/// assert_eq!(facts("DO $$ BEGIN COMMIT; END $$").transaction, None);
/// assert_eq!(facts("COPY t FROM stdin").client_copy, Some("FROM STDIN"));
/// ```
pub fn facts(statement: &str) -> Facts {
    let mut walk = Walk::default();
    let mut lexer = Lexer::new(statement);
    // A statement from `split` always lexes; anything else is read as far as it does.
    while let Ok(Some(token)) = lexer.next_token() {
        let text = &statement[token.start..token.end];
        if token.kind == TokenKind::Other && text == "\\" {
            walk.meta_command.get_or_insert(token.start);
        }
        walk.token(token.kind, text);
    }
    Facts {
        transaction: walk.transaction_use(),
        client_copy: walk.client_copy(),
        meta_command: walk.meta_command,
    }
}

/// One top-level token of the statement's start, simplified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead<'a> {
    /// A keyword or unquoted name.
    Word(&'a str),
    /// A whole parenthesized group.
    Group,
    /// Anything else (a quoted name, a literal, punctuation).
    Other,
}

impl Lead<'_> {
    fn is(self, keyword: &str) -> bool {
        matches!(self, Lead::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

fn is(text: &str, keyword: &str) -> bool {
    text.eq_ignore_ascii_case(keyword)
}

/// The state of one walk over a statement's tokens.
#[derive(Default)]
struct Walk<'a> {
    /// The first [`LEAD`] top-level tokens, a parenthesized group as one.
    lead: Vec<Lead<'a>>,
    /// The tokens inside the first parenthesized group (`REINDEX (...)`).
    options: Vec<&'a str>,
    groups: usize,
    depth: usize,
    meta_command: Option<usize>,
    /// The previous top-level word, for two-word phrases (`FROM STDIN`).
    previous: Option<&'a str>,
    from_stdin: bool,
    to_stdout: bool,
    /// A top-level `DETACH`, then a top-level `CONCURRENTLY` after it.
    detach: bool,
    detach_concurrently: bool,
    /// Words that turn off an option PostgreSQL refuses in a transaction
    /// block: `connect`/`create_slot` (CREATE SUBSCRIPTION), `refresh`
    /// after `PUBLICATION` (ALTER SUBSCRIPTION).
    slot_option: bool,
    publication: bool,
    refresh_option: bool,
}

impl<'a> Walk<'a> {
    fn token(&mut self, kind: TokenKind, text: &'a str) {
        let word = kind == TokenKind::Word;
        // Option words count wherever they are (`WITH (connect = false)`).
        if word && (is(text, "connect") || is(text, "create_slot")) {
            self.slot_option = true;
        }
        if word && is(text, "publication") {
            self.publication = true;
        } else if word && self.publication && is(text, "refresh") {
            self.refresh_option = true;
        }
        match (kind, text) {
            (TokenKind::Other, "(") => {
                if self.depth == 0 {
                    self.groups += 1;
                    self.push(Lead::Group);
                }
                self.depth += 1;
                return;
            }
            (TokenKind::Other, ")") => {
                self.depth = self.depth.saturating_sub(1);
                return;
            }
            // The terminator.
            (TokenKind::Other, ";") if self.depth == 0 => return,
            _ => {}
        }
        if self.depth > 0 {
            if self.groups == 1 && self.options.len() < LEAD {
                self.options.push(text);
            }
            return;
        }
        self.push(if word { Lead::Word(text) } else { Lead::Other });
        let after = |keyword: &str| self.previous.is_some_and(|p| is(p, keyword));
        if word && is(text, "stdin") && after("from") {
            self.from_stdin = true;
        }
        if word && is(text, "stdout") && after("to") {
            self.to_stdout = true;
        }
        if word && is(text, "detach") {
            self.detach = true;
        } else if word && self.detach && is(text, "concurrently") {
            self.detach_concurrently = true;
        }
        self.previous = word.then_some(text);
    }

    fn push(&mut self, lead: Lead<'a>) {
        if self.lead.len() < LEAD {
            self.lead.push(lead);
        }
    }

    /// `COPY` with the client as one end.
    fn client_copy(&self) -> Option<&'static str> {
        if !self.lead.first().is_some_and(|l| l.is("copy")) {
            return None;
        }
        if self.from_stdin {
            Some("FROM STDIN")
        } else if self.to_stdout {
            Some("TO STDOUT")
        } else {
            None
        }
    }

    /// `REINDEX (CONCURRENTLY [true])`: the option given and not turned off.
    fn concurrently_option(&self) -> bool {
        let Some(at) = self.options.iter().position(|t| is(t, "concurrently")) else {
            return false;
        };
        !self
            .options
            .get(at + 1)
            .is_some_and(|t| is(t, "false") || is(t, "off") || *t == "0")
    }

    /// The transaction rules, read from the leading tokens (see the module
    /// docs for why each is refused).
    fn transaction_use(&self) -> Option<TransactionUse> {
        use TransactionUse::{Control, OutsideOnly};
        let at = |i: usize| self.lead.get(i).copied();
        let is_at = |i: usize, keyword: &str| at(i).is_some_and(|l| l.is(keyword));
        let first = at(0)?;
        let refuse = |command| Some(OutsideOnly(command));
        if first.is("begin") {
            return Some(Control("BEGIN"));
        }
        if first.is("start") && is_at(1, "transaction") {
            return Some(Control("START TRANSACTION"));
        }
        if first.is("commit") {
            if is_at(1, "prepared") {
                return refuse("COMMIT PREPARED");
            }
            return Some(Control("COMMIT"));
        }
        if first.is("end") {
            return Some(Control("END"));
        }
        if first.is("abort") {
            return Some(Control("ABORT"));
        }
        if first.is("rollback") {
            if is_at(1, "prepared") {
                return refuse("ROLLBACK PREPARED");
            }
            // `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name` stays inside.
            let next = if is_at(1, "work") || is_at(1, "transaction") {
                2
            } else {
                1
            };
            return (!is_at(next, "to")).then_some(Control("ROLLBACK"));
        }
        if first.is("prepare") && is_at(1, "transaction") {
            return Some(Control("PREPARE TRANSACTION"));
        }
        if first.is("vacuum") {
            return refuse("VACUUM");
        }
        if first.is("discard") && is_at(1, "all") {
            return refuse("DISCARD ALL");
        }
        if first.is("create") {
            let index = if is_at(1, "unique") { 2 } else { 1 };
            if is_at(index, "index") && is_at(index + 1, "concurrently") {
                return refuse("CREATE INDEX CONCURRENTLY");
            }
            if is_at(1, "database") {
                return refuse("CREATE DATABASE");
            }
            if is_at(1, "tablespace") {
                return refuse("CREATE TABLESPACE");
            }
            // It creates a replication slot unless told not to (or not to connect).
            if is_at(1, "subscription") && !self.slot_option {
                return refuse("CREATE SUBSCRIPTION ... WITH (create_slot = true)");
            }
            return None;
        }
        if first.is("drop") {
            if is_at(1, "index") && is_at(2, "concurrently") {
                return refuse("DROP INDEX CONCURRENTLY");
            }
            if is_at(1, "database") {
                return refuse("DROP DATABASE");
            }
            if is_at(1, "tablespace") {
                return refuse("DROP TABLESPACE");
            }
            return None;
        }
        if first.is("alter") {
            if is_at(1, "system") {
                return refuse("ALTER SYSTEM");
            }
            if is_at(1, "database") && is_at(3, "set") && is_at(4, "tablespace") {
                return refuse("ALTER DATABASE SET TABLESPACE");
            }
            if is_at(1, "table") && self.detach_concurrently {
                return refuse("ALTER TABLE ... DETACH CONCURRENTLY");
            }
            if is_at(1, "subscription") {
                if is_at(3, "refresh") {
                    return refuse("ALTER SUBSCRIPTION ... REFRESH");
                }
                let changes = is_at(3, "set") || is_at(3, "add") || is_at(3, "drop");
                if changes && is_at(4, "publication") && !self.refresh_option {
                    return refuse("ALTER SUBSCRIPTION with refresh");
                }
            }
            return None;
        }
        if first.is("reindex") {
            // `REINDEX [(options)] {INDEX|TABLE|SCHEMA|DATABASE|SYSTEM} [CONCURRENTLY] name`
            let kind = if at(1) == Some(Lead::Group) { 2 } else { 1 };
            if self.concurrently_option() || is_at(kind + 1, "concurrently") {
                return refuse("REINDEX CONCURRENTLY");
            }
            if is_at(kind, "database") {
                return refuse("REINDEX DATABASE");
            }
            if is_at(kind, "system") {
                return refuse("REINDEX SYSTEM");
            }
            if is_at(kind, "schema") {
                return refuse("REINDEX SCHEMA");
            }
            return None;
        }
        if first.is("cluster") {
            // Without a table CLUSTER goes through every clustered table, one
            // transaction each: `CLUSTER`, `CLUSTER VERBOSE`, `CLUSTER (options)`.
            let name = match at(1) {
                Some(Lead::Group) => 2,
                Some(word) if word.is("verbose") => 2,
                _ => 1,
            };
            return at(name).is_none().then_some(OutsideOnly("CLUSTER"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransactionUse::{Control, OutsideOnly};

    fn tx(statement: &str) -> Option<TransactionUse> {
        facts(statement).transaction
    }

    #[test]
    fn transaction_control_at_the_statement_start() {
        for (sql, command) in [
            ("BEGIN", "BEGIN"),
            ("begin work", "BEGIN"),
            ("BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN"),
            ("START TRANSACTION READ WRITE", "START TRANSACTION"),
            ("COMMIT", "COMMIT"),
            ("commit and chain", "COMMIT"),
            ("END TRANSACTION", "END"),
            ("ROLLBACK", "ROLLBACK"),
            ("ROLLBACK WORK", "ROLLBACK"),
            ("ROLLBACK AND CHAIN", "ROLLBACK"),
            ("ABORT", "ABORT"),
            ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
            ("/* c */ COMMIT -- c", "COMMIT"),
        ] {
            assert_eq!(tx(sql), Some(Control(command)), "{sql}");
        }
        for (sql, command) in [
            ("COMMIT PREPARED 'x'", "COMMIT PREPARED"),
            ("ROLLBACK PREPARED 'x'", "ROLLBACK PREPARED"),
        ] {
            assert_eq!(tx(sql), Some(OutsideOnly(command)), "{sql}");
        }
    }

    #[test]
    fn savepoints_and_bodies_are_not_transaction_control() {
        for sql in [
            "SAVEPOINT a",
            "RELEASE SAVEPOINT a",
            "RELEASE a",
            "ROLLBACK TO a",
            "ROLLBACK TO SAVEPOINT a",
            "rollback work to savepoint a",
            "ROLLBACK TRANSACTION TO a",
            "DO $$ BEGIN COMMIT; END $$",
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
            "PREPARE q AS SELECT 1",
            "SELECT 'COMMIT'",
            "\"begin\"",
            "CREATE TABLE t (begin int, commit int)",
            "UPDATE t SET commit = 1",
        ] {
            assert_eq!(tx(sql), None, "{sql}");
        }
    }

    #[test]
    fn statements_refused_in_a_transaction_block() {
        for (sql, command) in [
            (
                "CREATE INDEX CONCURRENTLY i ON t (x)",
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "create unique index concurrently i on t (x)",
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "CREATE /* c */ INDEX\n  CONCURRENTLY IF NOT EXISTS i ON t (x)",
                "CREATE INDEX CONCURRENTLY",
            ),
            ("DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"),
            (
                "DROP INDEX CONCURRENTLY IF EXISTS i",
                "DROP INDEX CONCURRENTLY",
            ),
            ("REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"),
            ("REINDEX TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"),
            (
                "REINDEX (VERBOSE) TABLE CONCURRENTLY t",
                "REINDEX CONCURRENTLY",
            ),
            ("REINDEX (CONCURRENTLY) TABLE t", "REINDEX CONCURRENTLY"),
            (
                "REINDEX (CONCURRENTLY true, VERBOSE) INDEX i",
                "REINDEX CONCURRENTLY",
            ),
            ("REINDEX DATABASE d", "REINDEX DATABASE"),
            ("REINDEX SYSTEM", "REINDEX SYSTEM"),
            ("REINDEX SCHEMA s", "REINDEX SCHEMA"),
            ("VACUUM", "VACUUM"),
            ("VACUUM (ANALYZE) t", "VACUUM"),
            ("vacuum full t", "VACUUM"),
            ("CLUSTER", "CLUSTER"),
            ("CLUSTER VERBOSE", "CLUSTER"),
            ("CLUSTER (VERBOSE)", "CLUSTER"),
            ("CREATE DATABASE d", "CREATE DATABASE"),
            ("DROP DATABASE IF EXISTS d", "DROP DATABASE"),
            (
                "ALTER DATABASE d SET TABLESPACE ts",
                "ALTER DATABASE SET TABLESPACE",
            ),
            ("CREATE TABLESPACE ts LOCATION '/x'", "CREATE TABLESPACE"),
            ("DROP TABLESPACE ts", "DROP TABLESPACE"),
            ("ALTER SYSTEM SET work_mem = '1MB'", "ALTER SYSTEM"),
            ("DISCARD ALL", "DISCARD ALL"),
            (
                "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
                "ALTER TABLE ... DETACH CONCURRENTLY",
            ),
            (
                "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
                "CREATE SUBSCRIPTION ... WITH (create_slot = true)",
            ),
            (
                "ALTER SUBSCRIPTION s REFRESH PUBLICATION",
                "ALTER SUBSCRIPTION ... REFRESH",
            ),
            (
                "ALTER SUBSCRIPTION s SET PUBLICATION p",
                "ALTER SUBSCRIPTION with refresh",
            ),
        ] {
            assert_eq!(tx(sql), Some(OutsideOnly(command)), "{sql}");
        }
    }

    #[test]
    fn lookalikes_run_in_a_transaction_block() {
        for sql in [
            "CREATE INDEX i ON t (x)",
            "CREATE INDEX concurrently_idx ON t (x)",
            "CREATE INDEX \"concurrently\" ON t (x)",
            "DROP INDEX i",
            "REINDEX TABLE t",
            "REINDEX (CONCURRENTLY false) TABLE t",
            "REINDEX (VERBOSE) INDEX i",
            "ANALYZE t",
            "CLUSTER t",
            "CLUSTER VERBOSE t USING i",
            "CLUSTER (VERBOSE) t",
            "CLUSTER i ON t",
            "ALTER DATABASE d SET search_path = a",
            "ALTER TABLESPACE ts SET (seq_page_cost = 1)",
            "ALTER TABLE p DETACH PARTITION c",
            "ALTER TABLE p DETACH PARTITION c FINALIZE",
            "ALTER TABLE t ADD COLUMN concurrently int",
            "ALTER TYPE e ADD VALUE 'x'",
            "DISCARD PLANS",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY v",
            "CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p WITH (connect = false)",
            "CREATE SUBSCRIPTION s CONNECTION 'c' PUBLICATION p WITH (create_slot = false)",
            "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
            "ALTER SUBSCRIPTION s DISABLE",
            "DROP SUBSCRIPTION s",
            "SELECT 'CREATE INDEX CONCURRENTLY'",
            "-- CREATE INDEX CONCURRENTLY i ON t (x)\nSELECT 1",
            "/* VACUUM */ SELECT 1",
            "DO $$ BEGIN EXECUTE 'VACUUM'; END $$",
            "WITH x AS (SELECT 1) SELECT * FROM x",
        ] {
            assert_eq!(tx(sql), None, "{sql}");
        }
    }

    #[test]
    fn copy_with_the_client_as_one_end() {
        for (sql, expected) in [
            ("COPY t FROM STDIN", Some("FROM STDIN")),
            (
                "copy t (a, b) from stdin with (format csv)",
                Some("FROM STDIN"),
            ),
            ("COPY t FROM stdin;", Some("FROM STDIN")),
            ("COPY (SELECT 1) TO STDOUT", Some("TO STDOUT")),
            ("COPY t TO STDOUT WITH CSV", Some("TO STDOUT")),
            ("COPY t FROM '/tmp/x.csv'", None),
            ("COPY t TO '/tmp/x.csv'", None),
            ("COPY t FROM PROGRAM 'cat x'", None),
            ("COPY (SELECT * FROM stdin) TO '/x'", None),
            ("SELECT 1 FROM stdin", None),
            ("COPY t FROM \"stdin\"", None),
        ] {
            assert_eq!(facts(sql).client_copy, expected, "{sql}");
        }
    }

    #[test]
    fn backslashes_outside_quotes_are_meta_commands() {
        assert_eq!(facts("\\.").meta_command, Some(0));
        assert_eq!(facts("SELECT 1 \\gset").meta_command, Some(9));
        assert_eq!(facts("\\set x 1").meta_command, Some(0));
        for sql in [
            "SELECT E'\\\\'",
            "SELECT 'C:\\'",
            "SELECT $$\\.$$",
            "SELECT 1 -- \\.",
            "SELECT /* \\q */ 1",
            "SELECT \"a\\b\"",
        ] {
            assert_eq!(facts(sql).meta_command, None, "{sql}");
        }
    }
}
