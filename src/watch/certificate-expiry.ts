/**
 * The bridge's own certificates at start: days left in a metric (the alert rules watch it), and
 * a WARN a month ahead, so a school renews before the broker refuses the bridge.
 */
import type { BridgeConfig } from '../config.js';
import { errorMessage } from '../error-message.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { daysUntilExpiry, readCertificate } from '../tls/certificates.js';

const WARN_BEFORE_DAYS = 30;

export function observeCertificates(tls: BridgeConfig['mqtt']['tls'], metrics: Metrics, log: Logger): void {
  if (!tls) return;
  for (const [name, file] of [['client', tls.certFile], ['ca', tls.caFile]] as const) {
    try {
      const days = daysUntilExpiry(readCertificate(file));
      metrics.certificateExpiryDays.set({ certificate: name }, days);
      if (days < WARN_BEFORE_DAYS) log.warn({ certificate: name, file, days }, 'certificate expires soon');
    } catch (err) {
      log.warn({ certificate: name, file, err: errorMessage(err) }, 'cannot read certificate');
    }
  }
}
