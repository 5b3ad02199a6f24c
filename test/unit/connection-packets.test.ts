/**
 * Redelivery detection when several journals share one MQTT connection (school mode): packet
 * ids are the connection's, so an id is recognised only for the journal it went to, and only
 * within the connection's last REDELIVERY_WINDOW messages; at start the memory is rebuilt from
 * every journal by receipt time.
 */
import { describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { messageDigest } from '../../src/journal/message-digest.js';
import { ConnectionPackets, REDELIVERY_WINDOW, type StoredPacket } from '../../src/journal/recent-packets.js';
import { tempDir } from '../helpers/cleanup.js';

const digest = (topic: string, payload = '{"humiditeSol":45}') => messageDigest(topic, Buffer.from(payload));
const TOPIC = 'serre/1/bac/1';

describe('ConnectionPackets', () => {
  it('recognises a redelivery only in the journal its packet id went to', () => {
    const packets = new ConnectionPackets();
    const [a, b] = [packets.forJournal(0), packets.forJournal(1)];
    a.remember(7, 1, digest(TOPIC));
    expect(a.isRedelivery(7, digest(TOPIC), 1)).toBe(true);
    // The same topic and payload from another school, with that packet id: a new message.
    expect(b.isRedelivery(7, digest(TOPIC), 1)).toBe(false);
    expect(a.isRedelivery(7, digest('serre/1/bac/2'), 1)).toBe(false);
    expect(a.isRedelivery(8, digest(TOPIC), 1)).toBe(false);
  });

  it("counts a packet's age in the connection's messages, whichever journal they went to", () => {
    const packets = new ConnectionPackets();
    const [quiet, busy] = [packets.forJournal(0), packets.forJournal(1)];
    quiet.remember(7, 1, digest(TOPIC));
    // The quiet school's journal barely moves; the connection carries the busy one's messages.
    for (let i = 0; i < REDELIVERY_WINDOW - 1; i++) busy.remember(100 + (i % 60_000), i, digest('x'));
    expect(quiet.isRedelivery(7, digest(TOPIC), 1)).toBe(true);
    busy.remember(99, 0, digest('x'));
    expect(quiet.isRedelivery(7, digest(TOPIC), 1)).toBe(false);
  });

  it('rebuilds at start from several journals: the newest use of each id wins, the oldest are left out', () => {
    const packets = new ConnectionPackets();
    const stored = (packetId: number, receivedAt: number, topic: string): StoredPacket => ({ packetId, receivedAt, digest: digest(topic) });
    // Newest first in each journal, as Journal.newestPackets gives them.
    const school0 = [stored(5, 300, 'a/new'), stored(6, 100, 'a/old')];
    const school1 = [stored(5, 200, 'b/older'), stored(9, 50, 'b/oldest')];
    packets.load([school0, school1]);
    const [a, b] = [packets.forJournal(0), packets.forJournal(1)];
    expect(a.isRedelivery(5, digest('a/new'), 0)).toBe(true);
    expect(b.isRedelivery(5, digest('b/older'), 0)).toBe(false);
    expect(a.isRedelivery(6, digest('a/old'), 0)).toBe(true);
    expect(b.isRedelivery(9, digest('b/oldest'), 0)).toBe(true);
  });

  it('reads no more rows at start than it keeps, and lets go of every journal', () => {
    const packets = new ConnectionPackets();
    let read = 0;
    let closed = 0;
    function* endless(journal: number): Generator<StoredPacket> {
      try {
        for (let i = 0; ; i++) {
          read += 1;
          yield { packetId: (i % 65_535) + 1, receivedAt: 1e12 - i * 2 - journal, digest: digest(`${journal}`) };
        }
      } finally {
        closed += 1;
      }
    }
    packets.load([endless(0), endless(1), endless(2)]);
    expect(read).toBeLessThanOrEqual(REDELIVERY_WINDOW + 3);
    expect(closed).toBe(3);
  });
});

describe('Journal with a shared packet memory', () => {
  const message = (packetId: number, topic: string, receivedAt: number, dup = false) => ({ topic, payload: Buffer.from('{"humiditeSol":45}'), receivedAt, packetId, dup });

  it('lists its packets newest first, those of removed entries too, with their receipt times', () => {
    const packets = new ConnectionPackets();
    const journal = new Journal(tempDir('shared-packets-'), 'normal', { packets: packets.forJournal(0), retention: { retainMs: 0, retainBytes: 0, reserveBytes: 0 } });
    journal.appendMessages([message(1, 'serre/1/bac/1', 1_000), message(2, 'serre/1/bac/1', 2_000)], 1024);
    journal.markCommitted(1); // removed at once (no retention): its packet stays known
    journal.appendMessages([message(3, 'serre/1/bac/1', 3_000)], 1024);
    expect([...journal.newestPackets()].map((p) => [p.packetId, p.receivedAt])).toEqual([
      [3, 3_000],
      [2, 2_000],
      [1, 1_000],
    ]);
    journal.close();
  });

  it('recognises a redelivery through the shared memory, and after a reopen through load', () => {
    const dir = tempDir('shared-packets-');
    let packets = new ConnectionPackets();
    let journal = new Journal(dir, 'normal', { packets: packets.forJournal(3) });
    expect(journal.appendMessages([message(42, 'serre/1/bac/1', 1_000)], 1024)).toEqual([true]);
    expect(journal.appendMessages([message(42, 'serre/1/bac/1', 1_001, true)], 1024)).toEqual([false]);
    journal.close();
    packets = new ConnectionPackets();
    journal = new Journal(dir, 'normal', { packets: packets.forJournal(3) });
    // Before the owner loads the memory, the journal knows nothing of its own.
    packets.load([[], [], [], journal.newestPackets()]);
    expect(journal.appendMessages([message(42, 'serre/1/bac/1', 1_002, true)], 1024)).toEqual([false]);
    expect(journal.backlogSize().entries).toBe(1);
    journal.close();
  });
});
