//! When things go wrong, against a real PostgreSQL: a revision that fails
//! online (what the report says and what the database keeps), and bad input
//! that must be refused before anything runs, online and offline alike.

use std::fs;
use std::process::Output;

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, ProjectBuilder};

fn dmig(p: &Project, db: &TestDb) -> assert_cmd::Command {
    let mut cmd = p.dmig();
    cmd.env("DATABASE_URL", db.url());
    cmd
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Run `cmd`, expect exit `code`, return stderr.
fn fails(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let output = cmd.output().expect("run dmig");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "stderr: {err}");
    err
}

/// The tables of `public`, without the version table.
fn tables(db: &TestDb) -> Vec<String> {
    db.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' \
         AND tablename NOT IN ('__diesel_schema_migrations', '__dmig_revisions') ORDER BY 1",
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

fn write(p: &Project, rel: &str, text: &str) {
    fs::write(p.path().join(rel), text).expect("write project file");
}

// ---------------------------------------------------------------------------
// A. Failing revisions, online

#[test]
fn failing_transactional_revision_leaves_no_trace_and_a_rerun_applies_the_rest() {
    // Line 4, column 8 of 2_b/up.sql is `nope`.
    let bad = "CREATE TABLE b (id INT PRIMARY KEY);\n\
               INSERT INTO b VALUES (1);\n\
               UPDATE b\n   SET nope = 2;\n";
    let p = project("fail_tx")
        .migration("1_a", "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"))
        .migration("2_b", bad, Some("DROP TABLE b;\n"))
        .migration("3_c", "CREATE TABLE c (id INT);\n", Some("DROP TABLE c;\n"))
        .build();
    let db = TestDb::new("fail_tx");
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    for expected in [
        "applied 1_a",
        "error: revision `2_b` failed (upgrade)",
        "2_b/up.sql:4:8: column \"nope\" of relation \"b\" does not exist",
        "statement: UPDATE b",
        "the revision was rolled back: nothing of it remains",
        "applied before it in this run (and still applied): 1_a",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
    // diesel-async drops this error's SQLSTATE (42703): none may be invented.
    assert!(!err.contains('['), "no SQLSTATE is known here:\n{err}");
    assert_eq!(db.versions(), ["1"]);
    assert_eq!(tables(&db), ["a"], "nothing of 2_b may remain");

    write(&p, "migrations/2_b/up.sql", &bad.replace("nope", "id"));
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.versions(), ["1", "2", "3"]);
    assert_eq!(tables(&db), ["a", "b", "c"]);
    assert_eq!(db.psql("SELECT id FROM b"), "2");
}

#[test]
fn report_carries_sqlstate_detail_hint_and_the_statement_start_without_a_position() {
    let p = project("report")
        .migration(
            "1_a",
            "CREATE TABLE a (id INT PRIMARY KEY);\nINSERT INTO a VALUES (1);\n",
            None,
        )
        // No position from PostgreSQL: the failing statement's start, 2:3.
        .migration(
            "2_dup",
            "-- one more row\n  INSERT INTO a VALUES (1);\n",
            None,
        )
        .build();
    let db = TestDb::new("report");
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    for expected in [
        "2_dup/up.sql:2:3: [23505] duplicate key value violates unique constraint \"a_pkey\"",
        "\n  detail: Key (id)=(1) already exists.",
        "statement: INSERT INTO a VALUES (1);",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }

    // A runtime error has no position either: the statement starts on line 3.
    write(
        &p,
        "migrations/2_dup/up.sql",
        "SELECT 1;\n\nSELECT 1 /\n  0;\n",
    );
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    assert!(err.contains("2_dup/up.sql:3:1: division by zero"), "{err}");
    assert!(
        err.contains("nothing was applied before it in this run"),
        "{err}"
    );

    // PostgreSQL's hint is passed on, with its position mapped past a
    // multi-byte character.
    write(&p, "migrations/2_dup/up.sql", "SELECT 'é', nope_fn(1);\n");
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    assert!(
        err.contains("2_dup/up.sql:1:13: function nope_fn(integer) does not exist"),
        "{err}"
    );
    assert!(
        err.contains("\n  hint: No function matches the given name and argument types."),
        "{err}"
    );

    // Inside a DO block the position may count characters of a query the
    // block ran: dmig reports the block's start and says so.
    write(
        &p,
        "migrations/2_dup/up.sql",
        "SELECT 1;\nDO $$\nBEGIN\n  PERFORM nope_col FROM pg_class;\nEND $$;\n",
    );
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    assert!(
        err.contains("2_dup/up.sql:2:1: column \"nope_col\" does not exist"),
        "{err}"
    );
    assert!(
        err.contains(
            "position: PostgreSQL points at character 8 of this DO block or of a query it ran"
        ),
        "{err}"
    );
    assert_eq!(db.versions(), ["1"]);
    assert_eq!(db.psql("SELECT count(*) FROM a"), "1");
}

