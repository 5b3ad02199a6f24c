-- The demo data of the local database (docker-compose.local-db.yml): serre 1 with bacs 1 and 2,
-- so that the README's test reading (serre/1/bac/1) lands instead of becoming BAC_NOT_FOUND.
-- The demo-serre service runs it after the schema at every `up`; it writes once, and only into
-- the database this stack's MariaDB made: the one whose init made parc_demo_marker
-- (initdb/demo-marker.sql). Its row, written with the demo data, says it is done: a school that
-- deletes the demo serre in the web application does not get it back at the next `up`.
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE serre_id INT;
  IF EXISTS (SELECT 1 FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'parc_demo_marker') THEN
    START TRANSACTION;
    IF NOT EXISTS (SELECT 1 FROM parc_demo_marker FOR UPDATE) THEN
      INSERT INTO serre (numero) VALUES (1);
      SET serre_id = LAST_INSERT_ID();
      INSERT INTO bac (serre, numero) VALUES (serre_id, 1), (serre_id, 2);
      INSERT INTO parc_demo_marker () VALUES ();
    END IF;
    COMMIT;
  END IF;
END //
DELIMITER ;
