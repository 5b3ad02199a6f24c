/**
 * The web app's tables the bridge uses, created only where missing, and the bridge's own tables.
 * On an existing SIGACS database every statement is a no-op for the web app's data.
 */

/**
 * Tables the web application owns; the bridge creates them only on a fresh database.
 * serre.controleur (the MAC of the serre's controller, as in the web app's schema) is read only
 * by `parc-bridge acl`; an existing database without it is left as it is.
 */
export const WEB_APP_TABLES = `
CREATE TABLE IF NOT EXISTS serre (
  id_serre INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  numero INT NOT NULL,
  controleur VARCHAR(17) NULL,
  KEY serre_numero (numero)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS bac (
  id_bac INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  serre INT NOT NULL,
  numero INT NOT NULL,
  KEY bac_serre_numero (serre, numero),
  CONSTRAINT fk_bac_serre FOREIGN KEY (serre) REFERENCES serre (id_serre)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS capteur (
  id_capteur INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type VARCHAR(64) NOT NULL,
  valeurMinCapteur FLOAT NULL,
  valeurMaxCapteur FLOAT NULL,
  unite VARCHAR(16) NULL,
  UNIQUE KEY capteur_type (type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS mesure (
  id_mesure BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  bac INT NOT NULL,
  capteur INT NOT NULL,
  value FLOAT NOT NULL,
  mesure_a DATETIME NOT NULL,
  KEY mesure_bac_capteur_date (bac, capteur, mesure_a),
  CONSTRAINT fk_mesure_bac FOREIGN KEY (bac) REFERENCES bac (id_bac),
  CONSTRAINT fk_mesure_capteur FOREIGN KEY (capteur) REFERENCES capteur (id_capteur)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS controleur (
  id_controleur VARCHAR(17) NOT NULL PRIMARY KEY,
  type VARCHAR(64) NULL,
  nom VARCHAR(64) NOT NULL DEFAULT 'controleur',
  ip VARCHAR(45) NULL,
  status BOOLEAN NOT NULL DEFAULT FALSE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS error (
  id_error BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type_erreur VARCHAR(64) NOT NULL,
  message TEXT NOT NULL,
  valeur TEXT NULL,
  erreur_a DATETIME NOT NULL,
  KEY error_date (erreur_a)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
`;

/** The bridge's own bookkeeping, named so that nobody mistakes it for web app data. */
export const BRIDGE_TABLES = `
CREATE TABLE IF NOT EXISTS bridge_journal_position (
  client_id VARCHAR(191) NOT NULL PRIMARY KEY,
  journal_id CHAR(36) NOT NULL,
  last_seq BIGINT NOT NULL,
  updated_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS bridge_controleur_event (
  id_controleur VARCHAR(17) NOT NULL PRIMARY KEY,
  last_event_ms BIGINT NOT NULL,
  journal_id CHAR(36) NULL,
  last_seq BIGINT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS bridge_controleur_error (
  error_key CHAR(40) NOT NULL PRIMARY KEY,
  last_event_ms BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
`;

/**
 * Columns added to the bridge's own tables after their first release: `migrate` adds them to a
 * table made by an older version.
 */
export const ADDED_BRIDGE_COLUMNS: Array<{ table: string; column: string; definition: string }> = [
  // The journal and sequence of a controller's last event, for a shared group's order.
  { table: 'bridge_controleur_event', column: 'journal_id', definition: 'CHAR(36) NULL' },
  { table: 'bridge_controleur_event', column: 'last_seq', definition: 'BIGINT NULL' },
];

/** The sensors shipped with SIGACS. */
export const SHIPPED_CAPTEURS = [
  { id: 1, type: 'humiditeAmbiante', min: 0, max: 100, unite: '%' },
  { id: 2, type: 'humiditeSol', min: 0, max: 100, unite: '%' },
  { id: 3, type: 'temperatureAmbiante', min: -40, max: 80, unite: '°C' },
] as const;

/** Tables and columns the bridge reads or writes: what `doctor` checks and grants cover. */
export const REQUIRED_COLUMNS: Record<string, string[]> = {
  serre: ['id_serre', 'numero'],
  bac: ['id_bac', 'serre', 'numero'],
  capteur: ['id_capteur', 'type', 'valeurMinCapteur', 'valeurMaxCapteur', 'unite'],
  mesure: ['id_mesure', 'bac', 'capteur', 'value', 'mesure_a'],
  controleur: ['id_controleur', 'type', 'nom', 'ip', 'status'],
  error: ['id_error', 'type_erreur', 'message', 'valeur', 'erreur_a'],
  bridge_journal_position: ['client_id', 'journal_id', 'last_seq', 'updated_at'],
  bridge_controleur_event: ['id_controleur', 'last_event_ms', 'journal_id', 'last_seq'],
  bridge_controleur_error: ['error_key', 'last_event_ms'],
};

export function statements(sql: string): string[] {
  return sql
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
