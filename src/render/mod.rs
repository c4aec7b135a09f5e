//! The offline sink: a [`Plan`](crate::plan::Plan) rendered as a PostgreSQL script for psql.
//! Pure: [`script`] writes into any `io::Write`, streams revision by
//! revision, and is byte-identical for the same inputs (no clock, no
//! absolute path); [`guard`] makes it safe to run on any database state
//! (the default for `--sql`); [`output`] puts it on stdout or into a file,
//! atomically.

pub mod guard;
pub mod output;
pub mod script;

pub use guard::Guard;
pub use output::{write_script, write_script_until, Output};
pub use script::{render, script_file_name, ScriptOptions};
