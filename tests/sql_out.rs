//! `sql-out/` holds the bundled sample rendered both ways; it is committed so
//! a reviewer sees the SQL, and this test fails when it goes stale. Refresh:
//! `cargo run -- upgrade --sql --out sql-out/ && cargo run -- downgrade --sql head:base --out sql-out/`.

use std::path::Path;

use crate::support::project::project;

#[test]
fn sql_out_matches_the_bundled_migrations() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = project("sql-out").sample().build();
    p.dmig()
        .args(["upgrade", "--sql", "--out", "fresh/"])
        .assert()
        .success();
    p.dmig()
        .args(["downgrade", "--sql", "head:base", "--out", "fresh/"])
        .assert()
        .success();
    let fresh = p.list("fresh");
    let mut committed: Vec<String> = std::fs::read_dir(repo.join("sql-out"))
        .expect("sql-out/ exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    committed.sort();
    assert_eq!(
        committed, fresh,
        "sql-out/ has other files than a fresh render"
    );
    for name in fresh {
        let want = p.read(Path::new("fresh").join(&name));
        let have = std::fs::read_to_string(repo.join("sql-out").join(&name)).expect("read");
        assert!(
            want == have,
            "sql-out/{name} is stale; refresh it with the commands in tests/sql_out.rs"
        );
    }
}
