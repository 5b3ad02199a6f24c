/**
 * What a persistent session was subscribed to, across restarts and across a change of SCHOOLS,
 * MQTT_SHARED_GROUP or mode: the source unsubscribes previous() minus what it subscribes now.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { journalSubscriptionRecord, schoolsSubscriptionRecord, SESSION_FILTERS_FILE } from '../../src/mqtt/subscription-record.js';
import { schoolSubscriptions, subscriptions } from '../../src/mqtt/topics.js';
import { tempDir } from '../helpers/cleanup.js';

describe('subscription records', () => {
  it('single school: the readings filter in the journal, as before', () => {
    const dir = tempDir('subs-');
    const journal = new Journal(dir, 'normal');
    const record = journalSubscriptionRecord(journal, dir);
    expect(record.previous()).toEqual([]);
    record.save(subscriptions('parc'));
    expect(journalSubscriptionRecord(journal, dir).previous()).toEqual(['$share/parc/serre/+/bac/+']);
    journal.close();
  });

  it('schools: the whole list in DATA_DIR, replaced when SCHOOLS changes', () => {
    const dir = tempDir('subs-');
    const record = schoolsSubscriptionRecord(dir, []);
    expect(record.previous()).toEqual([]);
    record.save(schoolSubscriptions(['ecole-1', 'ecole-2'], ''));
    expect(schoolsSubscriptionRecord(dir, []).previous()).toHaveLength(6);
    record.save(schoolSubscriptions(['ecole-1'], ''));
    expect(schoolsSubscriptionRecord(dir, []).previous()).toEqual(schoolSubscriptions(['ecole-1'], ''));
  });

  it('from single school to schools and back: each mode drops what the other subscribed to', () => {
    const dir = tempDir('subs-');
    const single = subscriptions('');
    // Entering school mode: before its first save, what the single-school run subscribed to.
    const schools = schoolsSubscriptionRecord(dir, single);
    expect(schools.previous()).toEqual(single);
    schools.save(schoolSubscriptions(['ecole-1'], ''));
    // Back to one school: the schools' filters are dropped once, and the file goes.
    const journal = new Journal(dir, 'normal');
    const back = journalSubscriptionRecord(journal, dir);
    expect(back.previous()).toEqual(schoolSubscriptions(['ecole-1'], ''));
    back.save(single);
    expect(existsSync(join(dir, SESSION_FILTERS_FILE))).toBe(false);
    expect(journalSubscriptionRecord(journal, dir).previous()).toEqual(['serre/+/bac/+']);
    journal.close();
  });
});
