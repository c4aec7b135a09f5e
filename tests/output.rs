//! Output hygiene: a closed pipe ends dmig quietly, a closed stderr never
//! panics, `--out` files get the mode a user expects and follow symlinks,
//! an interrupted render leaves nothing behind, and values read from the
//! database are printed escaped.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, ProjectBuilder};

/// `n` revisions, each `size` bytes of SQL or more.
fn many(n: usize, size: usize) -> ProjectBuilder {
    let filler = format!("-- {}\n", "x".repeat(size.saturating_sub(40)));
    (0..n).fold(project("many"), |b, i| {
        b.migration(
            &format!("{:014}_r{i}", i + 1),
            &format!("{filler}CREATE TABLE t{i} (id INT);\n"),
            None,
        )
    })
}

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin!("dmig").to_path_buf()
}

/// `dmig args` in the project, with a clean environment, as a plain Command.
fn command(p: &Project, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(p.path())
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATION_DIRECTORY")
        .env_remove("DIESEL_CONFIG_FILE")
        .env_remove("DMIG_LOG");
    cmd
}

/// Run `cmd` reading one line of stdout and closing it, as `| head -1` does;
/// return the exit code and stderr.
fn head_1(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dmig");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert!(!line.is_empty());
    // The reader is gone: the next write gets EPIPE.
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn closed_stdout_ends_quietly_like_other_unix_tools() {
    // More than a pipe holds, so dmig is still writing when the reader goes.
    let p = many(1500, 120).build();
    for args in [
        &["upgrade", "--sql"][..],
        &["upgrade", "--sql", "--out", "-"],
        &["history"],
        &["history", "--format", "json"],
    ] {
        let (code, err) = head_1(command(&p, args));
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}: nothing on stderr");
    }
}

#[test]
fn closed_stderr_never_panics() {
    let p = project("stderr")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .file("migrations/1_a/metadata.toml", "# no key: a warning\n")
        .build();
    for (args, code) in [
        (&["upgrade", "--sql", "--out", "out.sql"][..], 0),
        (&["upgrade", "--sql", "nope"], 1),
        (&["frobnicate"], 2),
    ] {
        let mut child = command(&p, args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dmig");
        // As `2>&1 | head -0` would: nobody reads stderr.
        drop(child.stderr.take());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(code), "{args:?}: a panic exits 101");
    }
    assert!(p.read("out.sql").contains("CREATE TABLE a"));
}

#[test]
fn out_files_honour_the_umask_and_keep_an_existing_mode() {
    let p = project("modes")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .build();
    let mode = |name: &str| {
        fs::metadata(p.path().join(name))
            .expect("written")
            .permissions()
            .mode()
            & 0o7777
    };
    let with_umask = |umask: &str, out: &str| {
        let status = Command::new("sh")
            .current_dir(p.path())
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" upgrade --sql --out {out}"
            ))
            .arg(bin())
            .env_remove("DMIG_LOG")
            .stderr(Stdio::null())
            .status()
            .expect("run sh");
        assert!(status.success());
    };
    with_umask("022", "a.sql");
    assert_eq!(
        mode("a.sql"),
        0o644,
        "a DBA account must be able to read it"
    );
    with_umask("027", "b.sql");
    assert_eq!(mode("b.sql"), 0o640);
    with_umask("022", "dir/");
    assert_eq!(mode("dir/upgrade_base_1.sql"), 0o644);
    // An existing file keeps its mode, whatever the umask.
    fs::set_permissions(p.path().join("a.sql"), fs::Permissions::from_mode(0o604)).expect("chmod");
    with_umask("077", "a.sql");
    assert_eq!(mode("a.sql"), 0o604);
}

#[test]
fn out_to_a_symlink_writes_its_target_atomically() {
    let p = project("symlink")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .folder("real")
        .file("real/target.sql", "old\n")
        .symlink("out.sql", "real/target.sql")
        .symlink("new.sql", "real/new.sql")
        .build();
    for link in ["out.sql", "new.sql"] {
        command(&p, &["upgrade", "--sql", "--out", link])
            .stderr(Stdio::null())
            .status()
            .expect("run dmig")
            .success()
            .then_some(())
            .expect("rendered");
        let meta = fs::symlink_metadata(p.path().join(link)).expect("link");
        assert!(meta.file_type().is_symlink(), "{link} must stay a link");
    }
    assert!(p.read("real/target.sql").contains("CREATE TABLE a"));
    assert!(p.read("real/new.sql").contains("CREATE TABLE a"));
    for dir in [".", "real"] {
        let temps: Vec<_> = p
            .list(dir)
            .into_iter()
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(temps.is_empty(), "temp files left in {dir}: {temps:?}");
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}");
}

