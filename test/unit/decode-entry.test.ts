import { describe, expect, it } from 'vitest';
import { decodeEntry, type DecodeOptions } from '../../src/decode/decode-entry.js';
import type { Capteur, Catalog, Decoded, EntryKind, ErrorRow, JournalEntry } from '../../src/decode/types.js';
import { VALEUR_MAX_CHARS } from '../../src/decode/valeur.js';

// ---------------------------------------------------------------------------------------------
// A tiny in-memory catalog: serre 1 holds bacs 1 and 2 (ids 11 and 12), serre 2 holds bac 1 (21).
// The three shipped sensors, plus one without bounds and one without a unit.
// ---------------------------------------------------------------------------------------------

const SHIPPED: Capteur[] = [
  { id: 1, type: 'humiditeAmbiante', min: 0, max: 100, unite: '%' },
  { id: 2, type: 'humiditeSol', min: 0, max: 100, unite: '%' },
  { id: 3, type: 'temperatureAmbiante', min: -40, max: 80, unite: '°C' },
];

function catalog(extra: Capteur[] = [], bacs: Array<[number, number, number]> = [[1, 1, 11], [1, 2, 12], [2, 1, 21]]): Catalog {
  const bacMap = new Map(bacs.map(([s, b, id]) => [`${s}/${b}`, id]));
  const capteurs = new Map([...SHIPPED, ...extra].map((c) => [c.type, c]));
  return {
    bacId: (s, b) => bacMap.get(`${s}/${b}`),
    capteur: (type) => capteurs.get(type),
    capteurTypes: () => [...capteurs.keys()].sort(),
  };
}

const CATALOG = catalog();
const OPTS: DecodeOptions = { maxPayloadBytes: 16 * 1024 };
const AT = Date.UTC(2024, 4, 17, 10, 30, 0);

let seq = 0;
function entry(topic: string, payload: string | Buffer, extra: Partial<JournalEntry> = {}): JournalEntry {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return { seq: ++seq, kind: 'message', receivedAt: AT, topic, payload: bytes, size: bytes.length, ...extra };
}

/** As the journal stores an oversized message: the first `max` bytes, and the size as received. */
function cutEntry(topic: string, payload: Buffer, max: number): JournalEntry {
  return entry(topic, payload.subarray(0, max), { size: payload.length });
}

function event(kind: Exclude<EntryKind, 'message'>, detail: string): JournalEntry {
  const payload = Buffer.from(detail, 'utf8');
  return { seq: ++seq, kind, receivedAt: AT, topic: '', payload, size: payload.length };
}

function decode(topic: string, payload: string | Buffer, cat: Catalog = CATALOG, opts: DecodeOptions = OPTS): Decoded {
  return decodeEntry(entry(topic, payload), cat, opts);
}

const types = (d: Decoded) => d.errors.map((e) => e.type);

function onlyError(d: Decoded): ErrorRow {
  expect(d.errors).toHaveLength(1);
  return d.errors[0]!;
}

const BAC = 'serre/1/bac/2';
const MAC = 'AA:BB:CC:DD:EE:0F';

// ---------------------------------------------------------------------------------------------