#[test]
fn failing_non_transactional_revision_reports_what_completed_and_the_invalid_index() {
    let up = "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_plain ON a (id);\n\
              CREATE UNIQUE INDEX CONCURRENTLY a_uq ON a (id);\n\
              CREATE TABLE never (id INT);\n";
    let p = project("fail_no_tx")
        .migration(
            "1_a",
            "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1), (1);\n",
            None,
        )
        .migration_no_tx("2_ix", up, None)
        .build();
    let db = TestDb::new("fail_no_tx");
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    for expected in [
        "error: revision `2_ix` failed (upgrade)",
        "2_ix/up.sql:2:1: [23505] could not create unique index \"a_uq\"",
        "detail: Key (id)=(1) is duplicated.",
        "statement: CREATE UNIQUE INDEX CONCURRENTLY a_uq ON a (id);",
        "the revision is non-transactional and is half-applied: 1 statement(s) completed before the failure and remain; its version was not recorded",
        "completed: line 1: CREATE INDEX CONCURRENTLY IF NOT EXISTS a_plain ON a (id);",
        "invalid index(es) left behind (drop them before retrying): a_uq",
        "applied before it in this run (and still applied): 1_a",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
    assert_eq!(db.versions(), ["1"]);
    assert_eq!(
        db.psql("SELECT string_agg(indexrelid::regclass::text || ':' || indisvalid, ',' ORDER BY 1) FROM pg_index WHERE indrelid = 'a'::regclass"),
        "a_plain:true,a_uq:false"
    );
    assert_eq!(tables(&db), ["a"]);

    // What the report tells the user to do, then a rerun finishes the revision.
    db.psql("DROP INDEX a_uq; DELETE FROM a WHERE ctid <> (SELECT min(ctid) FROM a)");
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.versions(), ["1", "2"]);
    assert_eq!(tables(&db), ["a", "never"]);
    assert_eq!(
        db.psql("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'a'::regclass"),
        "t"
    );
}

