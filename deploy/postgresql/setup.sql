-- Colloquy's PostgreSQL role and database. Run once as the postgres superuser, giving the
-- role's password (the one in DATABASE_URL) as a psql variable:
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v password='...' -f deploy/postgresql/setup.sql
-- The tables are made by the migrations (`flask db upgrade`), as the colloquy role.
CREATE ROLE colloquy LOGIN PASSWORD :'password';
CREATE DATABASE colloquy OWNER colloquy ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0;
REVOKE ALL ON DATABASE colloquy FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE colloquy TO colloquy;
\connect colloquy
-- Only the application's role creates objects in its database.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO colloquy;
