/** The fingerprint that tells a redelivered packet from another message with the same id. */
import { describe, expect, it } from 'vitest';
import { DIGEST_BYTES, messageDigest } from '../../src/journal/message-digest.js';

const d = (topic: string, payload: string) => messageDigest(topic, Buffer.from(payload)).toString('hex');

describe('messageDigest', () => {
  it('is the same for the same message, and DIGEST_BYTES long', () => {
    expect(d('serre/1/bac/1', '{"humiditeSol":40}')).toBe(d('serre/1/bac/1', '{"humiditeSol":40}'));
    expect(messageDigest('t', Buffer.from('p'))).toHaveLength(DIGEST_BYTES);
  });

  it('differs when the topic, the payload or their boundary differs', () => {
    const all = [
      d('serre/1/bac/1', '{"humiditeSol":40}'),
      d('serre/1/bac/2', '{"humiditeSol":40}'),
      d('serre/1/bac/1', '{"humiditeSol":41}'),
      d('serre/1/bac/1', '{"humiditeSol":40} '),
      d('ab', 'c'),
      d('a', 'bc'),
      d('', ''),
      d('serre/é/bac/1', ''),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('spreads one-byte changes over both halves', () => {
    const base = messageDigest('serre/1/bac/1', Buffer.from('{"humiditeSol":40}'));
    const other = messageDigest('serre/1/bac/1', Buffer.from('{"humiditeSol":50}'));
    expect(other.subarray(0, 4).equals(base.subarray(0, 4))).toBe(false);
    expect(other.subarray(4).equals(base.subarray(4))).toBe(false);
  });
});
