import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, type DemoLayout } from './layout.js';

/**
 * The demo's PKI, made once with the project's own scripts (scripts/pki-once.sh runs
 * mosquitto/server-certs.sh and clients-certs.sh --bridge for what is missing). The keys stay
 * with the user who runs the demo: the container uids the scripts give them by default (1883,
 * 1001) would lock out the local broker and bridge.
 */
/** Resolves with true when something was made, false when everything was there already. */
export function makeDemoPki(layout: DemoLayout): Promise<boolean> {
  const script = join(REPO_ROOT, 'scripts', 'pki-once.sh');
  const env = { ...process.env, PKI_DIR: layout.pkiDir, SERVER_KEY_OWNER: '', BRIDGE_KEY_OWNER: '' };
  return new Promise((resolve, reject) => {
    execFile(script, ['127.0.0.1', 'localhost'], { env }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`scripts/pki-once.sh failed: ${stderr.trim() || error.message}`));
      // pki-once.sh says "keeping ..." for each part it did not have to make.
      else resolve((stderr.match(/^pki: keeping /gm) ?? []).length < 2);
    });
  });
}