#[test]
fn single_transaction_failure_rolls_back_the_whole_run_online_and_offline() {
    let p = project("fail_single")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .migration("2_b", "CREATE TABLE b (id INT);\n", None)
        .migration(
            "3_c",
            "CREATE TABLE c (id INT);\nSELECT nope FROM c;\n",
            None,
        )
        .build();
    let on = TestDb::new("fail_single_online");
    let off = TestDb::new("fail_single_offline");
    let empty = on.schema_dump();
    let err = fails(
        dmig(&p, &on).args(["upgrade", "--transaction", "single"]),
        1,
    );
    for expected in [
        "applied 1_a",
        "applied 2_b",
        "error: revision `3_c` failed (upgrade)",
        "3_c/up.sql:2:8: column \"nope\" does not exist",
        "the whole run was one transaction: it was rolled back, nothing changed",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
    assert!(!err.contains("before it in this run"), "{err}");
    // Nothing at all: no tables, no version table, no rows.
    assert_eq!(on.schema_dump(), empty);
    assert!(on.versions().is_empty());

    // The offline script in one transaction, run by psql, leaves the same.
    let script = p.path().join("single.sql");
    p.dmig()
        .args(["upgrade", "--sql", "--transaction", "single", "--out"])
        .arg(&script)
        .assert()
        .success();
    let psql = off.psql_file(&script);
    assert!(!psql.status.success());
    assert!(stderr(&psql).contains("column \"nope\" does not exist"));
    assert_eq!(off.schema_dump(), empty);

    // From a database already at 1: still nothing of the run remains.
    dmig(&p, &on).args(["upgrade", "1"]).assert().success();
    let before = on.schema_dump();
    fails(
        dmig(&p, &on).args(["upgrade", "--transaction", "single"]),
        1,
    );
    assert_eq!(on.schema_dump(), before);
    assert_eq!(on.versions(), ["1"]);
}

#[test]
fn concurrently_in_a_transactional_revision_names_the_file_and_the_fix() {
    let p = project("cic_trap")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .migration(
            "2_ix",
            "-- meant to be non-transactional\nCREATE INDEX CONCURRENTLY a_idx ON a (id);\n",
            Some("DROP INDEX CONCURRENTLY a_idx;\n"),
        )
        .build();
    let on = TestDb::new("cic_trap_online");
    let empty = on.schema_dump();
    // Refused before anything runs (PostgreSQL would refuse the statement
    // only after 1_a committed): the file, line and column, PostgreSQL's own
    // words for it, and the fix.
    let err = fails(dmig(&p, &on).arg("upgrade"), 1);
    let metadata = p.path().join("migrations/2_ix/metadata.toml");
    let expected = [
        "error: revision `2_ix` cannot run in a transaction (upgrade)".to_string(),
        "2_ix/up.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
            .to_string(),
        format!(
            "dmig hint: this statement cannot run in a transaction: set run_in_transaction = false in {}",
            metadata.display()
        ),
        "refused before anything ran".to_string(),
    ];
    for expected in &expected {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
    assert!(!err.contains("applied 1_a"), "{err}");
    assert!(on.versions().is_empty());
    assert_eq!(on.schema_dump(), empty);

    // Offline, the same refusal, and no script: psql would have committed 1_a
    // and then failed on the same statement.
    let script = p.path().join("up.sql");
    let output = p
        .dmig()
        .args(["upgrade", "--sql", "--out"])
        .arg(&script)
        .output()
        .expect("run dmig");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), err, "online and offline refuse alike");
    assert!(!script.exists());

    // With --transaction single the advice is about the mode instead.
    let err = fails(
        dmig(&p, &on).args(["upgrade", "--transaction", "single"]),
        1,
    );
    for expected in [
        "error: revision `2_ix` cannot run in --transaction single (upgrade)",
        "2_ix/up.sql:2:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        "dmig hint: this statement cannot run in a transaction: run without --transaction single",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }

    // Following the advice works.
    fs::write(&metadata, "run_in_transaction = false\n").expect("write metadata");
    dmig(&p, &on).arg("upgrade").assert().success();
    assert_eq!(on.versions(), ["1", "2"]);
    assert_eq!(
        on.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'a_idx'::regclass"),
        "t"
    );
}

#[test]
fn transaction_control_in_a_transactional_revision_is_refused_in_both_modes() {
    // Run as written, the COMMIT ends dmig's transaction: `early` stays while
    // the failure report said the revision left nothing behind.
    let up = "CREATE TABLE early (id INT);\n\
              COMMIT;\n\
              CREATE TABLE late (id INT);\n\
              SELECT 1/0;\n";
    let p = project("tx_control")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .migration("2_b", up, None)
        .build();
    let db = TestDb::new("tx_control");
    let empty = db.schema_dump();
    for args in [&["upgrade"][..], &["upgrade", "--transaction", "single"]] {
        let err = fails(dmig(&p, &db).args(args), 1);
        for expected in [
            "error: revision `2_b` controls its own transaction",
            "2_b/up.sql:2:1: COMMIT would end",
            "refused before anything ran",
        ] {
            assert!(
                err.contains(expected),
                "{args:?}: expected {expected:?} in:\n{err}"
            );
        }
        assert!(db.versions().is_empty(), "{args:?}");
        assert_eq!(db.schema_dump(), empty, "{args:?}: nothing may run");
        let mut offline = p.dmig();
        offline.args(args).args(["--sql", "--out", "out.sql"]);
        assert_eq!(
            fails(&mut offline, 1),
            err,
            "{args:?}: offline refuses alike"
        );
        assert!(!p.path().join("out.sql").exists());
    }
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    assert!(
        err.contains("dmig hint: set run_in_transaction = false in"),
        "{err}"
    );

    // What stays allowed: savepoints, transaction control in a
    // non-transactional revision, and the words inside bodies, strings and
    // comments.
    let fine = project("tx_fine")
        .migration(
            "1_savepoints",
            "CREATE TABLE s (id INT);\nSAVEPOINT sp;\nINSERT INTO s VALUES (1);\n\
             ROLLBACK TO SAVEPOINT sp;\nRELEASE SAVEPOINT sp;\nINSERT INTO s VALUES (2);\n",
            None,
        )
        .migration_no_tx(
            "2_own",
            "BEGIN;\nCREATE TABLE o (id INT);\nCOMMIT;\nVACUUM o;\n",
            None,
        )
        .migration(
            "3_words",
            "-- CREATE INDEX CONCURRENTLY is for later; COMMIT;\n\
             /* VACUUM */ CREATE TABLE w (note TEXT DEFAULT 'COMMIT; VACUUM');\n\
             CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\n\
             DO $$ BEGIN PERFORM 1; END $$;\n",
            None,
        )
        .build();
    let on = TestDb::new("tx_fine_online");
    let off = TestDb::new("tx_fine_offline");
    dmig(&fine, &on).arg("upgrade").assert().success();
    assert_eq!(on.versions(), ["1", "2", "3"]);
    assert_eq!(on.psql("SELECT string_agg(id::text, ',') FROM s"), "2");
    let script = fine.render(&["upgrade", "--sql"]);
    assert!(off.psql_file(&script).status.success());
    assert_eq!(off.schema_dump(), on.schema_dump());
    assert_eq!(off.versions(), on.versions());
}

#[test]
fn role_passwords_never_reach_the_output_at_any_log_level() {
    let db = TestDb::new("role_password");
    // Roles belong to the cluster: one name per test database.
    let role = format!("dmig_pw_{}", db.name());
    let p = project("role_password")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        // Fails on its own CREATE ROLE: the `statement:` line.
        .migration(
            "2_role",
            "CREATE ROLE nobody_pw LOGIN\n  PASSWORD 'hunter2' VALID UNTIL 'not a date';\n",
            None,
        )
        .build();
    let check = |what: &str, level: Option<&str>, expect: &[&str]| {
        let mut cmd = dmig(&p, &db);
        cmd.arg("upgrade");
        if let Some(level) = level {
            cmd.env("DMIG_LOG", level);
        }
        let output = cmd.output().expect("run dmig");
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(&output)
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what}, DMIG_LOG={level:?}: {out}"
        );
        assert!(
            !out.contains("hunter2"),
            "{what}, DMIG_LOG={level:?}: a password shows:\n{out}"
        );
        for expected in expect {
            assert!(
                out.contains(expected),
                "{what}, DMIG_LOG={level:?}: expected {expected:?} in:\n{out}"
            );
        }
    };
    let levels = [None, Some("info"), Some("debug"), Some("trace")];
    for level in levels {
        check(
            "failing CREATE ROLE",
            level,
            &[
                "2_role/up.sql:1:1:",
                "statement: CREATE ROLE nobody_pw LOGIN",
            ],
        );
    }
    write(
        &p,
        "migrations/2_role/up.sql",
        "CREATE ROLE nobody_pw LOGIN PASSWORD 'hunter2' VALID UNTIL 'not a date';\n",
    );
    for level in levels {
        check(
            "failing one-line CREATE ROLE",
            level,
            &["statement: CREATE ROLE nobody_pw LOGIN PASSWORD '********' VALID UNTIL 'not a date';"],
        );
    }
    // A non-transactional revision whose statements with passwords completed
    // before the failure: the `completed:` lines.
    let up = format!(
        "CREATE ROLE {role} LOGIN ENCRYPTED PASSWORD E'hunter2';\n\
         ALTER ROLE {role} WITH PASSWORD $$hunter2$$;\n\
         DO $$ BEGIN EXECUTE 'ALTER ROLE {role} PASSWORD ''hunter2'''; END $$;\n\
         SELECT 1/0;\n"
    );
    write(&p, "migrations/2_role/up.sql", &up);
    write(
        &p,
        "migrations/2_role/metadata.toml",
        "run_in_transaction = false\n",
    );
    let completed =
        format!("completed: line 1: CREATE ROLE {role} LOGIN ENCRYPTED PASSWORD '********';");
    for level in levels {
        check(
            "completed CREATE ROLE",
            level,
            &[&completed, "division by zero"],
        );
        db.psql(&format!("DROP ROLE IF EXISTS {role}"));
    }
    // The script is the user's SQL, verbatim.
    let script = p.render(&["upgrade", "--sql"]);
    assert!(fs::read_to_string(script)
        .expect("script")
        .contains("E'hunter2'"));
}

