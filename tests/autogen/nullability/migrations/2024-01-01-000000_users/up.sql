CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email VARCHAR(100) DEFAULT 'nobody@example.com'
);
INSERT INTO users (name) VALUES ('ada'), ('grace');
