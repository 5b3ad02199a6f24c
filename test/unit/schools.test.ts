/** The school dimension's pure parts: ids and topics, routing to the schools' journals, sizing, the doctor's summary. */
import { describe, expect, it } from 'vitest';
import type { Backlog, IncomingMessage } from '../../src/journal/journal.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import { metricsObserver } from '../../src/pipeline/metrics-observer.js';
import { schoolSubscriptions, subscriptions, topicKind } from '../../src/mqtt/topics.js';
import { schoolResult, schoolsSummary } from '../../src/ops/doctor/school-checks.js';
import { readSchools, schoolDatabase, schoolOfDatabase, schoolOfDir, splitSchoolTopic } from '../../src/schools/school-ids.js';
import { SchoolRouter, type RoutedSchool } from '../../src/schools/school-router.js';
import { schoolSizing } from '../../src/schools/sizing.js';

describe('school ids and topics', () => {
  it('splits a central topic into its school and the topic the devices published', () => {
    expect(splitSchoolTopic('ecole/ecole-1/serre/2/bac/3')).toEqual({ school: 'ecole-1', topic: 'serre/2/bac/3' });
    expect(splitSchoolTopic('ecole/ecole-1/controleur/AA:BB:CC:DD:EE:FF/disconnect')).toEqual({ school: 'ecole-1', topic: 'controleur/AA:BB:CC:DD:EE:FF/disconnect' });
    expect(splitSchoolTopic('serre/2/bac/3')).toBeUndefined();
    expect(splitSchoolTopic('ecole//serre/1/bac/1')).toBeUndefined();
    expect(splitSchoolTopic('ecole/x')).toBeUndefined();
  });

  it('subscribes each school to the three filters, readings shared in a group, controllers never', () => {
    expect(schoolSubscriptions(['ecole-1', 'ecole-2'], '')).toEqual([
      'ecole/ecole-1/serre/+/bac/+',
      'ecole/ecole-1/controleur/+',
      'ecole/ecole-1/controleur/+/disconnect',
      'ecole/ecole-2/serre/+/bac/+',
      'ecole/ecole-2/controleur/+',
      'ecole/ecole-2/controleur/+/disconnect',
    ]);
    expect(schoolSubscriptions(['ecole-1'], 'parc')).toEqual(['$share/parc/ecole/ecole-1/serre/+/bac/+', 'ecole/ecole-1/controleur/+', 'ecole/ecole-1/controleur/+/disconnect']);
    expect(subscriptions('')).toEqual(['serre/+/bac/+', 'controleur/+', 'controleur/+/disconnect']);
  });

  it('labels a message by its kind whatever school it comes from', () => {
    expect(topicKind('ecole/ecole-1/serre/1/bac/1')).toBe('bac');
    expect(topicKind('ecole/ecole-1/controleur/AA:BB:CC:DD:EE:FF')).toBe('controller');
    expect(topicKind('ecole/ecole-1/controleur/AA:BB:CC:DD:EE:FF/disconnect')).toBe('disconnect');
    expect(topicKind('serre/1/bac/1')).toBe('bac');
  });

  it('names databases and journal folders', () => {
    expect(schoolDatabase('parc_{ecole}', 'ecole-1')).toBe('parc_ecole-1');
    expect(schoolOfDir('ecole-ecole-1')).toBe('ecole-1');
    expect(schoolOfDir('slot-1')).toBeUndefined();
    expect(schoolOfDir('ecole-Bad')).toBeUndefined();
    expect(schoolOfDatabase('parc_{ecole}', 'parc_ecole-9')).toBe('ecole-9');
    expect(schoolOfDatabase('{ecole}_parc', 'ecole-9_parc')).toBe('ecole-9');
    expect(schoolOfDatabase('parc_{ecole}', 'parc_')).toBeUndefined();
    expect(schoolOfDatabase('parc_{ecole}', 'parc_Old')).toBeUndefined();
    expect(schoolOfDatabase('parc_{ecole}', 'parc')).toBeUndefined();
    expect(schoolOfDatabase('parc.{ecole}', 'parcXecole-1')).toBeUndefined();
    expect(readSchools('b,a', 'parc_{ecole}')).toEqual({ ids: ['b', 'a'], problems: [] });
  });
});

class FakeJournal {
  appended: IncomingMessage[][] = [];
  events: string[] = [];
  backlogBytes = 0;
  failing = false;
  appendMessages(msgs: IncomingMessage[]): boolean[] {
    if (this.failing) throw new Error('disk I/O error');
    this.appended.push(msgs);
    this.backlogBytes += msgs.length * 100;
    return msgs.map((m) => !m.dup);
  }
  appendEvent(_kind: 'mqtt_disconnect', detail: string): void {
    this.events.push(detail);
  }
  backlogSize(): Backlog {
    return { entries: this.backlogBytes / 100, bytes: this.backlogBytes };
  }
}

function router(...ecoles: Array<[string, boolean]>) {
  const schools = ecoles.map(([ecole, subscribed]) => ({ ecole, subscribed, journal: new FakeJournal(), lastReceivedAt: undefined as number | undefined }));
  return { schools, router: new SchoolRouter(schools as RoutedSchool[], createLogger('error')) };
}

const msg = (topic: string, receivedAt = 1, dup = false): IncomingMessage => ({ topic, payload: Buffer.from('{}'), receivedAt, packetId: 1, dup });

