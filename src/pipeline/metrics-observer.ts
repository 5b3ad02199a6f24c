import type { ErrorType } from '../decode/types.js';
import type { Metrics } from '../metrics.js';
import type { BatchStats, DrainObserver } from './drain-ports.js';

/** Turns what the drain reports into Prometheus metrics. */
export function metricsObserver(metrics: Metrics): DrainObserver {
  return {
    batchCommitted(stats: BatchStats) {
      if (stats.entries > 0) {
        metrics.batchSize.observe(stats.entries);
        metrics.commitSeconds.observe(stats.seconds);
      }
      if (stats.mesures > 0) metrics.rowsWritten.inc({ table: 'mesure' }, stats.mesures);
      if (stats.controllers > 0) metrics.rowsWritten.inc({ table: 'controleur' }, stats.controllers);
      let errorRows = 0;
      for (const [type, n] of Object.entries(stats.errors) as Array<[ErrorType, number]>) {
        errorRows += n;
        metrics.errors.inc({ type }, n);
      }
      if (errorRows > 0) metrics.rowsWritten.inc({ table: 'error' }, errorRows);
      for (const [type, n] of Object.entries(stats.suppressed) as Array<[ErrorType, number]>) {
        metrics.errors.inc({ type }, n);
        metrics.errorsSuppressed.inc({ type }, n);
      }
    },
    entriesWrittenAgain(entries: number) {
      metrics.entriesWrittenAgain.inc(entries);
    },
    entriesNotRefilled(entries: number) {
      metrics.entriesNotRefilled.inc(entries);
    },
    transactionConflict() {
      metrics.transactionConflicts.inc();
    },
    databaseState(up: boolean, wasDown: boolean) {
      metrics.dbConnected.set(up ? 1 : 0);
      if (up && wasDown) metrics.dbReconnects.inc();
    },
  };
}
