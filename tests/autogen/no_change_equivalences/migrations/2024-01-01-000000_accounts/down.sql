DROP TABLE accounts;
DROP DOMAIN email;
