import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * Structured JSON logs on stdout. Passwords and keys are redacted wherever they appear in a
 * logged object, as a second line of defence: the code never logs them on purpose.
 */
export function createLogger(level: LogLevel, name = 'parc-bridge'): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['password', '*.password', '*.*.password', 'key', '*.key', 'DB_PASSWORD', 'MQTT_PASSWORD', '*.DB_PASSWORD', '*.MQTT_PASSWORD'],
      censor: '[redacted]',
    },
  });
}
