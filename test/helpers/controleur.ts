/** A controller's row as the web app reads it. */
import type { RowDataPacket } from 'mysql2';
import type { TestDatabase } from './database.js';

export interface ControleurRow {
  ip: string | null;
  status: number;
}

export async function controleurRow(db: TestDatabase, mac: string): Promise<ControleurRow | undefined> {
  const rows = await db.query<RowDataPacket[]>('SELECT ip, status FROM controleur WHERE id_controleur = ?', [mac]);
  return rows[0] ? { ip: rows[0].ip === null ? null : String(rows[0].ip), status: Number(rows[0].status) } : undefined;
}
