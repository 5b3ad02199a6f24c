/** The decision a drain takes when its journal and the database's position row disagree. */
import { describe, expect, it } from 'vitest';
import { decide, type JournalMarks, type PositionRow } from '../../src/pipeline/recovery.js';

const journal = (over: Partial<JournalMarks> = {}): JournalMarks => ({
  id: 'j1',
  committedUpTo: 100,
  removedUpTo: 40,
  lastSequence: 120,
  earlierRunsUpTo: 110,
  positionBase: 0,
  ...over,
});
const row = (lastSeq: number, journalId = 'j1'): PositionRow => ({ journalId, lastSeq, updatedAtMs: Date.UTC(2026, 11, 1, 2) });

describe('decide', () => {
  it('does nothing when the database is where the journal is', () => {
    expect(decide(row(100), journal(), true)).toEqual({ kind: 'in-step' });
    // No row yet, nothing committed under this client id: the first batch makes it.
    expect(decide(undefined, journal({ committedUpTo: 7, positionBase: 7 }), false)).toEqual({ kind: 'in-step' });
  });

  it('leaves a row of another journal alone', () => {
    expect(decide(row(5, 'j0'), journal(), true)).toEqual({ kind: 'other-journal', otherJournalId: 'j0' });
  });

  it('skips entries the database already holds (a crash after COMMIT, a lost answer)', () => {
    expect(decide(row(105), journal(), true)).toEqual({ kind: 'skip', to: 105 });
    expect(decide(row(110), journal(), true)).toEqual({ kind: 'skip', to: 110 });
    expect(decide(row(118), journal(), false)).toEqual({ kind: 'skip', to: 118 });
  });

  it('sees a journal older than the database, and renumbers what came after the file', () => {
    // First reconciliation: entries 111..120 were appended by this process, the database has 150.
    expect(decide(row(150), journal(), true)).toEqual({ kind: 'journal-behind', databaseSeq: 150, inDatabaseUpTo: 110, renumbered: 10 });
    // Past what this process may have appended: the database moved by other hands.
    expect(decide(row(111), journal(), true)).toMatchObject({ kind: 'journal-behind', inDatabaseUpTo: 110 });
    expect(decide(row(121), journal(), false)).toEqual({ kind: 'journal-behind', databaseSeq: 121, inDatabaseUpTo: 100, renumbered: 20 });
  });

  it('writes again what a database that went back lost, while the journal retains it', () => {
    expect(decide(row(60), journal(), false)).toEqual({ kind: 'refill', databaseSeq: 60, from: 60, upTo: 100, moveRowFrom: undefined, lost: undefined });
    expect(decide(row(40), journal(), true)).toEqual({ kind: 'refill', databaseSeq: 40, from: 40, upTo: 100, moveRowFrom: undefined, lost: undefined });
  });

  it('writes again from the start of the window when the row is gone', () => {
    expect(decide(undefined, journal({ removedUpTo: 0 }), true)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 0, upTo: 100, moveRowFrom: undefined, lost: undefined });
    expect(decide(undefined, journal(), true)).toEqual({
      kind: 'refill',
      databaseSeq: undefined,
      from: 40,
      upTo: 100,
      moveRowFrom: undefined,
      lost: { fromSeq: 1, toSeq: 40 },
    });
  });

  it('names what retention removed, and moves the row past it', () => {
    expect(decide(row(25), journal(), false)).toEqual({ kind: 'refill', databaseSeq: 25, from: 40, upTo: 100, moveRowFrom: 25, lost: { fromSeq: 26, toSeq: 40 } });
    // Everything removed: nothing to write again, the row still moves on.
    expect(decide(row(25), journal({ removedUpTo: 100 }), false)).toMatchObject({ from: 100, upTo: 100, moveRowFrom: 25, lost: { fromSeq: 26, toSeq: 100 } });
  });

  it('never goes back before the base of this client id: what came before was written under another', () => {
    const handedOver = journal({ positionBase: 80, removedUpTo: 10 });
    expect(decide(row(30), handedOver, false)).toEqual({ kind: 'refill', databaseSeq: 30, from: 80, upTo: 100, moveRowFrom: 30, lost: undefined });
    expect(decide(undefined, handedOver, false)).toEqual({ kind: 'refill', databaseSeq: undefined, from: 80, upTo: 100, moveRowFrom: undefined, lost: undefined });
  });
});
