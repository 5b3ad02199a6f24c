import type { ErrorType } from '../decode/types.js';
import type { Metrics } from '../metrics.js';
import type { BatchStats, DrainObserver } from '../pipeline/drain-ports.js';

/** What one school's drain did, as metrics labelled with the school (pipeline/metrics-observer.ts without schools). */
export function schoolMetricsObserver(metrics: Metrics, ecole: string): DrainObserver {
  const rows = (table: string, n: number) => {
    if (n > 0) metrics.rowsWritten.inc({ table, ecole }, n);
  };
  return {
    batchCommitted(stats: BatchStats) {
      if (stats.entries > 0) {
        metrics.batchSize.observe(stats.entries);
        metrics.commitSeconds.observe(stats.seconds);
      }
      rows('mesure', stats.mesures);
      rows('controleur', stats.controllers);
      let errorRows = 0;
      for (const [type, n] of Object.entries(stats.errors) as Array<[ErrorType, number]>) {
        errorRows += n;
        metrics.errors.inc({ type, ecole }, n);
      }
      rows('error', errorRows);
      for (const [type, n] of Object.entries(stats.suppressed) as Array<[ErrorType, number]>) {
        metrics.errors.inc({ type, ecole }, n);
        metrics.errorsSuppressed.inc({ type, ecole }, n);
      }
    },
    entriesWrittenAgain(entries: number) {
      metrics.entriesWrittenAgain.inc({ ecole }, entries);
    },
    databaseState(up: boolean, wasDown: boolean) {
      metrics.dbConnected.set({ ecole }, up ? 1 : 0);
      if (up && wasDown) metrics.dbReconnects.inc({ ecole });
    },
  };
}
