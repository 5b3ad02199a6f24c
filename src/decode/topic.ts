/** The three topic shapes the bridge subscribes to (README, Topics and payloads). */

export type ParsedTopic =
  | { kind: 'bac'; serre: string; bac: string }
  | { kind: 'controller'; mac: string }
  | { kind: 'disconnect'; mac: string }
  | { kind: 'other' };

export function parseTopic(topic: string): ParsedTopic {
  const levels = topic.split('/');
  if (levels.length === 4 && levels[0] === 'serre' && levels[2] === 'bac') {
    return { kind: 'bac', serre: levels[1]!, bac: levels[3]! };
  }
  if (levels[0] === 'controleur' && levels.length === 2) return { kind: 'controller', mac: levels[1]! };
  if (levels[0] === 'controleur' && levels.length === 3 && levels[2] === 'disconnect') {
    return { kind: 'disconnect', mac: levels[1]! };
  }
  return { kind: 'other' };
}

const NUMERO = /^[0-9]{1,9}$/;

/** A `numero` level of a topic, or undefined when it is not a plain non-negative integer. */
export function parseNumero(level: string): number | undefined {
  return NUMERO.test(level) ? Number(level) : undefined;
}

const MAC = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/i;

/** A Wi-Fi MAC in its stored form (upper case), or undefined when it is not a MAC. */
export function normaliseMac(level: string): string | undefined {
  return MAC.test(level) ? level.toUpperCase() : undefined;
}
