-- dmig 0.1.0: downgrade 20240105000000:base (5 revisions, one transaction per revision)
-- A guarded script for psql 10 or newer: psql -f <this file>
-- - It stops at the first error: it sets ON_ERROR_STOP itself.
-- - It takes the migration lock online dmig runs take (advisory lock 3888674113241835903),
--   waiting at most 60 s for another migrator, and releases it at the end.
-- - Before changing anything, it checks that the database can go from 20240105000000 to base,
--   and refuses, naming what it found, when not.
-- - It skips each revision already reverted: run again after a failure, it resumes at
--   the failed revision; run twice, the second run changes nothing.
-- For tools other than psql, render with --plain.

\set ON_ERROR_STOP on
\set ON_ERROR_ROLLBACK off
\set AUTOCOMMIT on

SET TIME ZONE 'UTC';
SET client_encoding = 'UTF8';

-- The migration lock, as online runs take it: polled, so that waiting holds no snapshot a
-- concurrent CREATE INDEX CONCURRENTLY would wait for; released at the end of the script
-- (or when the session ends).
\set dmig_show_context :SHOW_CONTEXT
\set SHOW_CONTEXT never
SET statement_timeout = 0;
DO $dmig$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '60 seconds';
    holder text;
    told boolean := false;
BEGIN
    -- A transaction that started before this statement is psql -1's.
    IF now() <> statement_timestamp() THEN
        RAISE EXCEPTION 'this script runs its own transactions: run it with psql -f, not inside one (psql -1 or --single-transaction); for one transaction, render it with --transaction single';
    END IF;
    LOOP
        IF pg_try_advisory_lock(3888674113241835903) THEN
            RETURN;
        END IF;
        SELECT 'pid ' || h.pid || coalesce(' (' || nullif(concat_ws(', ', nullif(h.application, ''), h.client), '') || ')', '')
            INTO holder FROM (SELECT l.pid, a.application_name AS application, host(a.client_addr) AS client FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.classid::bigint = (3888674113241835903 >> 32) & 4294967295 AND l.objid::bigint = 3888674113241835903 & 4294967295 AND l.objsubid = 1 LIMIT 1) AS h;
        holder := coalesce(holder, 'another session');
        IF clock_timestamp() >= deadline THEN
            RAISE EXCEPTION 'gave up after 60s waiting for the migration lock (advisory lock 3888674113241835903), held by %; another migrator is running: run this script again once it is done (it changed nothing)', holder;
        END IF;
        IF NOT told THEN
            RAISE NOTICE 'waiting for the migration lock (advisory lock 3888674113241835903), held by %', holder;
            told := true;
        END IF;
        COMMIT;
        PERFORM pg_sleep(least(0.1, greatest(0, extract(epoch FROM deadline - clock_timestamp()))));
    END LOOP;
END
$dmig$;
RESET statement_timeout;
\set SHOW_CONTEXT :dmig_show_context

-- The version table: the __diesel_schema_migrations the server resolves on the search_path, used
-- schema-qualified from here on; two of them on the search_path are refused.
SELECT (array_agg(n.nspname::text ORDER BY s.position))[1] AS dmig_schema,
       CASE WHEN count(*) > 1 THEN set_config('dmig.refusal', 'dmig: ' || 'found two version tables on the search_path: ' || string_agg(quote_ident(n.nspname) || '.__diesel_schema_migrations', ' and ' ORDER BY s.position) || '; drop or rename the one that is not in use, or set search_path so only one is visible; the script changed nothing', false) END AS dmig_refused
FROM unnest(current_schemas(false)) WITH ORDINALITY AS s(name, position)
JOIN pg_namespace n ON n.nspname = s.name
JOIN pg_class c ON c.relnamespace = n.oid
WHERE c.relname = '__diesel_schema_migrations' AND c.relkind IN ('r', 'p') \gset
\if :{?dmig_refused}
\set SHOW_CONTEXT never
DO $dmig$ BEGIN RAISE EXCEPTION USING MESSAGE = current_setting('dmig.refusal'); END $dmig$;
\endif
SELECT current_setting('search_path') AS dmig_search_path \gset
-- What the script expects of the database before its first revision.
\if :{?dmig_schema}
SELECT CASE WHEN m IS NOT NULL THEN set_config('dmig.refusal', 'dmig: ' || m || '; the script changed nothing', false) END AS dmig_refused
FROM (SELECT coalesce(
    (SELECT 'this script reverts from 20240105000000 down, but the database has newer versions applied that it cannot revert first; render it from the version the database is at; found '
        || string_agg(v, ', ' ORDER BY n) FILTER (WHERE n <= 5)
        || CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END
      FROM (SELECT version::text AS v, row_number() OVER (ORDER BY version COLLATE "C") AS n FROM :"dmig_schema".__diesel_schema_migrations WHERE version COLLATE "C" > '20240105000000') AS found HAVING count(*) > 0)
) AS m) AS checks \gset
\if :{?dmig_refused}
\set SHOW_CONTEXT never
DO $dmig$ BEGIN RAISE EXCEPTION USING MESSAGE = current_setting('dmig.refusal'); END $dmig$;
\endif
\else
\echo 'nothing to do: no __diesel_schema_migrations on the search_path, so nothing of this script is applied'
SELECT pg_advisory_unlock(3888674113241835903) AS dmig_unlocked \gset
\q
\endif

