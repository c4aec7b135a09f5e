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
WHERE role = 'admin'
