/**
 * The packet ids of recent QoS 1 messages, to recognise a redelivery: after a reconnect the
 * broker sends unacknowledged messages again with the DUP flag and the same packet id.
 *
 * Mosquitto allocates packet ids per client by incrementing them, so an id comes back only
 * after ~65 535 later messages; within `REDELIVERY_WINDOW` journal entries, a DUP message with
 * a known id and the same content is the one already stored.
 */
export const REDELIVERY_WINDOW = 60_000;

export interface PacketMark {
  seq: number;
  digest: Buffer;
}

export class RecentPackets {
  private readonly marks = new Map<number, PacketMark>();

  remember(packetId: number, mark: PacketMark): void {
    this.marks.set(packetId, mark);
  }

  /** True when a DUP packet is the message stored as entry `mark.seq` not long ago. */
  isRedelivery(packetId: number, digest: Buffer, lastSeq: number): boolean {
    const mark = this.marks.get(packetId);
    return mark !== undefined && lastSeq - mark.seq < REDELIVERY_WINDOW && mark.digest.equals(digest);
  }
}
