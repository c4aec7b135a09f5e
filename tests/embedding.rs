//! An application that embeds dmig as a library, built as the separate crate
//! it would be: `dmig = { default-features = false, features = ["postgres"] }`,
//! no `include_dir` of its own. It must compile without clap, anyhow or
//! tracing-subscriber, and migrate a database through its own pool.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::pg::TestDb;
use crate::support::project::SAMPLE_VERSIONS;

const APP: &str = r#"
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;

static MIGRATIONS: dmig::embed::Dir<'static> =
    dmig::embed_migrations!("$CARGO_MANIFEST_DIR/migrations");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: app DATABASE_URL")?;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    let pool = Pool::builder().max_size(2).build(manager).await?;
    let revisions = dmig::embed::revisions(&MIGRATIONS)?;
    let outcome = dmig::online::upgrade_to_head(&pool, &revisions).await?;
    println!("{} applied, at {}", outcome.steps.len(), outcome.to);
    Ok(())
}
"#;

/// A crate of its own under the test's temp dir, depending on this checkout.
fn app_crate() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("embedding-app");
    fs::create_dir_all(root.join("src")).expect("mkdir app");
    let manifest = format!(
        "[package]\nname = \"embedding-app\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n\
         dmig = {{ path = {repo:?}, default-features = false, features = [\"postgres\"] }}\n\
         diesel-async = {{ version = \"0.9\", features = [\"postgres\", \"bb8\"] }}\n\
         tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n\n\
         # Not part of dmig's workspace.\n[workspace]\n",
        repo = repo.display().to_string()
    );
    fs::write(root.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    fs::write(root.join("src/main.rs"), APP).expect("write main.rs");
    // The same versions as dmig's own build: resolvable offline.
    fs::copy(repo.join("Cargo.lock"), root.join("Cargo.lock")).expect("copy Cargo.lock");
    let migrations = root.join("migrations");
    let _ = fs::remove_dir_all(&migrations);
    copy_dir(&repo.join("migrations"), &migrations);
    root
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn cargo(root: &Path, args: &[&str]) -> std::process::Output {
    // Its own target dir: this test runs inside `cargo test`, which holds
    // the lock of dmig's.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("embedding-app-target");
    Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo")
}

#[test]
fn an_application_embeds_dmig_without_the_cli_and_migrates_through_its_own_pool() {
    let root = app_crate();

    let tree = cargo(&root, &["tree", "-e", "normal", "--prefix", "none"]);
    assert!(
        tree.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("dmig v"), "{tree}");
    for cli_only in ["clap v", "anyhow v", "tracing-subscriber v"] {
        assert!(
            !tree.lines().any(|line| line.starts_with(cli_only)),
            "the embedding app compiles {cli_only}:\n{tree}"
        );
    }

    let build = cargo(&root, &["build", "--quiet"]);
    assert!(
        build.status.success(),
        "the embedding app does not build:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let db = TestDb::new("embedding_app");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("embedding-app-target");
    let run = Command::new(target.join("debug/embedding-app"))
        .arg(db.url())
        .output()
        .expect("run the app");
    assert!(
        run.status.success(),
        "the app failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("5 applied, at {}\n", SAMPLE_VERSIONS[4])
    );
    assert_eq!(db.versions(), SAMPLE_VERSIONS);
}
