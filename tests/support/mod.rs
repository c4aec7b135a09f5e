pub mod pg;
pub mod pgbouncer;
pub mod process;
pub mod project;
