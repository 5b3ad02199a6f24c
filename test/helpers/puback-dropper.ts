/**
 * A man in the middle for the bridge's own connection, to make the broker redeliver on purpose:
 * plain MQTT from the bridge (MQTT_TLS=false), mutual TLS to the broker with the bridge's
 * certificate. It swallows the bridge's next `count` PUBACKs, then cuts both connections: the
 * broker sends those messages again (DUP flag, same packet ids) when the bridge reconnects.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { Broker } from './broker.js';
import type { Pki } from './pki.js';

export interface PubackDropper {
  port: number;
  /** Drops the next `count` PUBACKs, then disconnects; resolves when it has. */
  dropNext(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPubackDropper(broker: Broker, pki: Pki): Promise<PubackDropper> {
  const tlsOptions = {
    host: broker.host,
    port: broker.port,
    ca: readFileSync(pki.caFile),
    cert: readFileSync(pki.bridge.certFile),
    key: readFileSync(pki.bridge.keyFile),
  };
  let toDrop = 0;
  let dropped: (() => void) | undefined;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((fromBridge) => {
    const toBroker = tls.connect(tlsOptions);
    sockets.add(fromBridge).add(toBroker);
    const cut = () => {
      fromBridge.destroy();
      toBroker.destroy();
    };
    fromBridge.on('close', cut).on('error', cut);
    toBroker.on('close', cut).on('error', cut);
    toBroker.pipe(fromBridge);

    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => {
      if (packet.cmd === 'puback' && toDrop > 0) {
        if (--toDrop === 0) {
          cut();
          dropped?.();
        }
        return;
      }
      toBroker.write(mqttPacket.generate(packet, { protocolVersion: 4 }));
    });
    fromBridge.on('data', (chunk: Buffer) => parser.parse(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as net.AddressInfo).port,
    dropNext(count) {
      toDrop = count;
      return new Promise<void>((resolve) => (dropped = resolve));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
