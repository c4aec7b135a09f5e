//! How the CLI reports: [`text`] listings for people, [`json`] documents
//! (the shapes live in [`crate::report`]), [`progress`] on stderr while
//! a run goes on, and [`autogen`] for `revision --autogenerate`, `check
//! --schema` and `verify`.

pub(crate) mod autogen;
pub(crate) mod json;
pub(crate) mod progress;
pub(crate) mod text;
