/** The decision a drain takes when its journal and the database's position row disagree. */
import { describe, expect, it } from 'vitest';
import { CLOCK_MARGIN_MS, decide, type JournalMarks, type PositionRow } from '../../src/pipeline/recovery.js';

const T = Date.UTC(2026, 11, 1, 2);
/** Entry n was received at T + n seconds. */
const receivedBy = (atMs: number, afterSeq: number, upToSeq: number) => {
  const last = Math.min(upToSeq, Math.floor((atMs - T) / 1000));
  return last > afterSeq ? last : undefined;
};

const journal = (over: Partial<JournalMarks> = {}): JournalMarks => ({
  id: 'j1',
  committedUpTo: 100,
  removedUpTo: 40,
  lastSequence: 120,
  earlierRunsUpTo: 110,
  positionBase: 0,
  positionSinceMs: T,
  lastReceivedBy: receivedBy,
  ...over,
});
/** A row the database moved when entry `lastSeq` had just been received, unless said otherwise. */
const row = (lastSeq: number, journalId = 'j1', movedAtMs = T + lastSeq * 1000): PositionRow => ({ journalId, lastSeq, movedAtMs });

describe('decide', () => {
  it('does nothing when the database is where the journal is', () => {
    expect(decide(row(100), journal(), true)).toEqual({ kind: 'in-step' });
    // No row yet, nothing committed under this client id: the first batch makes it.
    expect(decide(undefined, journal({ committedUpTo: 7, positionBase: 7 }), false)).toEqual({ kind: 'in-step' });
  });

  it('writes on over a row another journal wrote since this one began committing', () => {
    expect(decide(row(5, 'j0', T + 3_600_000), journal(), true)).toEqual({ kind: 'other-journal', otherJournalId: 'j0' });
    // Within the clocks' margin: not told apart, written on.
    expect(decide(row(5, 'j0', T - CLOCK_MARGIN_MS + 1), journal(), true)).toMatchObject({ kind: 'other-journal' });
    // A journal that never committed: nothing of its own can be missing.
    expect(decide(row(5, 'j0', T - 3_600_000), journal({ committedUpTo: 0, removedUpTo: 0, positionSinceMs: undefined }), true)).toMatchObject({ kind: 'other-journal' });
  });

  it('writes again over a row of a journal older than this one: the database went back before it', () => {
    expect(decide(row(5, 'j0', T - 3_600_000), journal({ removedUpTo: 0 }), false)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 0, upTo: 100, lost: undefined });
    expect(decide(row(5, 'j0', T - 3_600_000), journal(), false)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 40, upTo: 100, lost: { fromSeq: 1, toSeq: 40 } });
  });

  it('skips entries the database already holds (a crash after COMMIT, a lost answer)', () => {
    expect(decide(row(105), journal(), true)).toEqual({ kind: 'skip', to: 105 });
    expect(decide(row(110), journal(), true)).toEqual({ kind: 'skip', to: 110 });
    expect(decide(row(118), journal(), false)).toEqual({ kind: 'skip', to: 118 });
  });

  it('sees a journal older than the database, and renumbers what came after the file', () => {
    // First reconciliation: entries 111..120 were received after the database's last commit.
    expect(decide(row(150, 'j1', T + 50_000), journal(), true)).toEqual({ kind: 'journal-behind', databaseSeq: 150, inDatabaseUpTo: 110 });
    // Later: past what this process may have appended, the database moved by other hands.
    expect(decide(row(121), journal(), false)).toEqual({ kind: 'journal-behind', databaseSeq: 121, inDatabaseUpTo: 100 });
  });

  it('takes entries never compared but received before the database last moved for written ones', () => {
    // The file came back from a snapshot taken before 111..120 were compared; they were written since.
    expect(decide(row(125, 'j1', T + 200_000), journal(), true)).toEqual({ kind: 'journal-behind', databaseSeq: 125, inDatabaseUpTo: 120 });
    expect(decide(row(118, 'j1', T + 200_000), journal(), true)).toEqual({ kind: 'skip', to: 118 });
    // Received later than the database moved: not in it.
    expect(decide(row(118, 'j1', T + 114_000), journal(), true)).toEqual({ kind: 'journal-behind', databaseSeq: 118, inDatabaseUpTo: 113 });
    // Too close to tell (entry 118 received half a second before): new, at worst written twice, never lost.
    expect(decide(row(118, 'j1', T + 118_500), journal(), true)).toEqual({ kind: 'journal-behind', databaseSeq: 118, inDatabaseUpTo: 117 });
  });

  it('writes again what a database that went back lost, while the journal retains it', () => {
    expect(decide(row(60), journal(), false)).toEqual({ kind: 'refill', databaseSeq: 60, from: 60, upTo: 100, lost: undefined });
    expect(decide(row(40), journal(), true)).toEqual({ kind: 'refill', databaseSeq: 40, from: 40, upTo: 100, lost: undefined });
  });

  it('writes again from the start of the window when the row is gone', () => {
    expect(decide(undefined, journal({ removedUpTo: 0 }), true)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 0, upTo: 100, lost: undefined });
    expect(decide(undefined, journal(), true)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 40, upTo: 100, lost: { fromSeq: 1, toSeq: 40 } });
  });

  it('names what retention removed, and writes on past it', () => {
    expect(decide(row(25), journal(), false)).toEqual({ kind: 'refill', databaseSeq: 25, from: 40, upTo: 100, lost: { fromSeq: 26, toSeq: 40 } });
    // Everything removed: nothing to write again, the row still moves on with the next batch.
    expect(decide(row(25), journal({ removedUpTo: 100 }), false)).toMatchObject({ from: 100, upTo: 100, lost: { fromSeq: 26, toSeq: 100 } });
  });

  it('never goes back before the base of this client id: what came before was written under another', () => {
    const handedOver = journal({ positionBase: 80, removedUpTo: 10 });
    expect(decide(row(30), handedOver, false)).toEqual({ kind: 'refill', databaseSeq: 30, from: 80, upTo: 100, lost: undefined });
    expect(decide(undefined, handedOver, false)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 80, upTo: 100, lost: undefined });
  });
});