#[test]
fn byte_order_mark_is_left_out_with_a_warning_in_both_modes() {
    let p = project("bom")
        .migration(
            "1_a",
            "\u{feff}CREATE TABLE a (id INT);\n",
            Some("\u{feff}DROP TABLE a;\n"),
        )
        .build();
    let on = TestDb::new("bom_online");
    let off = TestDb::new("bom_offline");
    let output = dmig(&p, &on).arg("upgrade").output().expect("run dmig");
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    let warning = "/migrations/1_a/up.sql` starts with a UTF-8 byte order mark";
    assert!(err.starts_with("warning: `"), "{err}");
    assert!(err.contains(warning), "expected {warning:?} in:\n{err}");
    assert_eq!(tables(&on), ["a"]);

    let script = p.path().join("up.sql");
    let output = p
        .dmig()
        .args(["upgrade", "--sql", "--out"])
        .arg(&script)
        .output()
        .expect("run dmig");
    assert!(output.status.success());
    assert!(stderr(&output).contains(warning), "{}", stderr(&output));
    let text = fs::read_to_string(&script).expect("script");
    assert!(
        !text.contains('\u{feff}'),
        "the BOM must not reach the script"
    );
    off.run_script(&script);
    assert_eq!(off.schema_dump(), on.schema_dump());

    // down.sql too.
    let err = stderr(
        &dmig(&p, &on)
            .args(["downgrade", "base"])
            .output()
            .expect("run dmig"),
    );
    assert!(
        err.contains("/migrations/1_a/down.sql` starts with a UTF-8 byte order mark"),
        "{err}"
    );
    assert!(tables(&on).is_empty());
}

