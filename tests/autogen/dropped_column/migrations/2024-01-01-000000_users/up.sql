CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status <> ''),
    nickname TEXT
);
CREATE INDEX users_status_idx ON users (status);
INSERT INTO users (name) VALUES ('ada'), ('grace');
