import { describe, expect, it } from 'vitest';
import { fr } from '../../src/decode/messages-fr.js';
import type { Capteur } from '../../src/decode/types.js';

const TOPIC = 'serre/1/bac/2';
const SOL: Capteur = { id: 2, type: 'humiditeSol', min: 0, max: 100, unite: '%' };

describe('French error messages', () => {
  it('name the topic in every message about a received message', () => {
    const sentences = [
      fr.invalidEncoding(TOPIC),
      fr.bacNotFound(TOPIC, '1', '2'),
      fr.tooLarge(TOPIC, 20_000, 16_384),
      fr.notJson(TOPIC),
      fr.notObject(TOPIC),
      fr.emptyObject(TOPIC),
      fr.missingControllerFields(TOPIC, ['ip']),
      fr.unknownSensor(TOPIC, 'co2', ['humiditeSol']),
      fr.notANumber(TOPIC, 'humiditeSol', '"x"'),
      fr.duplicateKey(TOPIC, 'humiditeSol'),
      fr.outOfRange(TOPIC, SOL, 120, 100),
      fr.invalidMac(TOPIC),
      fr.invalidIp(TOPIC, '42'),
      fr.invalidStatus(TOPIC, '"yes"'),
      fr.unexpectedTopic(TOPIC),
      fr.unexpected(TOPIC, 'boom'),
    ];
    for (const s of sentences) expect(s).toContain(`« ${TOPIC} »`);
  });

  it('name the key, the value and what was expected', () => {
    const notANumber = fr.notANumber(TOPIC, 'humiditeSol', '"quarante"');
    expect(notANumber).toContain('« humiditeSol »');
    expect(notANumber).toContain('"quarante"');
    expect(notANumber).toContain('nombre');

    const out = fr.outOfRange(TOPIC, SOL, 120.5, 100);
    expect(out).toContain('« humiditeSol »');
    expect(out).toContain('120.5');
    expect(out).toContain('[0 ; 100] %');
    expect(out).toContain('100');

    expect(fr.unknownSensor(TOPIC, 'co2', ['humiditeAmbiante', 'humiditeSol'])).toContain('humiditeAmbiante, humiditeSol');
    expect(fr.missingControllerFields(TOPIC, ['ip', 'status'])).toContain('ip, status');
    expect(fr.bacNotFound(TOPIC, '7', '8')).toMatch(/bac numéro 8 dans une serre numéro 7/);
    expect(fr.tooLarge(TOPIC, 20_000, 16_384)).toMatch(/20000 octets, maximum 16384/);
    expect(fr.invalidIp(TOPIC, '42')).toContain('42');
    expect(fr.invalidStatus(TOPIC, '"yes"')).toContain('"yes"');
  });

  it('show unbounded sensor ranges with infinities and no unit when there is none', () => {
    const libre: Capteur = { id: 9, type: 'libre', min: null, max: null, unite: null };
    expect(fr.outOfRange(TOPIC, libre, 1, 1)).toContain('[-∞ ; +∞] ;');
  });

  it('bound keys, values and details', () => {
    const long = 'x'.repeat(10_000);
    expect(fr.unknownSensor(TOPIC, long, []).length).toBeLessThan(500);
    expect(fr.notANumber(TOPIC, long, long).length).toBeLessThan(600);
    expect(fr.bacNotFound(TOPIC, long, long).length).toBeLessThan(500);
    expect(fr.unexpected(TOPIC, long).length).toBeLessThan(700);
    expect(fr.mqttDisconnect(long).length).toBeLessThan(700);
    expect(fr.dbError(long).length).toBeLessThan(700);
    expect(fr.dbInsertError('mesure', long).length).toBeLessThan(700);
    expect(fr.unexpectedTopic(long).length).toBeLessThan(400);
  });

  it('make control characters of keys and values visible', () => {
    const s = fr.notANumber(TOPIC, 'a\u0000b', '"\u0001"');
    expect(s).toContain('a\\x00b');
    expect(s).toContain('\\x01');
    expect(s).not.toMatch(/[\u0000\u0001]/);
  });

  it('describe the suppressed-errors summary with count, type, topic and times', () => {
    const s = fr.suppressed(37, 'INVALID_VALUE', TOPIC, '10:00:01', '10:00:59');
    expect(s).toContain('37');
    expect(s).toContain('INVALID_VALUE');
    expect(s).toContain(`« ${TOPIC} »`);
    expect(s).toContain('10:00:01');
    expect(s).toContain('10:00:59');
  });

  it('describe bridge events with their detail', () => {
    expect(fr.mqttDisconnect('keepalive timeout')).toContain('keepalive timeout');
    expect(fr.dbError('ETIMEDOUT')).toContain('ETIMEDOUT');
    expect(fr.dbInsertError('error', 'Data too long')).toMatch(/table error .*Data too long/);
  });

  it('never throw, whatever the input', () => {
    const odd = ['', '\ud800', '\u0000'.repeat(3), '😀'.repeat(1_000)];
    for (const v of odd) {
      expect(() => [
        fr.invalidEncoding(v),
        fr.bacNotFound(v, v, v),
        fr.tooLarge(v, Number.NaN, -1),
        fr.missingControllerFields(v, []),
        fr.unknownSensor(v, v, []),
        fr.notANumber(v, v, v),
        fr.duplicateKey(v, v),
        fr.outOfRange(v, { id: 0, type: v, min: null, max: null, unite: v }, Number.NaN, Infinity),
        fr.invalidIp(v, v),
        fr.invalidStatus(v, v),
        fr.unexpected(v, v),
        fr.mqttDisconnect(v),
        fr.dbError(v),
        fr.dbInsertError(v, v),
        fr.suppressed(0, v, v, v, v),
      ]).not.toThrow();
    }
  });
});
