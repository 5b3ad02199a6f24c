import type { RowDataPacket } from 'mysql2';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';
import { BRIDGE_TABLES, SHIPPED_CAPTEURS, WEB_APP_TABLES, statements } from './schema.js';

/**
 * Creates what is missing and seeds the shipped capteurs where their type is absent.
 * Idempotent; never alters or deletes an existing row or table.
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
