/**
 * The packet ids of recent QoS 1 messages, to recognise a redelivery: after a reconnect the
 * broker sends unacknowledged messages again with the DUP flag and the same packet id.
 *
 * Mosquitto allocates packet ids per client by incrementing them, so an id comes back only
 * after ~65 535 later messages; within `REDELIVERY_WINDOW` journal entries, a DUP message with
 * a known id and the same content is the one already stored.
 *
 * Fixed-size arrays indexed by packet id (about 1 MiB), not a map of objects: this is touched
 * for every message and must not feed the garbage collector.
 */
import { DIGEST_BYTES } from './message-digest.js';

export const REDELIVERY_WINDOW = 60_000;

const PACKET_IDS = 65_536;

export class RecentPackets {
  private readonly seqs = new Float64Array(PACKET_IDS);
  private readonly digests = Buffer.alloc(PACKET_IDS * DIGEST_BYTES);

  remember(packetId: number, seq: number, digest: Buffer): void {
    this.seqs[packetId] = seq;
    digest.copy(this.digests, packetId * DIGEST_BYTES, 0, DIGEST_BYTES);
  }

  /** True when a DUP packet is the message stored under the same id not long ago. */
  isRedelivery(packetId: number, digest: Buffer, lastSeq: number): boolean {
    const seq = this.seqs[packetId]!;
    if (seq === 0 || lastSeq - seq >= REDELIVERY_WINDOW) return false;
    const start = packetId * DIGEST_BYTES;
    return this.digests.compare(digest, 0, DIGEST_BYTES, start, start + DIGEST_BYTES) === 0;
  }
}
