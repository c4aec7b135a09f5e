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
