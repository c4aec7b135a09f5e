CREATE DOMAIN email AS TEXT CHECK (VALUE LIKE '%@%');
CREATE TABLE accounts (
    id INT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unbounded VARCHAR NOT NULL,
    bounded VARCHAR(255) NOT NULL,
    stated VARCHAR(20) NOT NULL,
    email email NOT NULL,
    price NUMERIC(10, 2) NOT NULL DEFAULT 0,
    at TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    code CHAR(3) UNIQUE,
    counter INT NOT NULL CHECK (counter >= 0),
    total DOUBLE PRECISION
);
CREATE INDEX accounts_code_idx ON accounts (lower(code));
