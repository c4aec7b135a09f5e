CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email VARCHAR(100)
);
INSERT INTO users (name, email) VALUES ('ada', 'ada@example.com'), ('grace', NULL), ('linus', 'l@example.com');
