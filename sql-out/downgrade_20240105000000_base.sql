-- dmig 0.1.0: downgrade 20240105000000:base (5 revisions, one transaction per revision)
-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>

SET TIME ZONE 'UTC';
SET client_encoding = 'UTF8';

CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- dmig's own record beside Diesel's: each revision's checksums (--no-checksums leaves it out)
CREATE TABLE IF NOT EXISTS __dmig_revisions (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       up_sha256 TEXT NOT NULL,
       down_sha256 TEXT,
       applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
       applied_by TEXT NOT NULL DEFAULT current_user,
       dmig_version TEXT NOT NULL,
       mode TEXT NOT NULL,
       duration INTERVAL
);
DELETE FROM __dmig_revisions r
 WHERE NOT EXISTS (SELECT 1 FROM __diesel_schema_migrations d WHERE d.version = r.version);

-- Running downgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently)
-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own
DROP INDEX CONCURRENTLY IF EXISTS comments_post_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS posts_author_id_idx;
DELETE FROM __diesel_schema_migrations WHERE version = '20240105000000';
DELETE FROM __dmig_revisions WHERE version = '20240105000000';

-- Running downgrade 20240104080000 (2024-01-04-080000_backfill_display_name)
BEGIN;
ALTER TABLE users DROP COLUMN display_name;
DELETE FROM __diesel_schema_migrations WHERE version = '20240104080000';
DELETE FROM __dmig_revisions WHERE version = '20240104080000';
COMMIT;

-- Running downgrade 20240103100000 (2024-01-03-100000_updated_at_trigger)
BEGIN;
DROP FUNCTION post_count(BIGINT);
DROP TRIGGER posts_set_updated_at ON posts;
DROP TRIGGER users_set_updated_at ON users;
DROP FUNCTION set_updated_at();
DELETE FROM __diesel_schema_migrations WHERE version = '20240103100000';
DELETE FROM __dmig_revisions WHERE version = '20240103100000';
COMMIT;

-- Running downgrade 20240102090000 (2024-01-02-090000_create_posts)
BEGIN;
DROP TABLE comments;
DROP TABLE posts;
DELETE FROM __diesel_schema_migrations WHERE version = '20240102090000';
DELETE FROM __dmig_revisions WHERE version = '20240102090000';
COMMIT;

-- Running downgrade 20240101120000 (2024-01-01-120000_create_users)
BEGIN;
DROP TABLE users;
DROP TYPE user_role;
DELETE FROM __diesel_schema_migrations WHERE version = '20240101120000';
DELETE FROM __dmig_revisions WHERE version = '20240101120000';
COMMIT;

