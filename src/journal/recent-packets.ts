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

/** What a journal asks of the memory of recent packet ids. */
export interface PacketMemory {
  remember(packetId: number, seq: number, digest: Buffer): void;
  /** True when a DUP packet is the message stored under the same id not long ago. */
  isRedelivery(packetId: number, digest: Buffer, lastSeq: number): boolean;
}

/** The memory of one journal fed by its own connection (the single-school bridge). */
export class RecentPackets implements PacketMemory {
  private readonly seqs = new Float64Array(PACKET_IDS);
  private readonly digests = Buffer.alloc(PACKET_IDS * DIGEST_BYTES);

  remember(packetId: number, seq: number, digest: Buffer): void {
    this.seqs[packetId] = seq;
    digest.copy(this.digests, packetId * DIGEST_BYTES, 0, DIGEST_BYTES);
  }

  isRedelivery(packetId: number, digest: Buffer, lastSeq: number): boolean {
    const seq = this.seqs[packetId]!;
    if (seq === 0 || lastSeq - seq >= REDELIVERY_WINDOW) return false;
    return sameDigest(this.digests, packetId, digest);
  }
}

function sameDigest(digests: Buffer, packetId: number, digest: Buffer): boolean {
  const start = packetId * DIGEST_BYTES;
  return digests.compare(digest, 0, DIGEST_BYTES, start, start + DIGEST_BYTES) === 0;
}

/** A message a journal stored with its packet id, as read back at start. */
export interface StoredPacket {
  packetId: number;
  receivedAt: number;
  digest: Buffer;
}

/**
 * One memory for every journal fed by one MQTT connection (the schools' journals, src/schools):
 * packet ids are the connection's, so each id is remembered with the journal its message went
 * to (two schools may send the same topic and payload), and its age is counted in messages of
 * the whole connection, not entries of one journal, which a busy school would outrun.
 */
export class ConnectionPackets {
  /** The message count when each id was last remembered; 0: never. */
  private readonly counts = new Float64Array(PACKET_IDS);
  private readonly journals = new Uint16Array(PACKET_IDS);
  private readonly digests = Buffer.alloc(PACKET_IDS * DIGEST_BYTES);
  private count = 0;

  /** What the journal number `journal` (0 to 65 535) sees of this memory. */
  forJournal(journal: number): PacketMemory {
    return {
      remember: (packetId, _seq, digest) => this.remember(journal, packetId, digest),
      isRedelivery: (packetId, digest) => this.isRedelivery(journal, packetId, digest),
    };
  }

  private remember(journal: number, packetId: number, digest: Buffer): void {
    this.counts[packetId] = ++this.count;
    this.journals[packetId] = journal;
    digest.copy(this.digests, packetId * DIGEST_BYTES, 0, DIGEST_BYTES);
  }

  private isRedelivery(journal: number, packetId: number, digest: Buffer): boolean {
    const at = this.counts[packetId]!;
    if (at === 0 || this.count - at >= REDELIVERY_WINDOW || this.journals[packetId] !== journal) return false;
    return sameDigest(this.digests, packetId, digest);
  }

  /**
   * At start: the newest REDELIVERY_WINDOW messages of all the journals together, by receipt
   * time (`journals[i]` lists journal i's, newest first), remembered oldest first so that each
   * id keeps its last use. Reads only as many rows as it keeps, however long the journals are.
   */
  load(journals: ReadonlyArray<Iterable<StoredPacket>>): void {
    const cursors = journals.map((packets, journal) => ({ journal, it: packets[Symbol.iterator](), head: undefined as StoredPacket | undefined }));
    const advance = (c: (typeof cursors)[number]) => {
      const next = c.it.next();
      c.head = next.done ? undefined : next.value;
    };
    cursors.forEach(advance);
    const newestFirst: Array<{ journal: number; packet: StoredPacket }> = [];
    try {
      while (newestFirst.length < REDELIVERY_WINDOW) {
        // A few hundred journals at most: a linear scan costs less than keeping a heap.
        let newest: (typeof cursors)[number] | undefined;
        for (const c of cursors) if (c.head && (!newest || c.head.receivedAt > newest.head!.receivedAt)) newest = c;
        if (!newest) break;
        newestFirst.push({ journal: newest.journal, packet: newest.head! });
        advance(newest);
      }
    } finally {
      // Lets go of each journal's open statement.
      for (const c of cursors) c.it.return?.();
    }
    for (let i = newestFirst.length - 1; i >= 0; i--) {
      const { journal, packet } = newestFirst[i]!;
      this.remember(journal, packet.packetId, packet.digest);
    }
  }
}
