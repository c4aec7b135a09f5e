-- Built without blocking writes; CONCURRENTLY cannot run inside a transaction,
-- hence metadata.toml. Two of them in one file: each runs on its own.
CREATE INDEX CONCURRENTLY posts_author_id_idx ON posts (author_id);
CREATE INDEX CONCURRENTLY comments_post_id_idx ON comments (post_id);
