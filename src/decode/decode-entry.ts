/**
 * The payload rules (README, Errors) in one place: one journal entry in, the rows it produces out.
 * Pure: the database's reference data comes in through `Catalog`.
 * Checks run in the contract's order; the first failing check of a message ends it.
 */
import { isIP } from 'node:net';
import { jsonMembers, type JsonMember } from './json-members.js';
import { fr } from './messages-fr.js';
import { normaliseMac, parseNumero, parseTopic } from './topic.js';
import type { Catalog, ControllerEvent, Decoded, ErrorRow, ErrorType, JournalEntry, MesureRow } from './types.js';
import { boundedValeur, escapeBinary } from './valeur.js';
import { errorMessage } from '../error-message.js';

export interface DecodeOptions {
  maxPayloadBytes: number;
}

// A UTF-8 byte order mark some editors and libraries add is dropped, not counted as text.
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Result implements Decoded {
  mesures: MesureRow[] = [];
  errors: ErrorRow[] = [];
  controller: ControllerEvent | undefined = undefined;
  catalogMiss = false;

  constructor(private readonly entry: JournalEntry) {}

  error(type: ErrorType, message: string, valeur: string | null): this {
    this.errors.push({ type, message, valeur, at: this.entry.receivedAt, topic: this.entry.topic });
    return this;
  }
}

type Parsed = { ok: true; text: string; value: unknown } | { ok: false };

/** The payload as text; a payload cut to the size limit may end inside a character. */
function decodeText(entry: JournalEntry): string | undefined {
  const truncated = entry.size > entry.payload.length;
  try {
    if (truncated) return new TextDecoder('utf-8', { fatal: true }).decode(entry.payload, { stream: true });
    return utf8.decode(entry.payload);
  } catch {
    return undefined;
  }
}

