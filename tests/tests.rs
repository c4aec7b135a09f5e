mod cli;
mod harness;
mod offline_pg;
mod render;
mod sql_out;
mod support;
