import { describe, expect, it } from 'vitest';
import { ERROR_TYPES } from '../../src/decode/types.js';

describe('ERROR_TYPES', () => {
  it('are exactly the type_erreur values of DESIGN.md section 3, in the order of its table', () => {
    expect(ERROR_TYPES).toEqual([
      'INVALID_ENCODING',
      'BAC_NOT_FOUND',
      'INVALID_PAYLOAD',
      'UNKNOWN_SENSOR',
      'INVALID_VALUE',
      'VALUE_OUT_OF_RANGE',
      'MQTT_DISCONNECT',
      'DB_ERROR',
      'DB_INSERT_ERROR',
      'UNEXPECTED_ERROR',
    ]);
  });

  it('fit error.type_erreur VARCHAR(64)', () => {
    for (const type of ERROR_TYPES) expect(type.length).toBeLessThanOrEqual(64);
  });
});
