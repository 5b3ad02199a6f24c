/**
 * The web app's reference data (serres, bacs, capteurs), cached. Whole tables are reloaded
 * every CACHE_TTL and, after a miss, as soon as the last load is a few seconds old, so a
 * row added in the web app is picked up quickly and a miss is never cached for long.
 */
import type { RowDataPacket } from 'mysql2';
import type { Capteur, Catalog } from '../decode/types.js';
import { monotonicMs } from '../time.js';
import type { Pool } from './pool.js';

const MISS_RELOAD_AFTER_MS = 5_000;

interface BacRow extends RowDataPacket {
  id_bac: number;
  serre_numero: number;
  bac_numero: number;
}

interface CapteurRow extends RowDataPacket {
  id_capteur: number;
  type: string;
  valeurMinCapteur: number | string | null;
  valeurMaxCapteur: number | string | null;
  unite: string | null;
}

const toNumber = (v: number | string | null): number | null => (v === null ? null : Number(v));

export class CatalogCache implements Catalog {
  private bacs = new Map<string, number>();
  private capteurs = new Map<string, Capteur>();
  /** On the monotonic clock: a wall clock stepped back must not make the cache look fresh. */
  private loadedAt: number | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  bacId(serreNumero: number, bacNumero: number): number | undefined {
    return this.bacs.get(`${serreNumero}/${bacNumero}`);
  }

  capteur(type: string): Capteur | undefined {
    return this.capteurs.get(type);
  }

  capteurTypes(): string[] {
    return [...this.capteurs.keys()].sort();
  }

  /** Reloads when older than the TTL (or, after a miss, older than a few seconds). */
  async refresh(afterMiss = false): Promise<boolean> {
    const age = this.loadedAt === undefined ? Number.POSITIVE_INFINITY : this.now() - this.loadedAt;
    if (age < (afterMiss ? Math.min(MISS_RELOAD_AFTER_MS, this.ttlMs) : this.ttlMs)) return false;
    await this.load();
    return true;
  }

  /** Marks the cache stale (after a database reconnect): the next refresh reloads it; until then the old data still serves. */
  invalidate(): void {
    this.loadedAt = undefined;
  }

  private async load(): Promise<void> {
    const [bacRows] = await this.pool.query<BacRow[]>(
      'SELECT b.id_bac, s.numero AS serre_numero, b.numero AS bac_numero ' +
        'FROM bac b JOIN serre s ON b.serre = s.id_serre ORDER BY b.id_bac',
    );
    const [capteurRows] = await this.pool.query<CapteurRow[]>(
      'SELECT id_capteur, type, valeurMinCapteur, valeurMaxCapteur, unite FROM capteur ORDER BY id_capteur',
    );
    const bacs = new Map<string, number>();
    for (const row of bacRows) {
      const key = `${row.serre_numero}/${row.bac_numero}`;
      if (!bacs.has(key)) bacs.set(key, row.id_bac);
    }
    const capteurs = new Map<string, Capteur>();
    for (const row of capteurRows) {
      if (capteurs.has(row.type)) continue;
      capteurs.set(row.type, {
        id: row.id_capteur,
        type: row.type,
        min: toNumber(row.valeurMinCapteur),
        max: toNumber(row.valeurMaxCapteur),
        unite: row.unite,
      });
    }
    this.bacs = bacs;
    this.capteurs = capteurs;
    this.loadedAt = this.now();
  }
}
