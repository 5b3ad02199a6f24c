import { describe, expect, it } from 'vitest';
import { CatalogCache } from '../../src/db/catalog.js';
import type { Pool } from '../../src/db/pool.js';

/** A pool that answers the catalog's two SELECTs from arrays the test changes. */
function fakePool(bacs: Array<{ id_bac: number; serre_numero: number; bac_numero: number }>) {
  let loads = 0;
  const pool = {
    query: async (sql: string) => {
      if (sql.includes('FROM bac')) {
        loads++;
        return [bacs.map((b) => ({ ...b }))];
      }
      return [[{ id_capteur: 1, type: 'humiditeAmbiante', valeurMinCapteur: 0, valeurMaxCapteur: 100, unite: '%' }]];
    },
  } as unknown as Pool;
  return { pool, loads: () => loads };
}

describe('CatalogCache', () => {
  it('loads at the first refresh even when the monotonic clock is near zero (fresh process)', async () => {
    const { pool, loads } = fakePool([{ id_bac: 7, serre_numero: 1, bac_numero: 1 }]);
    const cache = new CatalogCache(pool, 30_000, () => 0);
    expect(await cache.refresh()).toBe(true);
    expect(cache.bacId(1, 1)).toBe(7);
    expect(loads()).toBe(1);
  });

  it('ages on the clock it is given: reloads after the TTL, re-checks a miss after 5 s', async () => {
    const bacs = [{ id_bac: 7, serre_numero: 1, bac_numero: 1 }];
    const { pool, loads } = fakePool(bacs);
    let now = 1_000;
    const cache = new CatalogCache(pool, 30_000, () => now);
    await cache.refresh();
    bacs.push({ id_bac: 8, serre_numero: 1, bac_numero: 2 });

    now += 4_000;
    expect(await cache.refresh(true)).toBe(false);
    now += 1_000;
    expect(await cache.refresh(true)).toBe(true);
    expect(cache.bacId(1, 2)).toBe(8);

    now += 29_999;
    expect(await cache.refresh()).toBe(false);
    now += 1;
    expect(await cache.refresh()).toBe(true);
    expect(loads()).toBe(3);
  });

  it('reloads after invalidate()', async () => {
    const { pool, loads } = fakePool([]);
    const cache = new CatalogCache(pool, 30_000, () => 0);
    await cache.refresh();
    cache.invalidate();
    expect(await cache.refresh()).toBe(true);
    expect(loads()).toBe(2);
  });
});
