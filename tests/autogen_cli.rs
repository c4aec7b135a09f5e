//! `dmig revision --autogenerate`, `dmig check --schema` and `dmig verify`
//! through the binary, as a user runs them.

use predicates::prelude::*;

use crate::support::pg::{admin_url, TestDb};
use crate::support::project::{project, Project};

const DIESEL_TOML: &str =
    "[print_schema]\nfile = \"src/schema.rs\"\n\n[migrations_directory]\ndir = \"migrations\"\n";

fn sample_project(schema_rs: &str) -> Project {
    project("autogen_cli")
        .sample()
        .file("diesel.toml", DIESEL_TOML)
        .file("src/schema.rs", schema_rs)
        .build()
}

fn sample_schema() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/autogen/sample/schema.rs"),
    )
    .expect("sample schema.rs")
}

fn with_bio() -> String {
    sample_schema().replace(
        "        display_name -> Text,\n",
        "        display_name -> Text,\n        bio -> Nullable<Text>,\n",
    )
}

#[test]
fn nothing_to_change_prints_no_changes_and_writes_nothing() {
    let p = sample_project(&sample_schema());
    let before = p.list("migrations");
    p.dmig()
        .args(["revision", "--autogenerate", "-m", "nothing"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .success()
        .stdout("no changes\n");
    assert_eq!(p.list("migrations"), before);
}

#[test]
fn a_change_is_written_verified_as_a_new_revision_directory() {
    let p = sample_project(&with_bio());
    let out = p
        .dmig()
        .args(["revision", "--autogenerate", "-m", "add bio"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .success()
        .stderr(predicate::str::contains("Add column users.bio"))
        .stderr(predicate::str::contains(
            "verified on a scratch copy of head",
        ))
        .get_output()
        .stdout
        .clone();
    let dir = String::from_utf8(out).expect("utf-8");
    let dir = dir.trim();
    assert!(
        dir.starts_with("migrations/") && dir.ends_with("_add_bio"),
        "{dir}"
    );
    assert_eq!(p.list(dir), ["down.sql", "up.sql"]);
    assert!(p
        .read(format!("{dir}/up.sql"))
        .contains("ALTER TABLE users ADD COLUMN bio TEXT;"));
    // The next run has nothing left to do.
    p.dmig()
        .args(["revision", "--autogenerate", "-m", "again"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .success()
        .stdout("no changes\n");
}

#[test]
fn check_schema_exits_3_when_schema_rs_and_the_database_differ() {
    let p = sample_project(&with_bio());
    let db = TestDb::new("autogen_cli_check");
    p.dmig()
        .env("DATABASE_URL", db.url())
        .arg("upgrade")
        .assert()
        .success();
    p.dmig()
        .env("DATABASE_URL", db.url())
        .args(["check", "--schema"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("Add column users.bio"));
    p.dmig()
        .env("DATABASE_URL", db.url())
        .args(["check", "--schema", "src/schema.rs"])
        .assert()
        .code(3);
    std::fs::write(p.path().join("src/schema.rs"), sample_schema()).expect("write");
    p.dmig()
        .env("DATABASE_URL", db.url())
        .args(["check", "--schema"])
        .assert()
        .success()
        .stderr(predicate::str::contains("schema.rs matches the database"));
}

#[test]
fn a_refusal_is_exit_1_naming_the_flag() {
    let p = sample_project(&sample_schema().replace(
        "        body -> Text,\n    }\n}\n\ndiesel::table! {\n    posts",
        "    }\n}\n\ndiesel::table! {\n    posts",
    ));
    p.dmig()
        .args(["revision", "--autogenerate", "-m", "drop body"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("drop column `comments.body`"))
        .stderr(predicate::str::contains("--allow-destructive"));
}

#[test]
fn verify_checks_every_revision_of_the_sample() {
    let p = sample_project(&sample_schema());
    p.dmig()
        .args(["verify", "--scratch-url", &admin_url()])
        .assert()
        .success()
        .stdout("verified 5 revision(s)\n")
        .stderr(predicate::str::contains("the offline script (run by psql)"));
}

#[test]
fn check_schema_as_json_says_what_differs() {
    let p = sample_project(&with_bio());
    let db = TestDb::new("autogen_cli_check_json");
    p.dmig()
        .env("DATABASE_URL", db.url())
        .arg("upgrade")
        .assert()
        .success();
    let out = p
        .dmig()
        .env("DATABASE_URL", db.url())
        .args(["check", "--schema", "--format", "json"])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(doc["dmig"], 1);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["pending"], serde_json::json!([]));
    assert_eq!(doc["schema"]["files"], serde_json::json!(["src/schema.rs"]));
    assert_eq!(
        doc["schema"]["differences"],
        serde_json::json!(["Add column users.bio"])
    );
}

#[test]
fn usage_mistakes_are_exit_2() {
    let p = sample_project(&sample_schema());
    p.dmig()
        .env_remove("DATABASE_URL")
        .args(["revision", "--autogenerate", "-m", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no database: pass --database-url"));
    p.dmig()
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["revision", "--autogenerate", "-m", "x", "--no-verify"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--scratch-url does nothing here"));
    p.dmig()
        .args(["revision", "--autogenerate", "-m", "x", "--no-transaction"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .code(2);
    p.dmig()
        .args(["revision", "--autogenerate", "-m", "x", "--rename", "users"])
        .args(["--scratch-url", &admin_url()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--rename users: expected TABLE.OLD=NEW",
        ));
    p.dmig()
        .args(["revision", "-m", "x", "--scratch-url", &admin_url()])
        .assert()
        .code(2);
    assert!(!p.list("migrations").iter().any(|d| d.ends_with("_x")));
}
