-- dmig 0.1.0: upgrade base:20240105000000 (5 revisions, one transaction per revision)
-- A guarded script for psql 10 or newer: psql -f <this file>
-- - It stops at the first error: it sets ON_ERROR_STOP itself.
-- - It takes the migration lock online dmig runs take (advisory lock 3888674113241835903),
--   waiting at most 60 s for another migrator, and releases it at the end.
-- - Before changing anything, it checks that the database can go from base to 20240105000000,
--   and refuses, naming what it found, when not.
-- - It skips each revision already applied: run again after a failure, it resumes at
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
    (SELECT 'the database has applied versions newer than 20240105000000 that this script does not know (rendered from an older migrations directory?), render it again; found '
        || string_agg(v, ', ' ORDER BY n) FILTER (WHERE n <= 5)
        || CASE WHEN count(*) > 5 THEN format(' and %s more', count(*) - 5) ELSE '' END
      FROM (SELECT version::text AS v, row_number() OVER (ORDER BY version COLLATE "C") AS n FROM :"dmig_schema".__diesel_schema_migrations WHERE version COLLATE "C" > '20240105000000') AS found HAVING count(*) > 0)
) AS m) AS checks \gset
\if :{?dmig_refused}
\set SHOW_CONTEXT never
DO $dmig$ BEGIN RAISE EXCEPTION USING MESSAGE = current_setting('dmig.refusal'); END $dmig$;
\endif
\else
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
SELECT n.nspname::text AS dmig_schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('__diesel_schema_migrations') \gset
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
SELECT coalesce(bool_or(version = '20240101120000'), false) AS dmig_skip_0,
       coalesce(bool_or(version = '20240102090000'), false) AS dmig_skip_1,
       coalesce(bool_or(version = '20240103100000'), false) AS dmig_skip_2,
       coalesce(bool_or(version = '20240104080000'), false) AS dmig_skip_3,
       coalesce(bool_or(version = '20240105000000'), false) AS dmig_skip_4
FROM :"dmig_schema".__diesel_schema_migrations \gset

-- Running upgrade 20240101120000 (2024-01-01-120000_create_users)
\if :dmig_skip_0
\echo 'skipping upgrade 20240101120000 (2024-01-01-120000_create_users): already applied'
\else
BEGIN;
-- Accounts and their roles.
CREATE TYPE user_role AS ENUM ('member', 'moderator', 'admin');

CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    role        user_role NOT NULL DEFAULT 'member',
    -- Stored as written by the auth service, e.g. '$pbkdf2-sha512$25000$...$'.
    password_hash TEXT NOT NULL DEFAULT '$pbkdf2-sha512$0$$',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO users (email, role) VALUES
    ('ada@example.com', 'admin'),
    ('grace@example.com', 'moderator'),
    ('linus@example.com', 'member');
INSERT INTO :"dmig_schema".__diesel_schema_migrations (version) VALUES ('20240101120000');
INSERT INTO :"dmig_schema".__dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240101120000', '143625c68ee53644134f66c5c7edd8304ee34196f83673e27c82159df35a84f4', '3029dcdc72d548a2dc06d65eb34813a33a9675af8d85d6c75276120cb8b635b3', '0.1.0', 'offline', NULL);
COMMIT;
\endif

-- Running upgrade 20240102090000 (2024-01-02-090000_create_posts)
\if :dmig_skip_1
\echo 'skipping upgrade 20240102090000 (2024-01-02-090000_create_posts): already applied'
\else
BEGIN;
CREATE TABLE posts (
    id          BIGSERIAL PRIMARY KEY,
    author_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL CHECK (title <> ''),
    body        TEXT NOT NULL DEFAULT E'',
    published   BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE comments (
    id          BIGSERIAL PRIMARY KEY,
    post_id     BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id   BIGINT NOT NULL REFERENCES users (id),
    body        TEXT NOT NULL
);

INSERT INTO posts (author_id, title, body)
SELECT id, 'Hello from ' || email, E'It''s the first post.\nWelcome!'
FROM users
WHERE role = 'admin';
INSERT INTO :"dmig_schema".__diesel_schema_migrations (version) VALUES ('20240102090000');
INSERT INTO :"dmig_schema".__dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240102090000', '515f8b4a40b4a36ee656cf819703d5ddecae1117ad3e2c39addd4a23b853143f', 'ce27ea633fd0956f727d176dd3ff34c5ffdd6ceeb4ad43b16e183a7e481b47de', '0.1.0', 'offline', NULL);
COMMIT;
\endif

-- Running upgrade 20240103100000 (2024-01-03-100000_updated_at_trigger)
\if :dmig_skip_2
\echo 'skipping upgrade 20240103100000 (2024-01-03-100000_updated_at_trigger): already applied'
\else
BEGIN;
-- Keep updated_at current on every UPDATE.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A semicolon inside the body; must not end the statement.
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TRIGGER posts_set_updated_at
    BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION post_count(author BIGINT) RETURNS BIGINT
LANGUAGE sql STABLE AS $body$
    SELECT count(*) FROM posts WHERE author_id = author  -- '$$' is just text here
$body$ -- no semicolon after the last statement, and no newline after this comment
;
INSERT INTO :"dmig_schema".__diesel_schema_migrations (version) VALUES ('20240103100000');
INSERT INTO :"dmig_schema".__dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240103100000', 'ab2f5567b11f4f7af5be7d2fcd435ffa2dd0ff7874e08bdecbca44c38af01a65', '224b5337b56a5c6d00cf75d657345e6404fec355212515885f1cb9b819494ffb', '0.1.0', 'offline', NULL);
COMMIT;
\endif

-- Running upgrade 20240104080000 (2024-01-04-080000_backfill_display_name)
\if :dmig_skip_3
\echo 'skipping upgrade 20240104080000 (2024-01-04-080000_backfill_display_name): already applied'
\else
BEGIN;
-- Display names: backfill from the e-mail address (« ada » for ada@example.com).
ALTER TABLE users ADD COLUMN display_name TEXT;

UPDATE users
SET display_name = split_part(email, '@', 1)
WHERE display_name IS NULL;

ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
INSERT INTO :"dmig_schema".__diesel_schema_migrations (version) VALUES ('20240104080000');
INSERT INTO :"dmig_schema".__dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240104080000', '21dc519bf24a36f58b1990666258de8f1c71c3c51ed20cb759a52714aad61c3a', 'c7e6c81e4e1b71d32a1030c79529650d37ea3ae475794df8e20debb00519db48', '0.1.0', 'offline', NULL);
COMMIT;
\endif

-- Running upgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently)
\if :dmig_skip_4
\echo 'skipping upgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently): already applied'
\else
-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own
-- Built without blocking writes; CONCURRENTLY cannot run inside a transaction,
-- hence metadata.toml. Two of them in one file: each runs on its own.
CREATE INDEX CONCURRENTLY posts_author_id_idx ON posts (author_id);
CREATE INDEX CONCURRENTLY comments_post_id_idx ON comments (post_id);
INSERT INTO :"dmig_schema".__diesel_schema_migrations (version) VALUES ('20240105000000');
INSERT INTO :"dmig_schema".__dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240105000000', 'f1e5f270892bc942c16312b4adc9f94b51280771c608abfaf51a0fd0a441314a', 'c9d156184cbfeb1161f8adc00f0532d53a1c2f9e45ede08471fce5dbb357128d', '0.1.0', 'offline', NULL);
\endif

SELECT pg_advisory_unlock(3888674113241835903) AS dmig_unlocked \gset
