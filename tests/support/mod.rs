pub mod pg;
pub mod pgbouncer;
pub mod project;
