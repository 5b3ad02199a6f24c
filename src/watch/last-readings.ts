/**
 * The latest `mesure` row of every (bac, capteur), read once at start so that a restart does
 * not forget when each sensor last reported. `mesure` grows without bound, so the query must
 * stay cheap:
 * - with an index starting (bac, capteur, mesure_a) (the project's schema has one), MAX(mesure_a)
 *   per group is a loose index scan, one index probe per sensor, and each latest row one more
 *   (4 ms for 600 sensors over 2 million rows here, against 1.2 s for a full scan);
 * - without it (a web-app database that lacks the index), only the last RECENT_ROWS rows by
 *   primary key are grouped: a bounded range scan, at the price of forgetting sensors silent
 *   for longer than those rows cover.
 */
import type { RowDataPacket } from 'mysql2';
import type { Pool } from '../db/pool.js';

export const RECENT_ROWS = 100_000;

export interface LastReading {
  bac: number;
  capteur: number;
  value: number;
  /** `mesure_a` as epoch ms (it is stored in the bridge's zone). */
  atWall: number;
}

export type SeedMethod = 'index' | 'recent-rows';

const INDEX_COLUMNS_SQL =
  'SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS ' +
  "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'mesure' ORDER BY INDEX_NAME, SEQ_IN_INDEX";

const BY_INDEX_SQL =
  'SELECT m.id_mesure AS id, m.bac, m.capteur, m.value, m.mesure_a AS at ' +
  'FROM (SELECT bac, capteur, MAX(mesure_a) AS last FROM mesure GROUP BY bac, capteur) l ' +
  'JOIN mesure m ON m.bac = l.bac AND m.capteur = l.capteur AND m.mesure_a = l.last';

const RECENT_ROWS_SQL =
  'SELECT m.id_mesure AS id, m.bac, m.capteur, m.value, m.mesure_a AS at ' +
  'FROM (SELECT MAX(id_mesure) AS id FROM mesure WHERE id_mesure > (SELECT COALESCE(MAX(id_mesure), 0) FROM mesure) - ? ' +
  'GROUP BY bac, capteur) l JOIN mesure m ON m.id_mesure = l.id';

/** Whether an index of `mesure` starts with (bac, capteur, mesure_a). */
async function hasSensorTimeIndex(pool: Pool): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(INDEX_COLUMNS_SQL);
  const columns = new Map<string, string[]>();
  for (const r of rows) {
    const name = String(r.name);
    columns.set(name, [...(columns.get(name) ?? []), String(r.col).toLowerCase()]);
  }
  return [...columns.values()].some((c) => c[0] === 'bac' && c[1] === 'capteur' && c[2] === 'mesure_a');
}

/** `YYYY-MM-DD HH:MM:SS` in the process zone (as time.ts writes it) → epoch ms. */
export function parseDateTime(text: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)/.exec(text);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}

export async function readLastReadings(pool: Pool): Promise<{ readings: LastReading[]; method: SeedMethod }> {
  const method: SeedMethod = (await hasSensorTimeIndex(pool)) ? 'index' : 'recent-rows';
  const [rows] = method === 'index' ? await pool.query<RowDataPacket[]>(BY_INDEX_SQL) : await pool.query<RowDataPacket[]>(RECENT_ROWS_SQL, [RECENT_ROWS]);
  // Two rows of one sensor in the same second: the later insert wins.
  const latest = new Map<string, { id: number; reading: LastReading }>();
  for (const r of rows) {
    const id = Number(r.id);
    const key = `${r.bac}/${r.capteur}`;
    const known = latest.get(key);
    if (known && known.id > id) continue;
    latest.set(key, { id, reading: { bac: Number(r.bac), capteur: Number(r.capteur), value: Number(r.value), atWall: parseDateTime(String(r.at)) } });
  }
  return { readings: [...latest.values()].map((l) => l.reading).filter((r) => Number.isFinite(r.atWall)), method };
}
