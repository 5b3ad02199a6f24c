/** The bridge's own PUBACK encoding, checked against the MQTT library's encoder and parser. */
import { generate, parser } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { pubacks } from '../../src/mqtt/puback.js';

describe('pubacks', () => {
  it('encodes each packet id exactly as mqtt-packet does, back to back', () => {
    const ids = [1, 2, 255, 256, 4660, 65535];
    expect(pubacks(ids)).toEqual(Buffer.concat(ids.map((messageId) => generate({ cmd: 'puback', messageId }))));
  });

  it('parses back as one PUBACK per id, in order', () => {
    const ids = [7, 300, 65000];
    const seen: Array<{ cmd: string; messageId?: number }> = [];
    const p = parser({ protocolVersion: 4 });
    p.on('packet', (packet) => seen.push({ cmd: packet.cmd, messageId: (packet as { messageId?: number }).messageId }));
    p.parse(pubacks(ids));
    expect(seen).toEqual(ids.map((messageId) => ({ cmd: 'puback', messageId })));
  });

  it('is empty for no ids', () => {
    expect(pubacks([])).toHaveLength(0);
  });
});
