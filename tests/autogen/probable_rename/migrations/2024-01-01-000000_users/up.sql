CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE posts (
    id SERIAL PRIMARY KEY,
    title TEXT NOT NULL
);
INSERT INTO users (name) VALUES ('ada');
INSERT INTO posts (title) VALUES ('hello');
