/**
 * PUBACK packets for a group of messages, in one buffer: the bridge acknowledges together the
 * messages of one turn of the event loop (hundreds under load), and one write of them all costs
 * less than a packet encoder call and a stream write each. MQTT 3.1.1 section 3.4: type 4 in the fixed header, remaining length
 * 2, then the packet id (big-endian). test/unit/puback.test.ts checks this against mqtt-packet.
 */
const PUBACK_BYTES = 4;

export function pubacks(packetIds: number[]): Buffer {
  const out = Buffer.allocUnsafe(packetIds.length * PUBACK_BYTES);
  packetIds.forEach((id, i) => {
    const at = i * PUBACK_BYTES;
    out[at] = 0x40;
    out[at + 1] = 0x02;
    out.writeUInt16BE(id, at + 2);
  });
  return out;
}