describe('accepted readings', () => {
  it('stores one mesure per key with the bac id, capteur id, value and receipt time', () => {
    const d = decode(BAC, '{"humiditeAmbiante": 65.3, "temperatureAmbiante": 22.1, "humiditeSol": 45.0}');
    expect(d.errors).toEqual([]);
    expect(d.controller).toBeUndefined();
    expect(d.catalogMiss).toBe(false);
    expect(d.mesures).toEqual([
      { bac: 12, capteur: 1, value: 65.3, at: AT },
      { bac: 12, capteur: 3, value: 22.1, at: AT },
      { bac: 12, capteur: 2, value: 45, at: AT },
    ]);
  });

  it('accepts any subset of the sensors', () => {
    const d = decode('serre/2/bac/1', '{"temperatureAmbiante": -3}');
    expect(d.errors).toEqual([]);
    expect(d.mesures).toEqual([{ bac: 21, capteur: 3, value: -3, at: AT }]);
  });

  it('uses the receipt time of the journal entry, not the time of decoding', () => {
    const d = decodeEntry(entry(BAC, '{"humiditeSol": 1}', { receivedAt: 1234 }), CATALOG, OPTS);
    expect(d.mesures[0]!.at).toBe(1234);
  });

  it('stores integers, exponent notation within range and tiny values', () => {
    const d = decode(BAC, '{"humiditeAmbiante": 42, "humiditeSol": 4.5e1, "temperatureAmbiante": 2E-3}');
    expect(d.errors).toEqual([]);
    expect(d.mesures.map((m) => m.value)).toEqual([42, 45, 0.002]);
  });

  it('stores -0 as 0 (not as negative zero) and reports nothing', () => {
    const d = decode(BAC, '{"humiditeSol": -0, "temperatureAmbiante": -0.0}');
    expect(d.errors).toEqual([]);
    expect(d.mesures).toHaveLength(2);
    for (const m of d.mesures) expect(Object.is(m.value, 0)).toBe(true);
  });

  it('accepts whitespace everywhere in the JSON', () => {
    const d = decode(BAC, ' \r\n\t{ \n "humiditeSol"\t:\r\n 12.5 \n ,\t"temperatureAmbiante" : 20 \n } \n\t ');
    expect(d.errors).toEqual([]);
    expect(d.mesures.map((m) => [m.capteur, m.value])).toEqual([[2, 12.5], [3, 20]]);
  });

  it('accepts keys written with JSON escapes', () => {
    const d = decode(BAC, '{"\\u0068umiditeSol": 30}');
    expect(d.errors).toEqual([]);
    expect(d.mesures).toEqual([{ bac: 12, capteur: 2, value: 30, at: AT }]);
  });

  it('treats a new capteur row as a new sensor, including unicode and SQL-looking types', () => {
    const cat = catalog([
      { id: 7, type: 'lumière☀', min: 0, max: null, unite: 'lx' },
      { id: 8, type: "'; DROP TABLE mesure; --", min: null, max: null, unite: null },
    ]);
    const d = decode(BAC, '{"lumière☀": 300, "\'; DROP TABLE mesure; --": 5}', cat);
    expect(d.errors).toEqual([]);
    expect(d.mesures).toEqual([
      { bac: 12, capteur: 7, value: 300, at: AT },
      { bac: 12, capteur: 8, value: 5, at: AT },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('INVALID_ENCODING', () => {
  it('reports a payload that is not valid UTF-8 and shows the bytes escaped', () => {
    const d = decode(BAC, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])); // {"\xff\xfe":1}
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_ENCODING');
    expect(e.valeur).toBe('{"\\xff\\xfe":1}');
    expect(e.message).toContain(BAC);
    expect(e.message).toContain('UTF-8');
    expect(e.at).toBe(AT);
    expect(e.topic).toBe(BAC);
    expect(d.mesures).toEqual([]);
  });

  it('rejects overlong encodings, encoded surrogates and a lone continuation byte', () => {
    for (const bytes of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x80], [0xe2, 0x82]]) {
      expect(types(decode(BAC, Buffer.from(bytes)))).toEqual(['INVALID_ENCODING']);
    }
  });

  it('comes before BAC_NOT_FOUND: invalid UTF-8 on an unknown bac gives INVALID_ENCODING only', () => {
    const d = decode('serre/99/bac/99', Buffer.from([0xff]));
    expect(types(d)).toEqual(['INVALID_ENCODING']);
    expect(d.catalogMiss).toBe(false);
  });

  it('comes before the topic check: invalid UTF-8 on a controller topic', () => {
    expect(types(decode(`controleur/${MAC}`, Buffer.from([0xff, 0x00])))).toEqual(['INVALID_ENCODING']);
  });

  it('applies to the part of a cut payload that was kept', () => {
    const big = Buffer.concat([Buffer.from('{"humiditeSol": "'), Buffer.from([0xff]), Buffer.alloc(200, 0x61)]);
    const d = decodeEntry(cutEntry(BAC, big, 64), CATALOG, { maxPayloadBytes: 64 });
    expect(types(d)).toEqual(['INVALID_ENCODING']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('BAC_NOT_FOUND', () => {
  it('reports a bac numero that does not exist in that serre, and flags a catalog miss', () => {
    const d = decode('serre/2/bac/2', '{"humiditeSol": 40}');
    const e = onlyError(d);
    expect(e.type).toBe('BAC_NOT_FOUND');
    expect(e.message).toContain('serre/2/bac/2');
    expect(e.valeur).toBe('{"humiditeSol": 40}');
    expect(d.mesures).toEqual([]);
    expect(d.catalogMiss).toBe(true);
  });

  it('reports an unknown serre', () => {
    expect(types(decode('serre/3/bac/1', '{"humiditeSol": 40}'))).toEqual(['BAC_NOT_FOUND']);
  });

  it.each([
    ['a non-numeric serre level', 'serre/abc/bac/1'],
    ['a non-numeric bac level', 'serre/1/bac/x'],
    ['an empty level', 'serre//bac/1'],
    ['a negative level', 'serre/1/bac/-1'],
    ['a decimal level', 'serre/1/bac/1.0'],
    ['a signed level', 'serre/+1/bac/1'],
    ['a level with spaces', 'serre/ 1/bac/1'],
    ['a level too large for a numero', 'serre/1/bac/99999999999999999999'],
    ['SQL in a level', 'serre/1;DROP TABLE mesure/bac/2'],
    ['SQL in the bac level', "serre/1/bac/2' OR '1'='1"],
  ])('reports %s as BAC_NOT_FOUND without a catalog lookup', (_name, topic) => {
    let lookups = 0;
    const cat: Catalog = { ...CATALOG, bacId: (s, b) => (lookups++, CATALOG.bacId(s, b)) };
    const d = decode(topic, '{"humiditeSol": 40}', cat);
    const e = onlyError(d);
    expect(e.type).toBe('BAC_NOT_FOUND');
    expect(e.topic).toBe(topic);
    expect(e.message).toContain(topic);
    expect(d.mesures).toEqual([]);
    expect(d.catalogMiss).toBe(false); // reloading the catalog cannot make this level exist
    expect(lookups).toBe(0);
  });

  it('comes before INVALID_PAYLOAD: an unknown bac with invalid JSON gives BAC_NOT_FOUND only', () => {
    expect(types(decode('serre/9/bac/9', 'not json'))).toEqual(['BAC_NOT_FOUND']);
    expect(types(decode('serre/x/bac/9', '[1,2]'))).toEqual(['BAC_NOT_FOUND']);
    expect(types(decode('serre/9/bac/9', '{}'))).toEqual(['BAC_NOT_FOUND']);
  });

  it('comes before INVALID_PAYLOAD for a payload that was too large', () => {
    const big = Buffer.from(`{"humiditeSol": ${'1'.repeat(500)}}`);
    const d = decodeEntry(cutEntry('serre/9/bac/9', big, 64), CATALOG, { maxPayloadBytes: 64 });
    expect(types(d)).toEqual(['BAC_NOT_FOUND']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('INVALID_PAYLOAD', () => {
  it.each([
    ['not JSON', 'humiditeSol=40'],
    ['truncated JSON', '{"humiditeSol": 40'],
    ['an empty payload', ''],
    ['only whitespace', '   \n'],
    ['a JSON array', '[{"humiditeSol": 40}]'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON string', '"humiditeSol"'],
    ['a JSON boolean', 'true'],
    ['an empty object', '{}'],
    ['an empty object with whitespace', ' { \n } '],
    ['trailing garbage', '{"humiditeSol": 40} x'],
    ['a trailing comma', '{"humiditeSol": 40,}'],
    ['single quotes', "{'humiditeSol': 40}"],
    ['NaN', '{"humiditeSol": NaN}'],
  ])('reports %s', (_name, payload) => {
    const d = decode(BAC, payload);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_PAYLOAD');
    expect(e.message).toContain(BAC);
    expect(e.valeur).toBe(payload);
    expect(d.mesures).toEqual([]);
    expect(d.catalogMiss).toBe(false);
  });

  it('says which problem it is in French', () => {
    expect(onlyError(decode(BAC, 'x')).message).toContain("n'est pas du JSON valide");
    expect(onlyError(decode(BAC, '[1]')).message).toContain('doit être un objet JSON');
    expect(onlyError(decode(BAC, '{}')).message).toContain('vide');
  });

  it('reports a payload larger than maxPayloadBytes whose stored part was cut', () => {
    const big = Buffer.from(`{"humiditeSol": 40, "pad": "${'x'.repeat(5000)}"}`);
    const d = decodeEntry(cutEntry(BAC, big, 1024), CATALOG, { maxPayloadBytes: 1024 });
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_PAYLOAD');
    expect(e.message).toContain(String(big.length));
    expect(e.message).toContain('1024');
    expect(e.message).toContain(BAC);
    expect(e.valeur!.length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
    expect(e.valeur!.startsWith('{"humiditeSol": 40')).toBe(true);
    expect(d.mesures).toEqual([]);
  });

  it('reports a too-large payload cut in the middle of a multi-byte character as too large, not as bad UTF-8', () => {
    // 17 bytes of prefix + 23 × 'é' (46 bytes) + the first byte of the 24th 'é' = 64 bytes.
    const big = Buffer.from(`{"humiditeSol": "${'é'.repeat(100)}"}`);
    const cut = cutEntry(BAC, big, 64);
    expect(cut.payload[63]).toBe(0xc3);
    const d = decodeEntry(cut, CATALOG, { maxPayloadBytes: 64 });
    expect(types(d)).toEqual(['INVALID_PAYLOAD']);
  });

  it('reports a too-large payload even if it was stored whole', () => {
    const payload = `{"humiditeSol": 40, "pad": "${'x'.repeat(100)}"}`;
    const d = decode(BAC, payload, CATALOG, { maxPayloadBytes: 64 });
    expect(types(d)).toEqual(['INVALID_PAYLOAD']);
  });

  it('accepts a payload of exactly maxPayloadBytes', () => {
    const payload = `{"humiditeSol": 40${' '.repeat(64 - 19)}}`;
    expect(Buffer.byteLength(payload)).toBe(64);
    const d = decode(BAC, payload, CATALOG, { maxPayloadBytes: 64 });
    expect(d.errors).toEqual([]);
    expect(d.mesures).toHaveLength(1);
  });

  it('is checked before the keys: an oversized payload stores none of its readings', () => {
    const payload = `{"humiditeSol": 40, "temperatureAmbiante": 20, "x": "${'y'.repeat(200)}"}`;
    const d = decode(BAC, payload, CATALOG, { maxPayloadBytes: 64 });
    expect(types(d)).toEqual(['INVALID_PAYLOAD']);
    expect(d.mesures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('UNKNOWN_SENSOR', () => {
  it('reports the unknown key and still stores the other keys', () => {
    const d = decode(BAC, '{"humiditeSol": 40, "co2": 415, "temperatureAmbiante": 21}');
    const e = onlyError(d);
    expect(e.type).toBe('UNKNOWN_SENSOR');
    expect(e.message).toContain('co2');
    expect(e.message).toContain(BAC);
    expect(e.message).toContain('humiditeSol'); // the known sensors are listed
    expect(e.valeur).toBe('"co2": 415');
    expect(d.mesures.map((m) => [m.capteur, m.value])).toEqual([[2, 40], [3, 21]]);
    expect(d.catalogMiss).toBe(true);
  });

  it('is case-sensitive: a key must equal capteur.type', () => {
    const d = decode(BAC, '{"HumiditeSol": 40}');
    expect(types(d)).toEqual(['UNKNOWN_SENSOR']);
    expect(d.mesures).toEqual([]);
  });

  it('reports every unknown key once, even when repeated', () => {
    const d = decode(BAC, '{"a": 1, "b": 2, "a": 3, "humiditeSol": 5}');
    expect(types(d)).toEqual(['UNKNOWN_SENSOR', 'UNKNOWN_SENSOR']);
    expect(d.errors[0]!.message).toContain('« a »');
    expect(d.errors[1]!.message).toContain('« b »');
    expect(d.mesures.map((m) => m.value)).toEqual([5]);
  });

  it('is reported before looking at the value: an unknown key with a bad value is UNKNOWN_SENSOR', () => {
    expect(types(decode(BAC, '{"co2": "high"}'))).toEqual(['UNKNOWN_SENSOR']);
  });

  it('treats __proto__ and Object.prototype names as ordinary unknown keys', () => {
    const d = decode(BAC, '{"__proto__": {"humiditeSol": 1}, "constructor": 2, "toString": 3, "humiditeSol": 40}');
    expect(types(d)).toEqual(['UNKNOWN_SENSOR', 'UNKNOWN_SENSOR', 'UNKNOWN_SENSOR']);
    expect(d.errors.map((e) => e.valeur)).toEqual(['"__proto__": {"humiditeSol": 1}', '"constructor": 2', '"toString": 3']);
    expect(d.mesures).toEqual([{ bac: 12, capteur: 2, value: 40, at: AT }]);
  });

  it('treats SQL-looking keys as data', () => {
    const key = "'; DROP TABLE mesure; --";
    const d = decode(BAC, JSON.stringify({ [key]: 1, humiditeSol: 2 }));
    const e = onlyError(d);
    expect(e.type).toBe('UNKNOWN_SENSOR');
    expect(e.message).toContain(key);
    expect(e.valeur).toBe(`"${key}": 1`);
    expect(d.mesures.map((m) => m.value)).toEqual([2]);
  });

  it('handles unicode keys', () => {
    const d = decode(BAC, '{"température🌡": 21, "湿度": 50, "humiditeSol": 3}');
    expect(types(d)).toEqual(['UNKNOWN_SENSOR', 'UNKNOWN_SENSOR']);
    expect(d.errors[0]!.message).toContain('température🌡');
    expect(d.errors[1]!.message).toContain('湿度');
    expect(d.mesures).toHaveLength(1);
  });

  it('bounds a very long key in the message and in valeur', () => {
    const key = 'k'.repeat(50_000);
    const d = decode(BAC, `{"${key}": 1}`, CATALOG, { maxPayloadBytes: 100_000 });
    const e = onlyError(d);
    expect(e.type).toBe('UNKNOWN_SENSOR');
    expect(e.valeur!.length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
    expect(e.message.length).toBeLessThan(2000);
  });

  it('says "aucun" when the catalog has no sensor at all', () => {
    const empty: Catalog = { bacId: () => 1, capteur: () => undefined, capteurTypes: () => [] };
    expect(onlyError(decode(BAC, '{"x": 1}', empty)).message).toContain('aucun');
  });
});

// ---------------------------------------------------------------------------------------------

describe('INVALID_VALUE for readings', () => {
  it.each([
    ['a string', '"40"'],
    ['an empty string', '""'],
    ['true', 'true'],
    ['false', 'false'],
    ['null', 'null'],
    ['an array', '[40]'],
    ['an empty array', '[]'],
    ['an object', '{"value": 40}'],
    ['an empty object', '{}'],
    ['1e400 (overflows to Infinity)', '1e400'],
    ['-1e400 (overflows to -Infinity)', '-1e400'],
    ['a string with braces', '"}{,]["'],
  ])('reports %s and stores the other keys', (_name, raw) => {
    const d = decode(BAC, `{"humiditeSol": ${raw}, "temperatureAmbiante": 20}`);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.valeur).toBe(raw);
    expect(e.message).toContain(BAC);
    expect(e.message).toContain('humiditeSol');
    expect(d.mesures).toEqual([{ bac: 12, capteur: 3, value: 20, at: AT }]);
  });

  it('mentions the received value in the message', () => {
    const e = onlyError(decode(BAC, '{"humiditeSol": "quarante"}'));
    expect(e.message).toContain('quarante');
  });

  it('reports every bad key of one message', () => {
    const d = decode(BAC, '{"humiditeSol": "x", "temperatureAmbiante": null, "humiditeAmbiante": 50}');
    expect(types(d)).toEqual(['INVALID_VALUE', 'INVALID_VALUE']);
    expect(d.mesures.map((m) => m.capteur)).toEqual([1]);
  });

  it('reports a duplicated key once, stores neither of its values, and stores the others', () => {
    const d = decode(BAC, '{"humiditeSol": 10, "temperatureAmbiante": 20, "humiditeSol": 30}');
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.message).toContain('humiditeSol');
    expect(e.message).toContain(BAC);
    expect(d.mesures).toEqual([{ bac: 12, capteur: 3, value: 20, at: AT }]);
  });

  it('sees a duplicate even when one copy is written with escapes', () => {
    const d = decode(BAC, '{"humiditeSol": 10, "\\u0068umiditeSol": 30}');
    expect(types(d)).toEqual(['INVALID_VALUE']);
    expect(d.mesures).toEqual([]);
  });

  it('reports a deeply nested value as INVALID_VALUE', () => {
    const depth = 5_000;
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    const d = decode(BAC, `{"humiditeSol": ${nested}, "temperatureAmbiante": 20}`);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.valeur!.length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
    expect(d.mesures).toHaveLength(1);
  });

  it('reads values containing nested strings, escapes and brackets correctly', () => {
    const d = decode(BAC, '{"humiditeSol": {"a": "}\\"]", "b": [1, {"c": "{"}]}, "temperatureAmbiante": 20}');
    const e = onlyError(d);
    expect(e.valeur).toBe('{"a": "}\\"]", "b": [1, {"c": "{"}]}');
    expect(d.mesures.map((m) => m.value)).toEqual([20]);
  });

  it('shows control characters of a string value escaped in valeur', () => {
    const e = onlyError(decode(BAC, '{"humiditeSol": "a\\u0000b"}'));
    expect(e.type).toBe('INVALID_VALUE');
    // The raw JSON text is shown, so the escape stays as written.
    expect(e.valeur).toBe('"a\\u0000b"');
  });

  it('bounds a huge string value in valeur', () => {
    const d = decode(BAC, `{"humiditeSol": "${'z'.repeat(10_000)}"}`);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.valeur!.length).toBe(VALEUR_MAX_CHARS);
    expect(e.valeur!.endsWith('…')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('VALUE_OUT_OF_RANGE', () => {
  it('stores the clamped value AND writes the error (above max)', () => {
    const d = decode(BAC, '{"humiditeSol": 120.5}');
    expect(d.mesures).toEqual([{ bac: 12, capteur: 2, value: 100, at: AT }]);
    const e = onlyError(d);
    expect(e.type).toBe('VALUE_OUT_OF_RANGE');
    expect(e.valeur).toBe('120.5');
    expect(e.message).toContain(BAC);
    expect(e.message).toContain('humiditeSol');
    expect(e.message).toContain('120.5');
    expect(e.message).toContain('[0 ; 100] %');
    expect(e.message).toContain('ramenée à 100');
  });

  it('stores the clamped value AND writes the error (below min)', () => {
    const d = decode(BAC, '{"temperatureAmbiante": -55}');
    expect(d.mesures).toEqual([{ bac: 12, capteur: 3, value: -40, at: AT }]);
    const e = onlyError(d);
    expect(e.type).toBe('VALUE_OUT_OF_RANGE');
    expect(e.message).toContain('-55');
    expect(e.message).toContain('-40');
  });

  it('does not report values exactly at the bounds', () => {
    const d = decode(BAC, '{"humiditeAmbiante": 0, "humiditeSol": 100, "temperatureAmbiante": -40}');
    expect(d.errors).toEqual([]);
    expect(d.mesures.map((m) => m.value)).toEqual([0, 100, -40]);
    expect(decode(BAC, '{"temperatureAmbiante": 80.0}').errors).toEqual([]);
    expect(decode(BAC, '{"humiditeSol": 1e2}').errors).toEqual([]);
  });

  it('reports values just outside the bounds', () => {
    expect(types(decode(BAC, '{"humiditeSol": 100.0001}'))).toEqual(['VALUE_OUT_OF_RANGE']);
    expect(types(decode(BAC, '{"humiditeSol": -0.0001}'))).toEqual(['VALUE_OUT_OF_RANGE']);
    expect(types(decode(BAC, '{"temperatureAmbiante": 80.5}'))).toEqual(['VALUE_OUT_OF_RANGE']);
  });

  it('treats null bounds as unbounded', () => {
    const cat = catalog([
      { id: 4, type: 'libre', min: null, max: null, unite: null },
      { id: 5, type: 'positif', min: 0, max: null, unite: 'lx' },
      { id: 6, type: 'plafond', min: null, max: 10, unite: null },
    ]);
    const d = decode(BAC, '{"libre": -1e300, "positif": 1e300, "plafond": -5}', cat);
    expect(d.errors).toEqual([]);
    expect(d.mesures.map((m) => m.value)).toEqual([-1e300, 1e300, -5]);

    const low = decode(BAC, '{"positif": -1}', cat);
    expect(low.mesures[0]!.value).toBe(0);
    expect(onlyError(low).message).toContain('[0 ; +∞] lx');
    const high = decode(BAC, '{"plafond": 11}', cat);
    expect(high.mesures[0]!.value).toBe(10);
    expect(onlyError(high).message).toContain('[-∞ ; 10]');
  });

  it('keeps the other keys of the message', () => {
    const d = decode(BAC, '{"humiditeSol": 150, "temperatureAmbiante": 20, "x": 1}');
    expect(types(d).sort()).toEqual(['UNKNOWN_SENSOR', 'VALUE_OUT_OF_RANGE']);
    expect(d.mesures.map((m) => [m.capteur, m.value])).toEqual([[2, 100], [3, 20]]);
  });

  it('reports a large value within float range as out of range, not as invalid', () => {
    const d = decode(BAC, '{"humiditeSol": 1.7e308}');
    expect(types(d)).toEqual(['VALUE_OUT_OF_RANGE']);
    expect(d.mesures[0]!.value).toBe(100);
  });
});

// ---------------------------------------------------------------------------------------------

describe('controller messages (controleur/<MAC>)', () => {
  it('produces a connect event with the MAC stored upper-case', () => {
    const d = decode('controleur/aa:bb:cc:dd:ee:0f', '{"ip": "192.168.42.85", "status": true}');
    expect(d.errors).toEqual([]);
    expect(d.mesures).toEqual([]);
    expect(d.controller).toEqual({ kind: 'connect', mac: MAC, ip: '192.168.42.85', status: true, at: AT, seq });
  });

  it('accepts status false, IPv6 addresses and ignores extra fields', () => {
    const d = decode(`controleur/${MAC}`, '{"ip": "fe80::1:2ff:fe33:4455", "status": false, "rssi": -61, "fw": {"v": 2}}');
    expect(d.errors).toEqual([]);
    expect(d.controller).toEqual({ kind: 'connect', mac: MAC, ip: 'fe80::1:2ff:fe33:4455', status: false, at: AT, seq });
  });

  it.each([
    ['ip', '{"status": true}'],
    ['status', '{"ip": "10.0.0.1"}'],
    ['ip, status', '{"rssi": -50}'],
  ])('reports missing %s as INVALID_PAYLOAD listing the missing fields', (missing, payload) => {
    const d = decode(`controleur/${MAC}`, payload);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_PAYLOAD');
    expect(e.message).toContain(missing);
    if (missing === 'status') expect(e.message).not.toMatch(/absent\(s\) : ip/);
    expect(e.valeur).toBe(payload);
    expect(d.controller).toBeUndefined();
  });

  it.each([
    ['not JSON', 'ip=1.2.3.4'],
    ['an array', '["192.168.1.2", true]'],
    ['null', 'null'],
    ['an empty object', '{}'],
  ])('reports a payload that is %s as INVALID_PAYLOAD', (_name, payload) => {
    const d = decode(`controleur/${MAC}`, payload);
    expect(types(d)).toEqual(['INVALID_PAYLOAD']);
    expect(d.controller).toBeUndefined();
  });

  it('reports a too-large controller payload as INVALID_PAYLOAD', () => {
    const big = Buffer.from(`{"ip": "10.0.0.1", "status": true, "pad": "${'p'.repeat(500)}"}`);
    const d = decodeEntry(cutEntry(`controleur/${MAC}`, big, 64), CATALOG, { maxPayloadBytes: 64 });
    expect(types(d)).toEqual(['INVALID_PAYLOAD']);
    expect(d.controller).toBeUndefined();
  });

  it.each([
    ['a number', '192168', '192168'],
    ['null', 'null', 'null'],
    ['a boolean', 'true', 'true'],
    ['an array', '["10.0.0.1"]', '["10.0.0.1"]'],
    ['an object', '{"v4": "10.0.0.1"}', '{"v4": "10.0.0.1"}'],
    ['a string that is not an IP', '"not-an-ip"', '"not-an-ip"'],
    ['an IPv4 address out of range', '"256.1.1.1"', '"256.1.1.1"'],
    ['an empty string', '""', '""'],
  ])('reports an ip that is %s as INVALID_VALUE', (_name, raw, valeur) => {
    const topic = `controleur/${MAC}`;
    const d = decode(topic, `{"ip": ${raw}, "status": true}`);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.message).toContain('ip');
    expect(e.message).toContain(topic);
    expect(e.valeur).toBe(valeur);
    expect(d.controller).toBeUndefined();
  });

  it.each([
    ['a string', '"true"'],
    ['a number', '1'],
    ['null', 'null'],
    ['an object', '{}'],
  ])('reports a status that is %s as INVALID_VALUE', (_name, raw) => {
    const d = decode(`controleur/${MAC}`, `{"ip": "10.0.0.1", "status": ${raw}}`);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.message).toContain('status');
    expect(e.valeur).toBe(raw);
    expect(d.controller).toBeUndefined();
  });

  it('reports a deeply nested ip as INVALID_VALUE, not as an unexpected error', () => {
    const depth = 7_000; // JSON.stringify overflows the stack here, JSON.parse does not
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    const d = decode(`controleur/${MAC}`, `{"ip": ${nested}, "status": true}`);
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.valeur!.length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
  });

  it('reports an ip of 1e400 with its raw text', () => {
    const e = onlyError(decode(`controleur/${MAC}`, '{"ip": 1e400, "status": true}'));
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.valeur).toBe('1e400');
  });

  it.each([
    ['dashes', 'AA-BB-CC-DD-EE-FF'],
    ['too short', 'AA:BB:CC:DD:EE'],
    ['too long', 'AA:BB:CC:DD:EE:FF:00'],
    ['non-hex digits', 'GG:BB:CC:DD:EE:FF'],
    ['no separators', 'AABBCCDDEEFF'],
    ['SQL', "AA:BB:CC:DD:EE:FF'; DROP TABLE controleur; --"],
    ['an empty level', ''],
  ])('reports a MAC with %s as INVALID_VALUE', (_name, mac) => {
    const d = decode(`controleur/${mac}`, '{"ip": "10.0.0.1", "status": true}');
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.message).toContain('MAC');
    expect(e.valeur).toBe(mac);
    expect(d.controller).toBeUndefined();
  });

  it('checks the payload (INVALID_PAYLOAD) before the MAC (INVALID_VALUE), following the table order', () => {
    expect(types(decode('controleur/nope', 'not json'))).toEqual(['INVALID_PAYLOAD']);
    expect(types(decode('controleur/nope', '{"ip": "10.0.0.1"}'))).toEqual(['INVALID_PAYLOAD']);
  });

  it('accepts a MAC in mixed case', () => {
    const d = decode('controleur/aA:Bb:cC:dd:EE:ff', '{"ip": "10.0.0.1", "status": true}');
    expect(d.controller).toMatchObject({ kind: 'connect', mac: 'AA:BB:CC:DD:EE:FF' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('Last Will (controleur/<MAC>/disconnect)', () => {
  it.each([
    ['an empty payload', Buffer.alloc(0)],
    ['a JSON payload', Buffer.from('{"ip": "1.2.3.4", "status": true}')],
    ['garbage text', Buffer.from('bye!')],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x80])],
    ['a huge payload', Buffer.alloc(100_000, 0x41)],
  ])('with %s sets the controller disconnected and writes no error', (_name, payload) => {
    const d = decodeEntry(entry('controleur/aa:bb:cc:dd:ee:0f/disconnect', payload), CATALOG, { maxPayloadBytes: 64 });
    expect(d.errors).toEqual([]);
    expect(d.mesures).toEqual([]);
    expect(d.controller).toEqual({ kind: 'disconnect', mac: MAC, at: AT, seq });
  });

  it('reports a Last Will on a topic whose MAC is not a MAC', () => {
    const d = decode('controleur/not-a-mac/disconnect', '');
    const e = onlyError(d);
    expect(e.type).toBe('INVALID_VALUE');
    expect(e.valeur).toBe('not-a-mac');
    expect(d.controller).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe('events of the bridge itself', () => {
  it('turns an mqtt_disconnect journal entry into one MQTT_DISCONNECT row', () => {
    const d = decodeEntry(event('mqtt_disconnect', 'connection reset by peer'), CATALOG, OPTS);
    const e = onlyError(d);
    expect(e.type).toBe('MQTT_DISCONNECT');
    expect(e.message).toContain('connection reset by peer');
    expect(e.message).toContain('MQTT');
    expect(e.valeur).toBeNull();
    expect(e.at).toBe(AT);
    expect(d.mesures).toEqual([]);
    expect(d.controller).toBeUndefined();
  });

  it('turns a db_error journal entry into one DB_ERROR row', () => {
    const d = decodeEntry(event('db_error', 'ECONNREFUSED 127.0.0.1:3306'), CATALOG, OPTS);
    const e = onlyError(d);
    expect(e.type).toBe('DB_ERROR');
    expect(e.message).toContain('ECONNREFUSED 127.0.0.1:3306');
    expect(e.valeur).toBeNull();
    expect(e.at).toBe(AT);
  });

  it('bounds a long detail in the message', () => {
    const e = onlyError(decodeEntry(event('db_error', 'x'.repeat(10_000)), CATALOG, OPTS));
    expect(e.message.length).toBeLessThan(1000);
  });
});

// ---------------------------------------------------------------------------------------------

describe('UNEXPECTED_ERROR', () => {
  it.each([
    'serre/1/bac',
    'serre/1/bac/2/extra',
    'serre/1/BAC/2',
    'controleur',
    `controleur/${MAC}/status`,
    `controleur/${MAC}/disconnect/extra`,
    'autre/chose',
    '',
    '/serre/1/bac/2',
  ])('reports an unexpected topic shape: %j', (topic) => {
    const d = decode(topic, '{"humiditeSol": 40}');
    const e = onlyError(d);
    expect(e.type).toBe('UNEXPECTED_ERROR');
    expect(e.topic).toBe(topic);
    expect(e.valeur).toBe('{"humiditeSol": 40}');
    expect(d.mesures).toEqual([]);
    expect(d.controller).toBeUndefined();
  });

  it('turns a failing catalog into one UNEXPECTED_ERROR for this entry alone, never a throw', () => {
    const broken: Catalog = {
      bacId: () => {
        throw new Error('catalog exploded');
      },
      capteur: () => undefined,
      capteurTypes: () => [],
    };
    const d = decodeEntry(entry(BAC, Buffer.from([0x7b, 0x5c, 0x00, 0x7d])), broken, OPTS);
    expect(d.mesures).toEqual([]);
    expect(d.controller).toBeUndefined();
    // {\<NUL>} is valid UTF-8, so the catalog is reached
    const e = onlyError(d);
    expect(e.type).toBe('UNEXPECTED_ERROR');
    expect(e.message).toContain('catalog exploded');
    expect(e.message).toContain(BAC);
    expect(e.valeur).toBe('{\\\\\\x00}');
    expect(e.at).toBe(AT);
  });

  it('drops the partial result when something fails half-way', () => {
    const flaky: Catalog = {
      ...CATALOG,
      capteur: (type) => {
        if (type === 'boom') throw 'not an Error object';
        return CATALOG.capteur(type);
      },
    };
    const d = decodeEntry(entry(BAC, '{"humiditeSol": 1, "boom": 2}'), flaky, OPTS);
    expect(types(d)).toEqual(['UNEXPECTED_ERROR']);
    expect(d.errors[0]!.message).toContain('not an Error object');
    expect(d.mesures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('messages and valeur', () => {
  const cases: Array<[string, JournalEntry, DecodeOptions?]> = [
    ['invalid UTF-8, huge', entry(BAC, Buffer.alloc(50_000, 0xff)), { maxPayloadBytes: 100_000 }],
    ['binary with backslashes, huge', entry(BAC, Buffer.concat([Buffer.from([0xff]), Buffer.alloc(50_000, 0x5c)])), { maxPayloadBytes: 100_000 }],
    ['unknown bac, huge', entry('serre/9/bac/9', 'x'.repeat(50_000)), { maxPayloadBytes: 100_000 }],
    ['not JSON, huge', entry(BAC, '{'.repeat(50_000)), { maxPayloadBytes: 100_000 }],
    ['too large and cut', cutEntry(BAC, Buffer.from('"'.repeat(50_000)), 4096), { maxPayloadBytes: 4096 }],
    ['huge unknown key', entry(BAC, `{"${'é'.repeat(5_000)}": 1}`), { maxPayloadBytes: 100_000 }],
    ['huge invalid value', entry(BAC, `{"humiditeSol": [${'1,'.repeat(20_000)}1]}`), { maxPayloadBytes: 100_000 }],
    ['huge duplicate key message', entry(BAC, `{"humiditeSol": 1, "humiditeSol": "${'a'.repeat(20_000)}"}`), { maxPayloadBytes: 100_000 }],
    ['huge invalid MAC', entry(`controleur/${'m'.repeat(20_000)}`, '{"ip": "1.2.3.4", "status": true}')],
    ['huge controller ip', entry(`controleur/${MAC}`, `{"ip": "${'1'.repeat(20_000)}", "status": true}`), { maxPayloadBytes: 100_000 }],
    ['huge unexpected topic', entry('x/'.repeat(10_000), 'y'.repeat(20_000)), { maxPayloadBytes: 100_000 }],
    ['huge serre level', entry(`serre/${'9'.repeat(10_000)}/bac/1`, '{}')],
  ];

  it.each(cases)('keep valeur within %s to at most 1000 characters', (_name, e, opts) => {
    const d = decodeEntry(e, CATALOG, opts ?? OPTS);
    expect(d.errors.length).toBeGreaterThan(0);
    for (const row of d.errors) {
      expect(row.message).not.toContain('erreur inattendue pendant le traitement'); // no crash
      if (row.valeur !== null) expect(row.valeur.length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
      expect(row.message.length).toBeLessThanOrEqual(2000);
    }
  });

  it('shows binary payloads escaped, ASCII kept and backslashes doubled', () => {
    const e = onlyError(decode(BAC, Buffer.from([0x41, 0x5c, 0xff, 0x0a, 0x00, 0x7f, 0xc3])));
    expect(e.type).toBe('INVALID_ENCODING');
    expect(e.valeur).toBe('A\\\\\\xff\\x0a\\x00\\x7f\\xc3');
  });

  it('shows control characters of a text payload escaped in valeur, keeping tabs and newlines', () => {
    const e = onlyError(decode(BAC, 'bad\u0000\u0001\t\njson'));
    expect(e.type).toBe('INVALID_PAYLOAD');
    expect(e.valeur).toBe('bad\\x00\\x01\t\njson');
  });

  it('escapes control characters of the topic in the message', () => {
    const e = onlyError(decode('autre\u0000/sujet', '{}'));
    expect(e.message).toContain('autre\\x00/sujet');
    expect(e.message).not.toContain('\u0000');
  });

  it('escapes control characters of a key in the message', () => {
    const e = onlyError(decode(BAC, '{"a\\u0000b": 1}'));
    expect(e.type).toBe('UNKNOWN_SENSOR');
    expect(e.message).toContain('a\\x00b');
    expect(e.message).not.toContain('\u0000');
  });

  it('writes French sentences that name the topic', () => {
    const all: Decoded[] = [
      decode(BAC, Buffer.from([0xff])),
      decode('serre/5/bac/5', '{}'),
      decode(BAC, 'x'),
      decode(BAC, '{"k": 1}'),
      decode(BAC, '{"humiditeSol": "x"}'),
      decode(BAC, '{"humiditeSol": 200}'),
      decode(`controleur/${MAC}`, '{}'),
      decode('a/b', '{}'),
    ];
    for (const d of all) {
      const e = onlyError(d);
      expect(e.message).toMatch(/^Message reçu sur « .+ » : /);
    }
  });

  it('never throws, whatever the entry', () => {
    const weird: JournalEntry[] = [
      entry(BAC, Buffer.alloc(0)),
      entry(BAC, '{"\\ud800": 1}'), // a lone surrogate as key
      entry(BAC, '{"humiditeSol": "\\ud800"}'),
      entry('\u0000', Buffer.from([0x00])),
      entry(BAC, '{"humiditeSol": 1}', { size: -1 }),
      entry(BAC, '{"humiditeSol": 1}', { size: Number.NaN }),
      { seq: 1, kind: 'mqtt_disconnect', receivedAt: AT, topic: '', payload: Buffer.from([0xff]), size: 1 },
    ];
    for (const e of weird) {
      expect(() => decodeEntry(e, CATALOG, OPTS)).not.toThrow();
    }
  });
});

describe('byte order mark', () => {
  it('drops a leading UTF-8 BOM instead of refusing the JSON', () => {
    const d = decode(BAC, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"humiditeSol": 40}')]));
    expect(d.errors).toEqual([]);
    expect(d.mesures.map((m) => m.value)).toEqual([40]);
  });
});
