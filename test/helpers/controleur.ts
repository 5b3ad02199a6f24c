/** A controller's row as the web app reads it. */
import type { RowDataPacket } from 'mysql2';
import type { TestDatabase } from './database.js';

export interface ControleurRow {
  ip: string | null;
  status: number;
}

export async function controleurRow(db: TestDatabase, mac: string): Promise<ControleurRow | undefined> {
  const rows = await db.query<RowDataPacket[]>('SELECT ip, status FROM controleur WHERE id_controleur = ?', [mac]);
  return rows[0] ? { ip: rows[0].ip === null ? null : String(rows[0].ip), status: Number(rows[0].status) } : undefined;
}

/**
 * Controllers that announce themselves again and again with a new IP each time, online or
 * offline in turn, as after reconnections: the last event each one sent is what `controleur`
 * must end with, whatever happened in between.
 */
export class ControllerStream {
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  readonly last = new Map<string, ControleurRow>();

  constructor(
    private readonly devices: Array<{ mac: string; client: import('mqtt').MqttClient }>,
    private readonly intervalMs: number,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      this.n++;
      for (const { mac, client } of this.devices) {
        const row = { ip: `10.0.${this.n % 250}.${1 + (this.n % 200)}`, status: this.n % 3 === 0 ? 0 : 1 };
        this.last.set(mac, row);
        client.publish(`controleur/${mac}`, JSON.stringify({ ip: row.ip, status: row.status === 1 }), { qos: 0 });
      }
    }, this.intervalMs);
    return this;
  }

  stop(): Map<string, ControleurRow> {
    clearInterval(this.timer);
    return this.last;
  }
}
