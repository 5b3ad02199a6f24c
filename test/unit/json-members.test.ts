import { describe, expect, it } from 'vitest';
import { jsonMembers } from '../../src/decode/json-members.js';

/** Every member's raw text must parse to what JSON.parse gives for that key (when not duplicated). */
function agreesWithJsonParse(text: string): void {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const members = jsonMembers(text);
  expect(members.map((m) => m.key).sort()).toEqual(Object.keys(parsed).sort());
  for (const { key, raw } of members) expect(JSON.parse(raw)).toEqual(parsed[key]);
}

describe('jsonMembers', () => {
  it('lists top-level members in source order with the raw text of each value', () => {
    expect(jsonMembers('{"b": 1, "a": 2.50, "c": -3e2}')).toEqual([
      { key: 'b', raw: '1' },
      { key: 'a', raw: '2.50' },
      { key: 'c', raw: '-3e2' },
    ]);
  });

  it('returns nothing for an empty object', () => {
    expect(jsonMembers('{}')).toEqual([]);
    expect(jsonMembers(' \n{ \t }\r\n')).toEqual([]);
  });

  it('keeps every copy of a duplicated key (JSON.parse keeps only the last)', () => {
    expect(jsonMembers('{"k": 1, "k": 2}')).toEqual([
      { key: 'k', raw: '1' },
      { key: 'k', raw: '2' },
    ]);
  });

  it('keeps the raw text of numbers JSON.parse cannot represent', () => {
    expect(jsonMembers('{"big": 1e400, "neg": -1e400, "zero": -0}')).toEqual([
      { key: 'big', raw: '1e400' },
      { key: 'neg', raw: '-1e400' },
      { key: 'zero', raw: '-0' },
    ]);
  });

  it('handles every kind of value', () => {
    const text = '{"s": "x", "t": true, "f": false, "n": null, "a": [1, [2]], "o": {"p": {"q": 1}}, "e": [], "eo": {}}';
    expect(jsonMembers(text).map((m) => m.raw)).toEqual(['"x"', 'true', 'false', 'null', '[1, [2]]', '{"p": {"q": 1}}', '[]', '{}']);
    agreesWithJsonParse(text);
  });

  it('handles JSON whitespace everywhere', () => {
    const text = '\r\n\t {\n\t"a"\r\n:\t 1 \n,\n "b" :\t[ 1 ,\n2 ]\n,"c":"v"  }\n';
    expect(jsonMembers(text)).toEqual([
      { key: 'a', raw: '1' },
      { key: 'b', raw: '[ 1 ,\n2 ]' },
      { key: 'c', raw: '"v"' },
    ]);
    agreesWithJsonParse(text);
  });

  it('handles no whitespace at all', () => {
    expect(jsonMembers('{"a":1,"b":{"c":[]},"d":"e"}')).toEqual([
      { key: 'a', raw: '1' },
      { key: 'b', raw: '{"c":[]}' },
      { key: 'd', raw: '"e"' },
    ]);
  });

  it('is not fooled by brackets, braces, commas and quotes inside strings', () => {
    const text = '{"a": "}", "b": "]", "c": "\\"", "d": ",", "e": {"x": "}]\\"{["}, "f": ["\\\\", "]"], "g": "\\\\"}';
    expect(jsonMembers(text).map((m) => m.key)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    agreesWithJsonParse(text);
  });

  it('decodes escaped keys and keeps keys with quotes and backslashes whole', () => {
    const text = '{"\\u0068umiditeSol": 1, "a\\"b": 2, "c\\\\": 3, "\\\\\\"": 4, "\\ud83c\\udf31": 5}';
    expect(jsonMembers(text).map((m) => m.key)).toEqual(['humiditeSol', 'a"b', 'c\\', '\\"', '🌱']);
    agreesWithJsonParse(text);
  });

  it('handles unicode, SQL-looking and prototype-looking keys as plain strings', () => {
    const text = JSON.stringify({ 'température': 1, '湿度': 2, "'; DROP TABLE mesure; --": 3, constructor: 4 });
    agreesWithJsonParse(text);
    const proto = jsonMembers('{"__proto__": {"polluted": true}}');
    expect(proto).toEqual([{ key: '__proto__', raw: '{"polluted": true}' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('handles deep nesting without recursion', () => {
    const depth = 100_000;
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    const members = jsonMembers(`{"deep": ${nested}, "after": 1}`);
    expect(members).toHaveLength(2);
    expect(members[0]!.raw).toBe(nested);
    expect(members[1]).toEqual({ key: 'after', raw: '1' });
  });

  it('reads every member of a large payload', () => {
    const obj: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) obj[`k${i}`] = i;
    const members = jsonMembers(JSON.stringify(obj));
    expect(members).toHaveLength(20_000);
    expect(members[19_999]).toEqual({ key: 'k19999', raw: '19999' });
  });

  it('agrees with JSON.parse on a range of generated objects', () => {
    const values: unknown[] = [0, -1.5, 1e-7, 'str', '', 'é"\\/\n', true, false, null, [], {}, [1, 'a', [null]], { a: { b: ['}'] } }];
    for (let i = 0; i < values.length; i++) {
      const obj = Object.fromEntries(values.map((v, j) => [`key${(i + j) % values.length}`, v]));
      agreesWithJsonParse(JSON.stringify(obj));
      agreesWithJsonParse(JSON.stringify(obj, null, 2));
      agreesWithJsonParse(JSON.stringify(obj, null, '\t'));
    }
  });
});
