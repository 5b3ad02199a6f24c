/** The bridge under test runs with TZ=Europe/Paris; these convert DATETIME text and instants. */
export const TEST_TZ = 'Europe/Paris';

/** An instant as `YYYY-MM-DD HH:MM:SS` in the test zone, as `mesure_a` stores it. */
export function zonedDateTime(ms: number, timeZone = TEST_TZ): string {
  return new Date(ms).toLocaleString('sv-SE', { timeZone, hour12: false });
}

/** `YYYY-MM-DD HH:MM:SS` in the test zone back to epoch ms. */
export function zonedToEpoch(text: string, timeZone = TEST_TZ): number {
  const asUtc = Date.parse(`${text.replace(' ', 'T')}Z`);
  const offset = Date.parse(`${zonedDateTime(asUtc, timeZone).replace(' ', 'T')}Z`) - asUtc;
  return asUtc - offset;
}
