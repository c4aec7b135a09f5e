pub mod pg;
pub mod project;