function parseJson(text: string): Parsed {
  try {
    return { ok: true, text, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message's JSON object, or the INVALID_PAYLOAD row that says why there is none. */
function payloadObject(entry: JournalEntry, text: string, result: Result, opts: DecodeOptions): Record<string, unknown> | undefined {
  if (entry.size > opts.maxPayloadBytes) {
    result.error('INVALID_PAYLOAD', fr.tooLarge(entry.topic, entry.size, opts.maxPayloadBytes), boundedValeur(text));
    return undefined;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) {
    result.error('INVALID_PAYLOAD', fr.notJson(entry.topic), boundedValeur(text));
    return undefined;
  }
  if (!isPlainObject(parsed.value)) {
    result.error('INVALID_PAYLOAD', fr.notObject(entry.topic), boundedValeur(text));
    return undefined;
  }
  if (Object.keys(parsed.value).length === 0) {
    result.error('INVALID_PAYLOAD', fr.emptyObject(entry.topic), boundedValeur(text));
    return undefined;
  }
  return parsed.value;
}

function clamp(value: number, min: number | null, max: number | null): number {
  if (min !== null && value < min) return min;
  if (max !== null && value > max) return max;
  return value;
}

function repeatedKeys(members: JsonMember[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const { key } of members) (seen.has(key) ? repeated : seen).add(key);
  return repeated;
}

function decodeReadings(entry: JournalEntry, text: string, serre: string, bac: string, catalog: Catalog, result: Result, opts: DecodeOptions): void {
  const serreNumero = parseNumero(serre);
  const bacNumero = parseNumero(bac);
  const bacId = serreNumero === undefined || bacNumero === undefined ? undefined : catalog.bacId(serreNumero, bacNumero);
  if (bacId === undefined) {
    result.catalogMiss = serreNumero !== undefined && bacNumero !== undefined;
    result.error('BAC_NOT_FOUND', fr.bacNotFound(entry.topic, serre, bac), boundedValeur(text));
    return;
  }
  const body = payloadObject(entry, text, result, opts);
  if (body === undefined) return;

  const members = jsonMembers(text);
  // JSON.parse keeps one value per key: as many keys as members means none is repeated, and
  // the common case needs no bookkeeping.
  const repeated = members.length === Object.keys(body).length ? undefined : repeatedKeys(members);
  const reported = new Set<string>();

  for (const { key, raw } of members) {
    const capteur = catalog.capteur(key);
    if (!capteur) {
      result.catalogMiss = true;
      if (!reported.has(key)) result.error('UNKNOWN_SENSOR', fr.unknownSensor(entry.topic, key, catalog.capteurTypes()), boundedValeur(`"${key}": ${raw}`));
      reported.add(key);
      continue;
    }
    if (repeated?.has(key)) {
      if (!reported.has(key)) result.error('INVALID_VALUE', fr.duplicateKey(entry.topic, key), boundedValeur(text));
      reported.add(key);
      continue;
    }
    const value = body[key]; // the key is not duplicated: JSON.parse read this very member
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      result.error('INVALID_VALUE', fr.notANumber(entry.topic, key, raw), boundedValeur(raw));
      continue;
    }
    const clamped = clamp(value, capteur.min, capteur.max) + 0; // + 0 turns -0 into 0
    if (clamped !== value) {
      result.error('VALUE_OUT_OF_RANGE', fr.outOfRange(entry.topic, capteur, value, clamped), boundedValeur(raw));
    }
    result.mesures.push({ bac: bacId, capteur: capteur.id, value: clamped, at: entry.receivedAt });
  }
}

/**
 * The raw text of a member's value, as JSON.parse read it (the last of duplicated keys).
 * JSON.stringify would print 1e400 as null and overflows the stack on deeply nested values.
 */
function rawMember(text: string, key: string): string {
  let raw = '';
  for (const member of jsonMembers(text)) if (member.key === key) raw = member.raw;
  return raw;
}

function decodeController(entry: JournalEntry, text: string, macLevel: string, result: Result, opts: DecodeOptions): void {
  const body = payloadObject(entry, text, result, opts);
  if (body === undefined) return;
  const missing = ['ip', 'status'].filter((field) => !Object.hasOwn(body, field));
  if (missing.length > 0) {
    result.error('INVALID_PAYLOAD', fr.missingControllerFields(entry.topic, missing), boundedValeur(text));
    return;
  }
  const mac = normaliseMac(macLevel);
  if (mac === undefined) {
    result.error('INVALID_VALUE', fr.invalidMac(entry.topic), boundedValeur(macLevel));
    return;
  }
  const { ip, status } = body;
  if (typeof ip !== 'string' || isIP(ip) === 0) {
    const raw = rawMember(text, 'ip');
    result.error('INVALID_VALUE', fr.invalidIp(entry.topic, raw), boundedValeur(raw));
    return;
  }
  if (typeof status !== 'boolean') {
    const raw = rawMember(text, 'status');
    result.error('INVALID_VALUE', fr.invalidStatus(entry.topic, raw), boundedValeur(raw));
    return;
  }
  result.controller = { kind: 'connect', mac, ip, status, at: entry.receivedAt, seq: entry.seq };
}

function decodeMessage(entry: JournalEntry, catalog: Catalog, result: Result, opts: DecodeOptions): void {
  const topic = parseTopic(entry.topic);
  if (topic.kind === 'disconnect') {
    // The Last Will's payload is set by the device and carries nothing we need.
    const mac = normaliseMac(topic.mac);
    if (mac === undefined) result.error('INVALID_VALUE', fr.invalidMac(entry.topic), boundedValeur(topic.mac));
    else result.controller = { kind: 'disconnect', mac, at: entry.receivedAt, seq: entry.seq };
    return;
  }
  const text = decodeText(entry);
  if (text === undefined) {
    result.error('INVALID_ENCODING', fr.invalidEncoding(entry.topic), escapeBinary(entry.payload));
    return;
  }
  switch (topic.kind) {
    case 'bac':
      return decodeReadings(entry, text, topic.serre, topic.bac, catalog, result, opts);
    case 'controller':
      return decodeController(entry, text, topic.mac, result, opts);
    case 'other':
      result.error('UNEXPECTED_ERROR', fr.unexpectedTopic(entry.topic), boundedValeur(text));
  }
}

function decodeBridgeEvent(entry: JournalEntry, result: Result): void {
  const detail = entry.payload.toString('utf8');
  if (entry.kind === 'mqtt_disconnect') result.error('MQTT_DISCONNECT', fr.mqttDisconnect(detail), null);
  else result.error('DB_ERROR', fr.dbError(detail), null);
}

/** Never throws: anything unforeseen becomes one UNEXPECTED_ERROR row for this entry alone. */
export function decodeEntry(entry: JournalEntry, catalog: Catalog, opts: DecodeOptions): Decoded {
  const result = new Result(entry);
  try {
    if (entry.kind === 'message') decodeMessage(entry, catalog, result, opts);
    else decodeBridgeEvent(entry, result);
    return result;
  } catch (err) {
    const fallback = new Result(entry);
    const detail = errorMessage(err);
    return fallback.error('UNEXPECTED_ERROR', fr.unexpected(entry.topic, detail), escapeBinary(entry.payload));
  }
}
