/**
 * Every bac and capteur of the database, by id: what turns a `mesure` row's ids into the
 * numeros and type the team knows (labels, status page), and lists the bacs that never
 * reported. Reloaded periodically like the drain's catalog, so a bac or capteur removed in the
 * web app disappears from the watch.
 */
import type { RowDataPacket } from 'mysql2';
import type { Pool } from '../db/pool.js';

export interface BacInfo {
  id: number;
  serre: number;
  numero: number;
}

export interface CapteurInfo {
  id: number;
  type: string;
  unite: string | null;
}

export interface BacDirectory {
  /** Sorted by serre numero, then bac numero. */
  bacs: Map<number, BacInfo>;
  capteurs: Map<number, CapteurInfo>;
}

const BACS_SQL =
  'SELECT b.id_bac AS id, s.numero AS serre, b.numero AS numero ' +
  'FROM bac b JOIN serre s ON b.serre = s.id_serre ORDER BY s.numero, b.numero, b.id_bac';
const CAPTEURS_SQL = 'SELECT id_capteur AS id, type, unite FROM capteur ORDER BY id_capteur';

export async function loadBacDirectory(pool: Pool): Promise<BacDirectory> {
  const [bacRows] = await pool.query<RowDataPacket[]>(BACS_SQL);
  const [capteurRows] = await pool.query<RowDataPacket[]>(CAPTEURS_SQL);
  const bacs = new Map<number, BacInfo>();
  for (const r of bacRows) bacs.set(Number(r.id), { id: Number(r.id), serre: Number(r.serre), numero: Number(r.numero) });
  const capteurs = new Map<number, CapteurInfo>();
  for (const r of capteurRows) {
    capteurs.set(Number(r.id), { id: Number(r.id), type: String(r.type), unite: r.unite === null ? null : String(r.unite) });
  }
  return { bacs, capteurs };
}