-- dmig's own record beside Diesel's: each revision's checksums (--no-checksums leaves it out)
CREATE TABLE IF NOT EXISTS :"dmig_schema".__dmig_revisions (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       up_sha256 TEXT NOT NULL,
       down_sha256 TEXT,
       applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
       applied_by TEXT NOT NULL DEFAULT current_user,
       dmig_version TEXT NOT NULL,
       mode TEXT NOT NULL,
       duration INTERVAL
);
DELETE FROM :"dmig_schema".__dmig_revisions r
 WHERE NOT EXISTS (SELECT 1 FROM :"dmig_schema".__diesel_schema_migrations d WHERE d.version = r.version);

-- Which revisions are already done, read once under the lock.
SELECT NOT coalesce(bool_or(version = '20240105000000'), false) AS dmig_skip_0,
       NOT coalesce(bool_or(version = '20240104080000'), false) AS dmig_skip_1,
       NOT coalesce(bool_or(version = '20240103100000'), false) AS dmig_skip_2,
       NOT coalesce(bool_or(version = '20240102090000'), false) AS dmig_skip_3,
       NOT coalesce(bool_or(version = '20240101120000'), false) AS dmig_skip_4
FROM :"dmig_schema".__diesel_schema_migrations \gset

-- Running downgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently)
\if :dmig_skip_0
\echo 'skipping downgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently): not applied'
\else
-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own
DROP INDEX CONCURRENTLY IF EXISTS comments_post_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS posts_author_id_idx;
DELETE FROM :"dmig_schema".__diesel_schema_migrations WHERE version = '20240105000000';
DELETE FROM :"dmig_schema".__dmig_revisions WHERE version = '20240105000000';
\endif

-- Running downgrade 20240104080000 (2024-01-04-080000_backfill_display_name)
\if :dmig_skip_1
\echo 'skipping downgrade 20240104080000 (2024-01-04-080000_backfill_display_name): not applied'
\else
BEGIN;
ALTER TABLE users DROP COLUMN display_name;
DELETE FROM :"dmig_schema".__diesel_schema_migrations WHERE version = '20240104080000';
DELETE FROM :"dmig_schema".__dmig_revisions WHERE version = '20240104080000';
COMMIT;
\endif

-- Running downgrade 20240103100000 (2024-01-03-100000_updated_at_trigger)
\if :dmig_skip_2
\echo 'skipping downgrade 20240103100000 (2024-01-03-100000_updated_at_trigger): not applied'
\else
BEGIN;
DROP FUNCTION post_count(BIGINT);
DROP TRIGGER posts_set_updated_at ON posts;
DROP TRIGGER users_set_updated_at ON users;
DROP FUNCTION set_updated_at();
DELETE FROM :"dmig_schema".__diesel_schema_migrations WHERE version = '20240103100000';
DELETE FROM :"dmig_schema".__dmig_revisions WHERE version = '20240103100000';
COMMIT;
\endif

-- Running downgrade 20240102090000 (2024-01-02-090000_create_posts)
\if :dmig_skip_3
\echo 'skipping downgrade 20240102090000 (2024-01-02-090000_create_posts): not applied'
\else
BEGIN;
DROP TABLE comments;
DROP TABLE posts;
DELETE FROM :"dmig_schema".__diesel_schema_migrations WHERE version = '20240102090000';
DELETE FROM :"dmig_schema".__dmig_revisions WHERE version = '20240102090000';
COMMIT;
\endif

-- Running downgrade 20240101120000 (2024-01-01-120000_create_users)
\if :dmig_skip_4
\echo 'skipping downgrade 20240101120000 (2024-01-01-120000_create_users): not applied'
\else
BEGIN;
DROP TABLE users;
DROP TYPE user_role;
DELETE FROM :"dmig_schema".__diesel_schema_migrations WHERE version = '20240101120000';
DELETE FROM :"dmig_schema".__dmig_revisions WHERE version = '20240101120000';
COMMIT;
\endif

SELECT pg_advisory_unlock(3888674113241835903) AS dmig_unlocked \gset
