CREATE TYPE mood AS ENUM ('happy', 'meh', 'sad');
CREATE TABLE people (id SERIAL PRIMARY KEY, mood mood NOT NULL DEFAULT 'happy', history mood[]);
INSERT INTO people (mood) VALUES ('happy');
