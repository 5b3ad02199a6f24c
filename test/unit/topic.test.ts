import { describe, expect, it } from 'vitest';
import { normaliseMac, parseNumero, parseTopic } from '../../src/decode/topic.js';

describe('parseTopic', () => {
  it('recognises serre/<s>/bac/<b> and keeps the levels as text', () => {
    expect(parseTopic('serre/1/bac/2')).toEqual({ kind: 'bac', serre: '1', bac: '2' });
    expect(parseTopic('serre/abc/bac/')).toEqual({ kind: 'bac', serre: 'abc', bac: '' });
    expect(parseTopic('serre/1;DROP TABLE mesure/bac/2')).toEqual({ kind: 'bac', serre: '1;DROP TABLE mesure', bac: '2' });
  });

  it('recognises controleur/<MAC> without checking the MAC', () => {
    expect(parseTopic('controleur/AA:BB:CC:DD:EE:FF')).toEqual({ kind: 'controller', mac: 'AA:BB:CC:DD:EE:FF' });
    expect(parseTopic('controleur/whatever')).toEqual({ kind: 'controller', mac: 'whatever' });
  });

  it('recognises controleur/<MAC>/disconnect', () => {
    expect(parseTopic('controleur/aa:bb:cc:dd:ee:ff/disconnect')).toEqual({ kind: 'disconnect', mac: 'aa:bb:cc:dd:ee:ff' });
  });

  it.each([
    '',
    'serre',
    'serre/1',
    'serre/1/bac',
    'serre/1/bac/2/',
    'serre/1/bac/2/3',
    '/serre/1/bac/2',
    'serre/1/BAC/2',
    'Serre/1/bac/2',
    'serre/1/capteur/2',
    'controleur',
    'controleur/AA:BB:CC:DD:EE:FF/connect',
    'controleur/AA:BB:CC:DD:EE:FF/Disconnect',
    'controleur/AA:BB:CC:DD:EE:FF/disconnect/',
    'controleurs/AA:BB:CC:DD:EE:FF',
    '$SYS/broker/uptime',
  ])('classifies %j as other', (topic) => {
    expect(parseTopic(topic)).toEqual({ kind: 'other' });
  });
});

describe('parseNumero', () => {
  it('accepts plain non-negative integers', () => {
    expect(parseNumero('0')).toBe(0);
    expect(parseNumero('1')).toBe(1);
    expect(parseNumero('42')).toBe(42);
    expect(parseNumero('999999999')).toBe(999_999_999);
  });

  it.each(['', ' ', '-1', '+1', '1.0', '1e3', '0x10', ' 1', '1 ', '1\n', 'un', '１', '1;DROP TABLE mesure', 'NaN', 'Infinity', '9999999999'])(
    'rejects %j',
    (level) => {
      expect(parseNumero(level)).toBeUndefined();
    },
  );
});

describe('normaliseMac', () => {
  it('returns the MAC upper-case', () => {
    expect(normaliseMac('aa:bb:cc:dd:ee:ff')).toBe('AA:BB:CC:DD:EE:FF');
    expect(normaliseMac('0a:1B:2c:3D:4e:5F')).toBe('0A:1B:2C:3D:4E:5F');
    expect(normaliseMac('AA:BB:CC:DD:EE:FF')).toBe('AA:BB:CC:DD:EE:FF');
  });

  it('returns a value that fits controleur.id_controleur (VARCHAR(17))', () => {
    expect(normaliseMac('aa:bb:cc:dd:ee:ff')!.length).toBe(17);
  });

  it.each([
    '',
    'AA:BB:CC:DD:EE',
    'AA:BB:CC:DD:EE:FF:00',
    'AA-BB-CC-DD-EE-FF',
    'AABBCCDDEEFF',
    'AAB:BCC:DDE:EFF',
    'GG:BB:CC:DD:EE:FF',
    'A:BB:CC:DD:EE:FFF',
    ' AA:BB:CC:DD:EE:FF',
    'AA:BB:CC:DD:EE:FF ',
    'AA:BB:CC:DD:EE:FF\n',
    "AA:BB:CC:DD:EE:FF'; --",
  ])('rejects %j', (level) => {
    expect(normaliseMac(level)).toBeUndefined();
  });
});
