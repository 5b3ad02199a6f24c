/**
 * "Subscribed, yet no reading at all": the bridge is connected and its subscriptions were
 * granted, but nothing arrives on serre/+/bac/+ (a broker ACL that does not let its certificate's
 * CN read, every device off or unable to connect). Pure state; the caller passes the clock and
 * how many readings have been received so far.
 */

export type SilenceChange = 'silent' | 'back' | undefined;

export class ReadingsSilence {
  private received = 0;
  private lastReadingMono: number | undefined;
  private lastReadingWall: number | undefined;
  private warned = false;

  constructor(readonly warnAfterMs: number) {}

  /** True from the WARN until readings come back: one WARN per silent period. */
  get silent(): boolean {
    return this.warned;
  }

  /** Wall time of the last reading seen, undefined before the first. */
  get lastReadingAt(): number | undefined {
    return this.lastReadingWall;
  }

  /**
   * `received`: readings received since the start (a counter); `listeningSinceMono`: start of
   * the current subscribed period, undefined while not subscribed.
   */
  update(received: number, nowMono: number, nowWall: number, listeningSinceMono: number | undefined): SilenceChange {
    if (received > this.received) {
      this.received = received;
      this.lastReadingMono = nowMono;
      this.lastReadingWall = nowWall;
      if (this.warned) {
        this.warned = false;
        return 'back';
      }
      return undefined;
    }
    if (!this.warned && this.silentForMs(nowMono, listeningSinceMono) >= this.warnAfterMs) {
      this.warned = true;
      return 'silent';
    }
    return undefined;
  }

  /** How long the bridge has been subscribed without a reading; 0 while not subscribed. */
  silentForMs(nowMono: number, listeningSinceMono: number | undefined): number {
    if (listeningSinceMono === undefined) return 0;
    return Math.max(0, nowMono - Math.max(listeningSinceMono, this.lastReadingMono ?? Number.NEGATIVE_INFINITY));
  }
}
