mod bench_smoke;
mod cli;
mod failures;
mod harness;
mod offline_pg;
mod online;
mod output;
mod pgbouncer_smoke;
mod reliability;
mod render;
#[cfg(feature = "pg-query-tests")]
mod split_pg_query;
mod sql_out;
mod support;
mod tls;
