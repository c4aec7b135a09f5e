-- dmig 0.1.0: upgrade base:20240105000000 (5 revisions, one transaction per revision)
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

-- Running upgrade 20240101120000 (2024-01-01-120000_create_users)
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
INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101120000');
INSERT INTO __dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240101120000', '143625c68ee53644134f66c5c7edd8304ee34196f83673e27c82159df35a84f4', '3029dcdc72d548a2dc06d65eb34813a33a9675af8d85d6c75276120cb8b635b3', '0.1.0', 'offline', NULL);
COMMIT;

-- Running upgrade 20240102090000 (2024-01-02-090000_create_posts)
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
INSERT INTO __diesel_schema_migrations (version) VALUES ('20240102090000');
INSERT INTO __dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240102090000', '515f8b4a40b4a36ee656cf819703d5ddecae1117ad3e2c39addd4a23b853143f', 'ce27ea633fd0956f727d176dd3ff34c5ffdd6ceeb4ad43b16e183a7e481b47de', '0.1.0', 'offline', NULL);
COMMIT;

-- Running upgrade 20240103100000 (2024-01-03-100000_updated_at_trigger)
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
INSERT INTO __diesel_schema_migrations (version) VALUES ('20240103100000');
INSERT INTO __dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240103100000', 'ab2f5567b11f4f7af5be7d2fcd435ffa2dd0ff7874e08bdecbca44c38af01a65', '224b5337b56a5c6d00cf75d657345e6404fec355212515885f1cb9b819494ffb', '0.1.0', 'offline', NULL);
COMMIT;

-- Running upgrade 20240104080000 (2024-01-04-080000_backfill_display_name)
BEGIN;
-- Display names: backfill from the e-mail address (« ada » for ada@example.com).
ALTER TABLE users ADD COLUMN display_name TEXT;

UPDATE users
SET display_name = split_part(email, '@', 1)
WHERE display_name IS NULL;

ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
INSERT INTO __diesel_schema_migrations (version) VALUES ('20240104080000');
INSERT INTO __dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240104080000', '21dc519bf24a36f58b1990666258de8f1c71c3c51ed20cb759a52714aad61c3a', 'c7e6c81e4e1b71d32a1030c79529650d37ea3ae475794df8e20debb00519db48', '0.1.0', 'offline', NULL);
COMMIT;

-- Running upgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently)
-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own
-- Built without blocking writes; CONCURRENTLY cannot run inside a transaction,
-- hence metadata.toml. Two of them in one file: each runs on its own.
CREATE INDEX CONCURRENTLY posts_author_id_idx ON posts (author_id);
CREATE INDEX CONCURRENTLY comments_post_id_idx ON comments (post_id);
INSERT INTO __diesel_schema_migrations (version) VALUES ('20240105000000');
INSERT INTO __dmig_revisions (version, up_sha256, down_sha256, dmig_version, mode, duration) VALUES ('20240105000000', 'f1e5f270892bc942c16312b4adc9f94b51280771c608abfaf51a0fd0a441314a', 'c9d156184cbfeb1161f8adc00f0532d53a1c2f9e45ede08471fce5dbb357128d', '0.1.0', 'offline', NULL);

