/** The vocabulary shared by the decoder, the journal and the database writer. */

export const ERROR_TYPES = [
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
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** A row for the `error` table; `topic` is what the rate limiter groups by (not stored). */
export interface ErrorRow {
  type: ErrorType;
  message: string;
  valeur: string | null;
  at: number;
  topic: string;
}

/** A row for the `mesure` table. */
export interface MesureRow {
  bac: number;
  capteur: number;
  value: number;
  at: number;
}

/** `seq` is the journal entry's: the order the broker delivered the events in. */
export type ControllerEvent =
  | { kind: 'connect'; mac: string; ip: string; status: boolean; at: number; seq: number }
  | { kind: 'disconnect'; mac: string; at: number; seq: number };

/** What one journal entry turns into. */
export interface Decoded {
  mesures: MesureRow[];
  errors: ErrorRow[];
  controller: ControllerEvent | undefined;
  /** A bac or capteur was looked up and not found: the catalog may be stale. */
  catalogMiss: boolean;
}

export interface Capteur {
  id: number;
  type: string;
  min: number | null;
  max: number | null;
  unite: string | null;
}

/** The web app's reference data, as the decoder needs it. */
export interface Catalog {
  bacId(serreNumero: number, bacNumero: number): number | undefined;
  capteur(type: string): Capteur | undefined;
  capteurTypes(): string[];
}

/** Entry kinds of the local journal: broker messages, and events of the bridge itself. */
export type EntryKind = 'message' | 'mqtt_disconnect' | 'db_error';

/** One durable entry of the local journal. */
export interface JournalEntry {
  seq: number;
  kind: EntryKind;
  receivedAt: number;
  topic: string;
  payload: Buffer;
  /** Size of the payload as received; larger than `payload.length` when it was cut. */
  size: number;
}
