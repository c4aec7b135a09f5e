CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email VARCHAR(100),
    visits INT NOT NULL DEFAULT 0
);
INSERT INTO users (name, email, visits) VALUES ('ada', 'ada@example.com', 2147483647), ('grace', NULL, 7);
