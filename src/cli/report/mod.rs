//! How the CLI reports: [`text`] listings for people, [`json`] documents
//! (the shapes live in [`crate::report`]), and [`progress`] on stderr while
//! a run goes on.

pub(crate) mod json;
pub(crate) mod progress;
pub(crate) mod text;
