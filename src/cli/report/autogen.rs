//! What `revision --autogenerate`, `check --schema` and `verify` tell people,
//! on stderr; stdout gets only the result a script reads (the new
//! directory, `no changes`, the `verify` summary).

use crate::cli::output::say;
use crate::model::printable;
use crate::schema::{ddl, Finding, Generated, VerifyReport};

/// `warning: ...` and `note: ...`, one line each.
pub(crate) fn findings(findings: &[Finding]) {
    for finding in findings {
        say!("{}: {finding}", finding.severity());
    }
}

/// A generated revision before it is written: its findings, one line per
/// operation, and whether (and how) it was verified.
pub(crate) fn generated(generated: &Generated, no_verify: bool) {
    findings(&generated.notices);
    for op in &generated.ops {
        say!("  {}", ddl::describe(op));
    }
    if generated.verified {
        say!("verified on a scratch copy of head: up.sql leaves nothing to diff, down.sql restores head");
    } else if no_verify {
        say!("not verified (--no-verify)");
    } else {
        say!(
            "not verified: pass --scratch-url ADMIN_URL to prove the revision on a scratch copy of head"
        );
    }
}

/// `check --schema`: schema.rs against the database at head.
pub(crate) fn schema_differences(differences: &[String], quiet: bool) {
    if differences.is_empty() {
        if !quiet {
            say!("schema.rs matches the database");
        }
        return;
    }
    say!(
        "schema.rs and the database differ ({} change(s); write them with `dmig revision --autogenerate -m ...`):",
        differences.len()
    );
    for difference in differences {
        say!("  {difference}");
    }
}

/// `dmig verify`: each revision checked (unless `quiet`), then the summary on stdout.
pub(crate) fn verify(report: &VerifyReport, quiet: bool) -> anyhow::Result<()> {
    if !quiet {
        for name in &report.checked {
            say!(
                "ok  {}  down.sql restores the schema before it; up.sql again gives the same",
                printable(name)
            );
        }
        for name in &report.skipped {
            say!("skipped  {}", printable(name));
        }
        say!(
            "the offline script (run by {}) leaves the same schema as the online upgrade",
            report.offline_runner
        );
    }
    let checked = report.checked.len();
    crate::cli::output::to_stdout(|out| writeln!(out, "verified {checked} revision(s)"))
}