// B. Bad input: refused before anything runs, and nothing changes

const A: &str = "2024-01-01-000000_create_a";
const B: &str = "2024-01-02-000000_create_b";
const C: &str = "2024-01-03-000000_create_c";

fn with_a(b: ProjectBuilder) -> ProjectBuilder {
    b.migration(
        A,
        "CREATE TABLE a (id INT PRIMARY KEY);\n",
        Some("DROP TABLE a;\n"),
    )
}

fn with_b(b: ProjectBuilder) -> ProjectBuilder {
    b.migration(
        B,
        "CREATE TABLE b (id INT PRIMARY KEY, a_id INT REFERENCES a (id));\n",
        Some("DROP TABLE b;\n"),
    )
}

fn with_c(b: ProjectBuilder) -> ProjectBuilder {
    b.migration(C, "CREATE TABLE c (id INT);\n", Some("DROP TABLE c;\n"))
}

/// The three revisions; the database of the table test is at `B`.
fn abc() -> ProjectBuilder {
    with_c(with_b(with_a(project("bad_input"))))
}

/// One command of a row: online (with `DATABASE_URL`) or offline (`--out
/// out.sql` appended), its exit code and a fragment of its `error:` line.
struct Run {
    online: bool,
    args: &'static [&'static str],
    code: i32,
    expected: &'static str,
}

const fn online(args: &'static [&'static str], expected: &'static str) -> Run {
    Run {
        online: true,
        args,
        code: 1,
        expected,
    }
}

const fn offline(args: &'static [&'static str], expected: &'static str) -> Run {
    Run {
        online: false,
        args,
        code: 1,
        expected,
    }
}

const fn usage(online: bool, args: &'static [&'static str], expected: &'static str) -> Run {
    Run {
        online,
        args,
        code: 2,
        expected,
    }
}

struct Case {
    what: &'static str,
    project: fn() -> ProjectBuilder,
    runs: Vec<Run>,
    /// The online and offline runs print the very same `error:` line.
    same_message: bool,
}

