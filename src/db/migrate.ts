import type { RowDataPacket } from 'mysql2';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';
import { ADDED_BRIDGE_COLUMNS, BRIDGE_TABLES, SHIPPED_CAPTEURS, WEB_APP_TABLES, statements } from './schema.js';

/**
 * Creates what is missing and seeds the shipped capteurs where their type is absent.
 * Idempotent; never alters or deletes a row or a web-app table (only the bridge's own tables gain columns).
 */
export async function migrate(pool: Pool, log: Logger): Promise<void> {
  const [existing] = await pool.query<RowDataPacket[]>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
  );
  const before = new Set(existing.map((r) => String(r.name)));
  for (const sql of [...statements(WEB_APP_TABLES), ...statements(BRIDGE_TABLES)]) await pool.query(sql);
  const [after] = await pool.query<RowDataPacket[]>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
  );
  const created = after.map((r) => String(r.name)).filter((name) => !before.has(name));
  if (created.length > 0) log.info({ tables: created }, 'created missing tables');
  await addBridgeColumns(pool, log);

  for (const c of SHIPPED_CAPTEURS) {
    const [byType] = await pool.query<RowDataPacket[]>('SELECT id_capteur FROM capteur WHERE type = ?', [c.type]);
    if (byType.length > 0) continue;
    const [byId] = await pool.query<RowDataPacket[]>('SELECT id_capteur FROM capteur WHERE id_capteur = ?', [c.id]);
    // Keep the shipped id when it is free; never take over a row the web app already uses.
    const id = byId.length === 0 ? c.id : null;
    await pool.query(
      'INSERT INTO capteur (id_capteur, type, valeurMinCapteur, valeurMaxCapteur, unite) VALUES (?, ?, ?, ?, ?)',
      [id, c.type, c.min, c.max, c.unite],
    );
    log.info({ capteur: c.type }, 'seeded capteur');
  }
}

/** Brings the bridge's own tables made by an older version up to date (never a web-app table). */
async function addBridgeColumns(pool: Pool, log: Logger): Promise<void> {
  for (const { table, column, definition } of ADDED_BRIDGE_COLUMNS) {
    const [found] = await pool.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?',
      [table, column],
    );
    if (found.length > 0) continue;
    await pool.query(`ALTER TABLE ?? ADD COLUMN ?? ${definition}`, [table, column]);
    log.info({ table, column }, 'added column');
  }
}
