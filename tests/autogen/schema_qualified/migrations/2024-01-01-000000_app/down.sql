DROP TABLE app.things;
DROP TYPE app.status;
DROP SCHEMA app;