#[test]
fn interrupted_render_leaves_nothing_behind() {
    // Large enough that writing the script takes a while.
    let p = many(32, 2 << 20).folder("out").build();
    let mut child = command(&p, &["upgrade", "--sql", "--out", "out/script.sql"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dmig");
    let started = Instant::now();
    let temp = loop {
        if let Some(name) = p.list("out").into_iter().find(|n| n.ends_with(".tmp")) {
            break name;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no temp file appeared"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "dmig ended early"
        );
    };
    // Freeze it while it writes, so the interrupt lands mid-script.
    signal(child.id(), "STOP");
    assert!(
        p.path().join("out").join(&temp).exists(),
        "the render finished before it could be interrupted; make the project larger"
    );
    signal(child.id(), "INT");
    signal(child.id(), "CONT");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert_eq!(p.list("out"), Vec::<String>::new(), "nothing half-written");
}

#[test]
fn values_from_the_database_are_printed_escaped() {
    let db = TestDb::new("escaped_output");
    // Names the server reports back: a constraint and an index whose names
    // hold an escape sequence.
    let p = project("escaped")
        .migration(
            "1_a",
            "CREATE TABLE \"t\x1b[2J\" (id INT PRIMARY KEY);\nINSERT INTO \"t\x1b[2J\" VALUES (1), (1);\n",
            None,
        )
        .build();
    let mut cmd = p.dmig();
    cmd.env("DATABASE_URL", db.url()).arg("upgrade");
    let output = cmd.output().expect("run dmig");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("t?[2J_pkey"), "{err}");
    assert!(!err.contains('\x1b'), "raw escape in: {err:?}");

    fs::write(
        p.path().join("migrations/1_a/up.sql"),
        "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1), (1);\n",
    )
    .expect("write");
    let no_tx = "CREATE UNIQUE INDEX CONCURRENTLY \"a\x1b]0;pwned\x07\" ON a (id);\n";
    fs::create_dir_all(p.path().join("migrations/2_ix")).expect("mkdir");
    fs::write(p.path().join("migrations/2_ix/up.sql"), no_tx).expect("write");
    fs::write(
        p.path().join("migrations/2_ix/metadata.toml"),
        "run_in_transaction = false\n",
    )
    .expect("write");
    let mut cmd = p.dmig();
    cmd.env("DATABASE_URL", db.url()).arg("upgrade");
    let output = cmd.output().expect("run dmig");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("invalid index(es) left behind (drop them before retrying): "),
        "{err}"
    );
    assert!(
        !err.contains('\x1b') && !err.contains('\x07'),
        "raw control characters in: {err:?}"
    );

    // Rows written by someone else.
    db.psql("INSERT INTO __diesel_schema_migrations (version) VALUES (E'9\\x1b[2J')");
    for args in [
        &["current"][..],
        &["current", "--verbose"],
        &["status"],
        &["check"],
    ] {
        let mut cmd = p.dmig();
        cmd.env("DATABASE_URL", db.url()).args(args);
        let output = cmd.output().expect("run dmig");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains('\x1b'), "{args:?}: raw escape in {all:?}");
        assert!(all.contains("9?[2J"), "{args:?}: {all}");
    }
}

#[test]
fn closed_stderr_during_an_online_run_never_panics_and_the_run_completes() {
    let db = TestDb::new("closed_stderr_online");
    let p = (1..=3)
        .fold(project("closed_stderr"), |b, i| {
            b.migration(
                &format!("{i}_r"),
                &format!("CREATE TABLE t{i} (id INT);\nSELECT pg_sleep(0.2);\n"),
                None,
            )
        })
        .build();
    // `dmig upgrade 2>&1 | head -1`: the first progress line is read, then
    // nobody listens.
    let mut cmd = command(&p, &["upgrade"]);
    cmd.env("DATABASE_URL", db.url());
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dmig");
    let mut line = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut line)
        .expect("first line");
    assert!(line.starts_with("applied 1_r"), "{line}");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "a panic exits 101");
    assert_eq!(db.versions(), ["1", "2", "3"]);
}
