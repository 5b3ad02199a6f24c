/** Controller status: announce on connect, Last Will on a lost connection, reconnect, order. */
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishAsync } from '../helpers/readings.js';
import { createStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { controleurRow } from '../helpers/controleur.js';

let stack: Stack;

const controller = (mac: string) => controleurRow(stack.db, mac);

beforeAll(async () => {
  stack = await createStack();
  await stack.startBridge();
});

afterAll(async () => {
  await stack?.close();
});

describe('controllers', () => {
  // The broker's ACL ties controleur/<MAC> to the certificate's CN, which clients-certs.sh
  // makes upper-case; the bridge's own case folding is covered by the unit tests.
  it('connect, Last Will on a dead socket, reconnect with a new IP', async () => {
    const mac = '24:6F:28:AB:CD:01';
    const stored = mac;
    const will = { topic: `controleur/${mac}/disconnect`, payload: Buffer.alloc(0), qos: 1 as const, retain: false };
    const device = await stack.device(mac, { will, keepalive: 2 });

    await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '192.168.42.85', status: true }));
    await waitFor('controller online', async () => (await controller(stored))?.status === 1);
    expect(await controller(stored)).toEqual({ ip: '192.168.42.85', status: 1 });

    // The Wi-Fi drops: the broker notices the dead socket and publishes the Last Will.
    device.options.reconnectPeriod = 0;
    device.stream.destroy();
    await waitFor('controller offline (Last Will)', async () => (await controller(stored))?.status === 0, 20_000);
    expect((await controller(stored))?.ip).toBe('192.168.42.85');

    // It comes back with another address, and says so after connecting, as the firmware does.
    const again = await stack.device(mac, { will });
    await publishAsync(again, `controleur/${mac}`, JSON.stringify({ ip: '192.168.42.86', status: true }));
    await waitFor('controller online again', async () => (await controller(stored))?.ip === '192.168.42.86');
    expect(await controller(stored)).toEqual({ ip: '192.168.42.86', status: 1 });
    again.end(true);
  });

  it('events of one controller take effect in the order the broker delivered them', async () => {
    const mac = '24:6F:28:AB:CD:02';
    const device = await stack.device(mac);
    for (let i = 1; i <= 20; i++) {
      await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: `10.0.0.${i}`, status: true }));
      await publishAsync(device, `controleur/${mac}/disconnect`, '');
    }
    await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '10.0.0.99', status: true }));
    await waitFor('last event applied', async () => (await controller(mac))?.ip === '10.0.0.99');
    expect(await controller(mac)).toEqual({ ip: '10.0.0.99', status: 1 });

    await publishAsync(device, `controleur/${mac}/disconnect`, 'anything');
    await waitFor('offline', async () => (await controller(mac))?.status === 0);
  });

  it('a controller message with a bad field is an error row, not a change', async () => {
    const mac = '24:6F:28:AB:CD:03';
    const device = await stack.device(mac);
    await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '192.168.1.20' }));
    await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: 'not an ip', status: true }));
    await publishAsync(device, `controleur/${mac}`, JSON.stringify({ ip: '192.168.1.20', status: 'on' }));
    await waitFor('three errors', async () => (await stack.db.count('error', "message LIKE ?", [`%${mac}%`])) === 3);
    const types = await stack.db.query<RowDataPacket[]>('SELECT type_erreur FROM error WHERE message LIKE ? ORDER BY id_error', [`%${mac}%`]);
    expect(types.map((r) => r.type_erreur)).toEqual(['INVALID_PAYLOAD', 'INVALID_VALUE', 'INVALID_VALUE']);
    expect(await controller(mac)).toBeUndefined();
  });
});
