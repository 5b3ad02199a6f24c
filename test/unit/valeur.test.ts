import { describe, expect, it } from 'vitest';
import {
  asciiOnly,
  boundedValeur,
  escapeBinary,
  escapeControls,
  quoteTopic,
  truncate,
  VALEUR_MAX_CHARS,
} from '../../src/decode/valeur.js';

const isWellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('truncate', () => {
  it('leaves text within the limit unchanged', () => {
    expect(truncate('', 5)).toBe('');
    expect(truncate('abcde', 5)).toBe('abcde');
  });

  it('cuts longer text to exactly the limit, ending with an ellipsis', () => {
    const out = truncate('abcdefghij', 5);
    expect(out).toBe('abcd…');
    expect(out.length).toBe(5);
  });

  it('never cuts a surrogate pair in two', () => {
    const text = 'abc' + '😀'.repeat(10); // each emoji is two UTF-16 units
    for (let max = 2; max < text.length; max++) {
      const out = truncate(text, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.endsWith('…')).toBe(true);
      expect(isWellFormed(out)).toBe(true);
    }
  });
});

describe('escapeBinary', () => {
  it('shows non-ASCII and control bytes as \\xHH, keeps printable ASCII, doubles backslashes', () => {
    expect(escapeBinary(Buffer.from([0xff]))).toBe('\\xff');
    expect(escapeBinary(Buffer.from('ok'))).toBe('ok');
    expect(escapeBinary(Buffer.from([0x00, 0x09, 0x0a, 0x1f, 0x20, 0x7e, 0x7f, 0x80]))).toBe('\\x00\\x09\\x0a\\x1f ~\\x7f\\x80');
    expect(escapeBinary(Buffer.from([0x5c, 0x78, 0x66, 0x66]))).toBe('\\\\xff'); // a literal "\xff" stays distinguishable
    expect(escapeBinary(Buffer.from('é'))).toBe('\\xc3\\xa9');
  });

  it('is empty for no bytes', () => {
    expect(escapeBinary(Buffer.alloc(0))).toBe('');
  });

  it('bounds its output to VALEUR_MAX_CHARS by default, and to maxChars when given', () => {
    expect(escapeBinary(Buffer.alloc(100_000, 0xff)).length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
    expect(escapeBinary(Buffer.alloc(100_000, 0x41)).length).toBe(VALEUR_MAX_CHARS);
    expect(escapeBinary(Buffer.alloc(100_000, 0x5c)).length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
    const short = escapeBinary(Buffer.alloc(100, 0xff), 10);
    expect(short.length).toBeLessThanOrEqual(10);
    expect(short.endsWith('…')).toBe(true);
  });

  it('does not truncate output that fits exactly', () => {
    expect(escapeBinary(Buffer.alloc(VALEUR_MAX_CHARS, 0x41))).toBe('A'.repeat(VALEUR_MAX_CHARS));
  });
});

describe('escapeControls', () => {
  it('shows control characters as \\xHH but keeps tab, LF and CR', () => {
    expect(escapeControls('a\u0000b\u0001c\u001bd\u007fe')).toBe('a\\x00b\\x01c\\x1bd\\x7fe');
    expect(escapeControls('a\tb\nc\rd')).toBe('a\tb\nc\rd');
    expect(escapeControls('\u000b\u000c')).toBe('\\x0b\\x0c');
  });

  it('leaves other text, including unicode, alone', () => {
    expect(escapeControls('température 22,5 °C 🌱 \\x00')).toBe('température 22,5 °C 🌱 \\x00');
  });
});

describe('boundedValeur', () => {
  it('keeps short text as is', () => {
    expect(boundedValeur('{"humiditeSol": 40}')).toBe('{"humiditeSol": 40}');
  });

  it('is always at most VALEUR_MAX_CHARS characters, even after escaping', () => {
    expect(boundedValeur('x'.repeat(VALEUR_MAX_CHARS))).toBe('x'.repeat(VALEUR_MAX_CHARS));
    expect(boundedValeur('x'.repeat(VALEUR_MAX_CHARS + 1)).length).toBe(VALEUR_MAX_CHARS);
    expect(boundedValeur('\u0000'.repeat(VALEUR_MAX_CHARS)).length).toBe(VALEUR_MAX_CHARS);
    expect(boundedValeur('😀'.repeat(VALEUR_MAX_CHARS)).length).toBeLessThanOrEqual(VALEUR_MAX_CHARS);
    expect(isWellFormed(boundedValeur('😀'.repeat(VALEUR_MAX_CHARS)))).toBe(true);
  });

  it('escapes control characters', () => {
    expect(boundedValeur('a\u0000b')).toBe('a\\x00b');
  });
});

describe('quoteTopic', () => {
  it('quotes the topic with French guillemets', () => {
    expect(quoteTopic('serre/1/bac/2')).toBe('« serre/1/bac/2 »');
  });

  it('escapes control characters and bounds a long topic', () => {
    expect(quoteTopic('a\u0000b')).toBe('« a\\x00b »');
    const quoted = quoteTopic('t'.repeat(10_000));
    expect(quoted.length).toBeLessThanOrEqual(204);
    expect(quoted).toContain('…');
  });
});

describe('asciiOnly', () => {
  it('keeps printable ASCII, tab and newlines, and escapes everything else as \\uXXXX', () => {
    expect(asciiOnly('abc ~\t\n\r')).toBe('abc ~\t\n\r');
    expect(asciiOnly('é')).toBe('\\u00e9');
    expect(asciiOnly('°C')).toBe('\\u00b0C');
    expect(asciiOnly('\u0000')).toBe('\\u0000');
    expect(asciiOnly('😀')).toBe('\\ud83d\\ude00');
    expect(asciiOnly('\ud800')).toBe('\\ud800');
  });

  it('returns only ASCII characters', () => {
    expect(asciiOnly('température 湿度 😀 \u0000\u007f')).toMatch(/^[\x20-\x7e\t\n\r]*$/);
  });
});
