//! `Target::parse`, `Range::parse` and `resolve` on arbitrary text, against a
//! small fixed revision list: never panic, and a resolved position is always
//! within `0..=revisions.len()`.

#![no_main]

use std::sync::OnceLock;

use dmig::model::{Revision, SqlSource, Version};
use dmig::plan::target::resolve;
use dmig::plan::{Range, Target, TargetKind};
use libfuzzer_sys::fuzz_target;

/// Names chosen so that prefixes, dashed and undashed versions, and names that
/// contain one another all occur.
const NAMES: &[&str] = &[
    "2024-01-01-120000_create_users",
    "2024-01-02-090000_create_posts",
    "2024-01-02-100000_create_posts_index",
    "20240103000000_plain",
    "2024-02-01-000000_add_index",
    "2025_short",
    "9_z",
];

fn revisions() -> &'static [Revision] {
    static REVISIONS: OnceLock<Vec<Revision>> = OnceLock::new();
    REVISIONS.get_or_init(|| {
        let mut revisions: Vec<Revision> = NAMES
            .iter()
            .map(|name| Revision {
                version: Version::from_dir_name(name),
                name: name.to_string(),
                up: SqlSource::Embedded("SELECT 1;"),
                down: None,
                run_in_transaction: true,
            })
            .collect();
        revisions.sort_by(|a, b| a.version.cmp(&b.version));
        revisions
    })
}

fn check(target: &Target, revisions: &[Revision], current: usize) {
    if let Ok(position) = resolve(target, revisions, current) {
        assert!(
            position <= revisions.len(),
            "{:?} resolved to {position} of {} (current {current})",
            target.text(),
            revisions.len()
        );
        match target.kind() {
            TargetKind::Head => assert_eq!(position, revisions.len()),
            TargetKind::Base => assert_eq!(position, 0),
            TargetKind::Revision(_) => assert!(position >= 1),
            TargetKind::Relative(_) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let all = revisions();
    // Any prefix of the list (the empty one included), and a current position
    // that may even lie past its end.
    let revisions = &all[..usize::from(selector & 0x0f) % (all.len() + 1)];
    let current = usize::from(selector >> 4) % (revisions.len() + 3);
    let text = String::from_utf8_lossy(text);

    if let Ok(target) = Target::parse(&text) {
        assert!(!text.contains(':'));
        check(&target, revisions, current);
    }
    if let Ok(range) = Range::parse(&text) {
        if let Some(from) = &range.from {
            check(from, revisions, current);
        }
        check(&range.to, revisions, current);
    }
});