describe('SchoolRouter', () => {
  it("appends each school's messages to its journal in one call per group, without the prefix", () => {
    const { schools, router: r } = router(['ecole-a', true], ['ecole-b', true]);
    const stored = r.appendMessages(
      [msg('ecole/ecole-a/serre/1/bac/1', 10), msg('ecole/ecole-b/serre/1/bac/1', 11), msg('ecole/ecole-a/controleur/AA:BB:CC:DD:EE:FF', 12, true)],
      1024,
    );
    expect(stored).toEqual([true, true, false]);
    expect(schools[0]!.journal.appended.map((g) => g.map((m) => m.topic))).toEqual([['serre/1/bac/1', 'controleur/AA:BB:CC:DD:EE:FF']]);
    expect(schools[1]!.journal.appended.map((g) => g.map((m) => m.topic))).toEqual([['serre/1/bac/1']]);
    expect(schools.map((s) => s.lastReceivedAt)).toEqual([12, 11]);
    expect(r.backlogBytes).toBe(300);
    expect(r.backlogSize()).toEqual({ entries: 3, bytes: 300 });
  });

  it('acknowledges a message of a school it does not serve without storing it anywhere', () => {
    const { schools, router: r } = router(['ecole-a', true]);
    expect(r.appendMessages([msg('ecole/ecole-z/serre/1/bac/1'), msg('serre/1/bac/1')], 1024)).toEqual([true, true]);
    expect(schools[0]!.journal.appended).toEqual([]);
  });

  it("writes the other schools' messages when one journal fails, and throws so that none is acknowledged", () => {
    const { schools, router: r } = router(['ecole-a', true], ['ecole-b', true]);
    schools[0]!.journal.failing = true;
    expect(() => r.appendMessages([msg('ecole/ecole-a/serre/1/bac/1'), msg('ecole/ecole-b/serre/1/bac/1')], 1024)).toThrow(/disk I\/O error/);
    expect(schools[1]!.journal.appended).toHaveLength(1);
  });

  it("records the broker's loss in every subscribed school's journal", () => {
    const { schools, router: r } = router(['ecole-a', true], ['ecole-old', false]);
    r.appendEvent('mqtt_disconnect', 'connexion fermée');
    expect(schools.map((s) => s.journal.events)).toEqual([['connexion fermée'], []]);
  });
});

describe('schoolSizing', () => {
  it("keeps the journals' memory and the batches within totals that do not grow with the schools", () => {
    const ten = schoolSizing(10, 2000);
    const many = schoolSizing(200, 2000);
    expect(ten.tailLimits.maxBytes * 10).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(many.tailLimits.maxBytes * 200).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(many.cacheKiB * 200).toBeLessThanOrEqual(32 * 1024);
    expect(many.batchSize * 200).toBeLessThanOrEqual(4000);
    expect(schoolSizing(1, 2000).batchSize).toBe(2000);
    expect(schoolSizing(1, 50).batchSize).toBe(50);
  });
});

describe('doctor: school databases', () => {
  it('puts one line per school to fix, and the others in a summary', () => {
    const good = schoolResult('ecole-1', 'parc_ecole-1', [{ status: 'ok', label: 'Database connection', detail: 'connected' }]);
    const bad = schoolResult('ecole-2', 'parc_ecole-2', [
      { status: 'ok', label: 'Database connection', detail: 'connected' },
      { status: 'fail', label: 'Database schema', detail: 'missing table(s) mesure', fix: 'run `npm run migrate`' },
      { status: 'warn', label: 'max_allowed_packet', detail: 'small', fix: 'raise it' },
    ]);
    expect(good).toMatchObject({ status: 'ok', label: 'School ecole-1' });
    expect(bad).toEqual({
      status: 'fail',
      label: 'School ecole-2',
      detail: 'database parc_ecole-2: Database schema: missing table(s) mesure; max_allowed_packet: small',
      fix: 'run `npm run migrate`; raise it',
    });
    expect(schoolsSummary([good, bad])).toMatchObject({ status: 'fail', detail: '1 of 2 school databases pass every check (ecole-1); 1 failed (above)' });
    expect(schoolsSummary([good])).toMatchObject({ status: 'ok', detail: '1 of 1 school databases pass every check (ecole-1)' });
  });
});

describe('metrics per school', () => {
  it("labels what a school's drain reports with the school, and nothing else", async () => {
    const metrics = new Metrics(false, true);
    metrics.startSchool('ecole-a');
    const observer = metricsObserver(metrics.forSchool('ecole-a'));
    observer.batchCommitted({ entries: 2, seconds: 0.01, mesures: 3, readings: [], controllers: 1, errors: { UNKNOWN_SENSOR: 1 }, suppressed: {} });
    observer.databaseState(false, false);
    observer.databaseState(true, true);
    observer.entriesWrittenAgain(4);
    const text = await metrics.registry.metrics();
    const series = text.split('\n').filter((l) => /^parc_bridge_(rows_written|errors|db_connected|db_reconnects|entries_written_again|batch_entries_count)/.test(l));
    expect(series).toEqual([
      'parc_bridge_rows_written_total{table="mesure",ecole="ecole-a"} 3',
      'parc_bridge_rows_written_total{table="controleur",ecole="ecole-a"} 1',
      'parc_bridge_rows_written_total{table="error",ecole="ecole-a"} 1',
      'parc_bridge_errors_total{type="UNKNOWN_SENSOR",ecole="ecole-a"} 1',
      'parc_bridge_batch_entries_count 1',
      'parc_bridge_entries_written_again_total{ecole="ecole-a"} 4',
      'parc_bridge_db_connected{ecole="ecole-a"} 1',
      'parc_bridge_db_reconnects_total{ecole="ecole-a"} 1',
    ]);
  });
});