fn cases() -> Vec<Case> {
    let up: &[&str] = &["upgrade"];
    let up_sql: &[&str] = &["upgrade", "--sql"];
    vec![
        Case {
            what: "duplicate versions",
            project: || abc().migration("20240103000000_again", "SELECT 1;\n", None),
            runs: vec![
                online(up, "duplicate version `20240103000000`"),
                offline(up_sql, "duplicate version `20240103000000`"),
            ],
            same_message: true,
        },
        Case {
            what: "empty revision directory",
            project: || abc().folder("migrations/2024-01-04-000000_empty"),
            runs: vec![
                online(up, "2024-01-04-000000_empty` is empty (expected up.sql)"),
                offline(up_sql, "2024-01-04-000000_empty` is empty (expected up.sql)"),
            ],
            same_message: true,
        },
        Case {
            what: "directory without up.sql",
            project: || abc().file("migrations/2024-01-04-000000_x/down.sql", "SELECT 1;\n"),
            runs: vec![
                online(up, "2024-01-04-000000_x` has no up.sql"),
                offline(up_sql, "2024-01-04-000000_x` has no up.sql"),
            ],
            same_message: true,
        },
        Case {
            // C is pending and fine: it must not run before 4's file is read.
            what: "non-UTF-8 up.sql",
            project: || {
                abc().file(
                    "migrations/2024-01-04-000000_latin1/up.sql",
                    b"SELECT '\xe9t\xe9';\n".as_slice(),
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_latin1/up.sql` is not valid UTF-8"),
                offline(up_sql, "2024-01-04-000000_latin1/up.sql` is not valid UTF-8"),
            ],
            same_message: true,
        },
        Case {
            // B would be reverted first: A's down.sql must be read before.
            what: "non-UTF-8 down.sql",
            project: || {
                abc().file(
                    format!("migrations/{A}/down.sql"),
                    b"DROP TABLE a; -- \xff\n".as_slice(),
                )
            },
            runs: vec![
                online(
                    &["downgrade", "base"],
                    "2024-01-01-000000_create_a/down.sql` is not valid UTF-8",
                ),
                offline(
                    &["downgrade", "--sql", "2024-01-02:base"],
                    "2024-01-01-000000_create_a/down.sql` is not valid UTF-8",
                ),
            ],
            same_message: true,
        },
        Case {
            what: "version with a quote",
            project: || abc().migration("2024'04_q", "SELECT 1;\n", None),
            runs: vec![
                online(up, "invalid version \"2024'04\" derived from `"),
                offline(up_sql, "invalid version \"2024'04\" derived from `"),
            ],
            same_message: true,
        },
        Case {
            what: "version with a backslash",
            project: || abc().migration("2024\\04_q", "SELECT 1;\n", None),
            runs: vec![
                online(up, "invalid version \"2024\\\\04\""),
                offline(up_sql, "invalid version \"2024\\\\04\""),
            ],
            same_message: true,
        },
        Case {
            what: "version with whitespace",
            project: || abc().migration("2024 04_q", "SELECT 1;\n", None),
            runs: vec![
                online(up, "invalid version \"2024 04\""),
                offline(up_sql, "invalid version \"2024 04\""),
            ],
            same_message: true,
        },
        Case {
            what: "version with a newline",
            project: || abc().migration("2024\n04_q", "SELECT 1;\n", None),
            runs: vec![
                online(up, "invalid version \"2024\\n04\""),
                offline(up_sql, "invalid version \"2024\\n04\""),
            ],
            same_message: true,
        },
        Case {
            what: "malformed metadata.toml",
            project: || {
                abc().file(
                    format!("migrations/{C}/metadata.toml"),
                    "run_in_transaction = maybe\n",
                )
            },
            runs: vec![
                online(up, "invalid `"),
                online(up, "2024-01-03-000000_create_c/metadata.toml`"),
                offline(up_sql, "2024-01-03-000000_create_c/metadata.toml`"),
            ],
            same_message: true,
        },
        Case {
            what: "malformed diesel.toml",
            project: || abc().file("diesel.toml", "[migrations_directory\ndir = 1\n"),
            runs: vec![
                online(up, "invalid config file `"),
                offline(up_sql, "invalid config file `"),
            ],
            same_message: true,
        },
        Case {
            what: "unknown target",
            project: abc,
            runs: vec![
                online(
                    &["upgrade", "2025"],
                    "unknown target `2025`; candidates: 2024-01-03-000000_create_c",
                ),
                online(&["downgrade", "2025"], "unknown target `2025`"),
                online(&["stamp", "2025"], "unknown target `2025`"),
                offline(
                    &["upgrade", "--sql", "2025"],
                    "unknown target `2025`; candidates: 2024-01-03-000000_create_c",
                ),
            ],
            same_message: true,
        },
        Case {
            what: "ambiguous target",
            project: abc,
            runs: vec![
                online(
                    &["upgrade", "2024-01-0"],
                    "ambiguous target `2024-01-0`; candidates: 2024-01-01-000000_create_a, 2024-01-02-000000_create_b, 2024-01-03-000000_create_c",
                ),
                online(&["downgrade", "2024-01-0"], "ambiguous target `2024-01-0`"),
                offline(
                    &["upgrade", "--sql", "2024-01-0"],
                    "ambiguous target `2024-01-0`; candidates: 2024-01-01-000000_create_a, 2024-01-02-000000_create_b, 2024-01-03-000000_create_c",
                ),
            ],
            same_message: true,
        },
        Case {
            what: "FROM:TO in the wrong order, and ranges online",
            project: abc,
            runs: vec![
                offline(
                    &["upgrade", "--sql", "head:base"],
                    "range `head:base` is backwards for upgrade: FROM is after TO",
                ),
                offline(
                    &["downgrade", "--sql", "base:head"],
                    "range `base:head` is backwards for downgrade",
                ),
                usage(false, &["downgrade", "--sql", "base"], "needs a FROM:TO range"),
                usage(true, &["upgrade", "head:base"], "ranges are for rendering SQL"),
                usage(true, &["downgrade", "head:base"], "ranges are for rendering SQL"),
            ],
            same_message: false,
        },
        Case {
            // B has a down.sql and would be reverted first.
            what: "downgrade crossing a revision without down.sql",
            project: || {
                with_c(with_b(project("no_down").migration(
                    A,
                    "CREATE TABLE a (id INT PRIMARY KEY);\n",
                    None,
                )))
            },
            runs: vec![
                online(
                    &["downgrade", "base"],
                    "revision `2024-01-01-000000_create_a` has no down.sql, so it cannot be reverted",
                ),
                offline(
                    &["downgrade", "--sql", "2024-01-02:base"],
                    "revision `2024-01-01-000000_create_a` has no down.sql, so it cannot be reverted",
                ),
            ],
            same_message: true,
        },
        Case {
            what: "comment-only down.sql on the way down",
            project: || abc().file(format!("migrations/{A}/down.sql"), "-- nothing\n"),
            runs: vec![
                online(
                    &["downgrade", "base"],
                    "2024-01-01-000000_create_a/down.sql` contains no SQL statement",
                ),
                offline(
                    &["downgrade", "--sql", "2024-01-02:base"],
                    "2024-01-01-000000_create_a/down.sql` contains no SQL statement",
                ),
            ],
            same_message: true,
        },
        Case {
            // A is applied but gone from disk; B would be reverted first.
            what: "applied version missing on disk",
            project: || with_c(with_b(project("missing"))),
            runs: vec![online(
                &["downgrade", "base"],
                "version `20240101000000` is applied but missing from the migrations directory, so it cannot be reverted",
            )],
            same_message: false,
        },
        Case {
            // C is transactional and would run first.
            what: "--transaction single with a non-transactional revision",
            project: || {
                abc().migration_no_tx(
                    "2024-01-04-000000_index",
                    "CREATE INDEX CONCURRENTLY c_id ON c (id);\n",
                    None,
                )
            },
            runs: vec![
                online(
                    &["upgrade", "--transaction", "single"],
                    "--transaction single cannot include revision `2024-01-04-000000_index`: its metadata.toml sets run_in_transaction = false",
                ),
                offline(
                    &["upgrade", "--sql", "--transaction", "single"],
                    "--transaction single cannot include revision `2024-01-04-000000_index`: its metadata.toml sets run_in_transaction = false",
                ),
            ],
            same_message: true,
        },
        Case {
            // C is pending and fine: it must not run before 4 is refused.
            what: "CREATE INDEX CONCURRENTLY in a transactional revision",
            project: || {
                abc().migration(
                    "2024-01-04-000000_ix",
                    "CREATE TABLE d (id INT);\n\n  create unique index\n concurrently d_id ON d (id);\n",
                    None,
                )
            },
            runs: vec![
                online(
                    up,
                    "2024-01-04-000000_ix/up.sql:3:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
                ),
                offline(
                    up_sql,
                    "2024-01-04-000000_ix/up.sql:3:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
                ),
            ],
            same_message: true,
        },
        Case {
            what: "VACUUM in a down.sql that runs in a transaction",
            project: || abc().file(format!("migrations/{A}/down.sql"), "DROP TABLE a;\nVACUUM;\n"),
            runs: vec![
                online(
                    &["downgrade", "base"],
                    "2024-01-01-000000_create_a/down.sql:2:1: VACUUM cannot run inside a transaction block",
                ),
                offline(
                    &["downgrade", "--sql", "2024-01-02:base"],
                    "2024-01-01-000000_create_a/down.sql:2:1: VACUUM cannot run inside a transaction block",
                ),
            ],
            same_message: true,
        },
        Case {
            what: "BEGIN and COMMIT in a transactional revision",
            project: || {
                abc().migration(
                    "2024-01-04-000000_tx",
                    "BEGIN;\nCREATE TABLE d (id INT);\nCOMMIT;\n",
                    None,
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_tx/up.sql:1:1: BEGIN would"),
                offline(up_sql, "2024-01-04-000000_tx/up.sql:1:1: BEGIN would"),
            ],
            same_message: true,
        },
        Case {
            what: "NUL byte in up.sql",
            project: || {
                abc().migration(
                    "2024-01-04-000000_nul",
                    "CREATE TABLE d (id INT);\nSELECT 'a\0b';\n",
                    None,
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_nul/up.sql:2:10: NUL byte"),
                offline(up_sql, "2024-01-04-000000_nul/up.sql:2:10: NUL byte"),
            ],
            same_message: true,
        },
        Case {
            // psql would feed it the data lines (and their stray quote); a
            // run through the harness loses its connection.
            what: "COPY FROM STDIN with its data",
            project: || {
                abc().migration(
                    "2024-01-04-000000_copy",
                    "CREATE TABLE d (id INT, note TEXT);\n  COPY d (id, note) FROM stdin;\n1\tit's\n2\tfine\n\\.\n",
                    None,
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_copy/up.sql:2:3: COPY ... FROM STDIN cannot run in a revision"),
                offline(up_sql, "2024-01-04-000000_copy/up.sql:2:3: COPY ... FROM STDIN cannot run in a revision"),
            ],
            same_message: true,
        },
        Case {
            what: "COPY TO STDOUT",
            project: || {
                abc().migration_no_tx(
                    "2024-01-04-000000_copy",
                    "COPY (SELECT 1) TO STDOUT;\n",
                    None,
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_copy/up.sql:1:1: COPY ... TO STDOUT cannot run in a revision"),
                offline(up_sql, "2024-01-04-000000_copy/up.sql:1:1: COPY ... TO STDOUT cannot run in a revision"),
            ],
            same_message: true,
        },
        Case {
            what: "psql meta-command",
            project: || {
                abc().migration(
                    "2024-01-04-000000_meta",
                    "CREATE TABLE d (id INT);\n\\set ON_ERROR_STOP off\nSELECT 1;\n",
                    None,
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_meta/up.sql:2:1: psql meta-command `\\set`"),
                offline(up_sql, "2024-01-04-000000_meta/up.sql:2:1: psql meta-command `\\set`"),
            ],
            same_message: true,
        },
        Case {
            what: "dangling symlink in the migrations directory",
            project: || {
                abc().symlink(
                    "migrations/2024-01-04-000000_gone",
                    "../elsewhere/2024-01-04-000000_gone",
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_gone` is a symbolic link to `../elsewhere/2024-01-04-000000_gone`, which does not exist"),
                online(&["check"], "2024-01-04-000000_gone` is a symbolic link"),
                online(&["status"], "2024-01-04-000000_gone` is a symbolic link"),
                offline(up_sql, "2024-01-04-000000_gone` is a symbolic link to `../elsewhere/2024-01-04-000000_gone`, which does not exist"),
            ],
            same_message: true,
        },
        Case {
            what: "empty up.sql",
            project: || abc().migration("2024-01-04-000000_e", "", None),
            runs: vec![
                online(up, "2024-01-04-000000_e/up.sql` contains no SQL statement"),
                offline(up_sql, "2024-01-04-000000_e/up.sql` contains no SQL statement"),
            ],
            same_message: true,
        },
        Case {
            what: "comment-only up.sql",
            project: || {
                abc().migration(
                    "2024-01-04-000000_c",
                    "-- Your SQL goes here\n/* nothing */\n",
                    None,
                )
            },
            runs: vec![
                online(up, "2024-01-04-000000_c/up.sql` contains no SQL statement"),
                offline(up_sql, "2024-01-04-000000_c/up.sql` contains no SQL statement"),
            ],
            same_message: true,
        },
    ]
}

#[test]
fn bad_input_is_refused_before_anything_runs_online_and_offline() {
    let db = TestDb::new("bad_input");
    let good = abc().build();
    dmig(&good, &db).args(["upgrade", B]).assert().success();
    let versions = db.versions();
    assert_eq!(versions, ["20240101000000", "20240102000000"]);
    let schema = db.schema_dump();

    for case in cases() {
        let what = case.what;
        let p = (case.project)().build();
        let mut error_lines = (None, None);
        for run in &case.runs {
            let mut cmd = if run.online { dmig(&p, &db) } else { p.dmig() };
            cmd.args(run.args);
            if !run.online && run.code == 1 {
                cmd.args(["--out", "out.sql"]);
            }
            let output = cmd.output().expect("run dmig");
            let err = stderr(&output);
            let mode = if run.online { "online" } else { "offline" };
            let args = run.args;
            assert_eq!(
                output.status.code(),
                Some(run.code),
                "{what}, {mode} {args:?}: {err}"
            );
            assert!(
                err.starts_with("error: ") && err.contains(run.expected),
                "{what}, {mode} {args:?}: expected {:?} in {err:?}",
                run.expected
            );
            assert!(output.stdout.is_empty(), "{what}, {mode} {args:?}: stdout");
            assert!(
                !p.path().join("out.sql").exists(),
                "{what}, {mode} {args:?}: out.sql was written"
            );
            let slot = if run.online {
                &mut error_lines.0
            } else {
                &mut error_lines.1
            };
            slot.get_or_insert(err);
        }
        if case.same_message {
            assert_eq!(
                error_lines.0, error_lines.1,
                "{what}: online and offline refuse differently"
            );
        }
        assert_eq!(db.versions(), versions, "{what}: version rows changed");
        assert_eq!(db.schema_dump(), schema, "{what}: the schema changed");
    }
}

#[test]
fn refused_run_on_a_fresh_database_creates_nothing() {
    let db = TestDb::new("refused_fresh");
    let empty = db.schema_dump();
    let p = abc()
        .migration("2024-01-04-000000_c", "-- Your SQL goes here\n", None)
        .build();
    let err = fails(dmig(&p, &db).arg("upgrade"), 1);
    assert!(err.contains("contains no SQL statement"), "{err}");
    let err = fails(dmig(&p, &db).args(["upgrade", "nope"]), 1);
    assert!(err.contains("unknown target `nope`"), "{err}");
    // Not even the version table.
    assert_eq!(db.schema_dump(), empty);
}
