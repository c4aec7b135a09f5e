CREATE TABLE second (
    id SERIAL PRIMARY KEY,
    first_id INT NOT NULL REFERENCES first (id)
)