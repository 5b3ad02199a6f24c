/**
 * `parc-bridge acl`: writes the opt-in Mosquitto ACL that binds each controller's certificate to
 * its own serres (serre.controleur) and its own controleur/<MAC> topics.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { loadDbConfig } from '../../config.js';
import { createPool } from '../../db/pool.js';
import { errorMessage } from '../../error-message.js';
import { parseAclArgs, USAGE } from './args.js';
import { MissingControllerColumnError, readControllerAssignments } from './assignments.js';
import { planAcl, type AclPlan } from './plan.js';
import { renderAcl } from './render.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Replaces the file whole: Mosquitto, reloaded meanwhile, never reads half an ACL. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}

function summary(plan: AclPlan, where: string): string {
  const serres = plan.controllers.reduce((n, c) => n + c.serres.length, 0);
  const lines = [`acl: ${plan.controllers.length} controller(s), ${serres} serre(s) written to ${where}`];
  if (plan.unassignedSerres.length > 0) {
    lines.push(`acl: serres without a controller, whose readings the broker will refuse: ${plan.unassignedSerres.join(', ')}`);
  }
  return [...plan.warnings.map((w) => `acl: warning: ${w}`), ...lines].join('\n');
}

export async function aclCommand(args: string[]): Promise<number> {
  const parsed = parseAclArgs(args);
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    process.stderr.write(`acl: ${parsed.errors.join('\n     ')}\n(see \`acl --help\`)\n`);
    return EXIT_USAGE;
  }
  const config = loadDbConfig();
  const pool = createPool(config.db, 1);
  try {
    const plan = planAcl(await readControllerAssignments(pool, config.db.database), parsed.options.cnByMac);
    const text = renderAcl(plan, config.db.database);
    const { out } = parsed.options;
    if (out === undefined) process.stdout.write(text);
    else writeAtomically(out, text);
    process.stderr.write(`${summary(plan, out ?? 'standard output')}\n`);
    return 0;
  } catch (err) {
    const reason = err instanceof MissingControllerColumnError ? err.message : `could not read the database: ${errorMessage(err)}`;
    process.stderr.write(`acl: ${reason}\n`);
    return EXIT_FAILED;
  } finally {
    await pool.end();
  }
}
