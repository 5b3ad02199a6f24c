-- Run once by the MariaDB of docker-compose.local-db.yml, when it makes its data directory, in
-- the database MARIADB_DATABASE (DB_NAME): marks that database as this stack's, holding demo
-- data. demo-serre.sql writes the demo serre only into a database so marked, and `npm run demo`
-- knows the table too (src/ops/demo/database-guard.ts). The school's own database never has it.
CREATE TABLE IF NOT EXISTS parc_demo_marker (
  made_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) COMMENT 'made by docker-compose.local-db.yml: serre 1 and its bacs are demo data';
