/**
 * `parc-bridge acl`: writes the opt-in Mosquitto ACL that binds each controller's certificate to
 * its own serres (serre.controleur) and its own controleur/<MAC> topics, and each school broker
 * bridged to this one to its own ecole/<id>/ prefix; `--central`: the central broker's ACL.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { loadDbConfig } from '../../config.js';
import { createPool } from '../../db/pool.js';
import { errorMessage } from '../../error-message.js';
import { parseAclArgs, USAGE, type AclOptions } from './args.js';
import { MissingControllerColumnError, readControllerAssignments } from './assignments.js';
import { planAcl, type AclPlan } from './plan.js';
import { siteBridgeCn } from './identity.js';
import { renderAcl, renderCentralAcl } from './render.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Replaces the file whole: Mosquitto, reloaded meanwhile, never reads half an ACL. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}

/** Never silent about schools: a school broker bridged here with none listed publishes nothing. */
function schoolsLine(options: AclOptions): string {
  if (options.schools.length === 0) return 'acl: no school bridged to this broker (--school, SCHOOLS): a school broker (CN=site-bridge-<id>) may publish nothing';
  return `acl: ${options.schools.length} school(s) from ${options.schoolsFrom}, each writing under its own ecole/<id>/: ${options.schools.map(siteBridgeCn).join(', ')}`;
}

function summary(plan: AclPlan, options: AclOptions, where: string): string {
  const serres = plan.controllers.reduce((n, c) => n + c.serres.length, 0);
  const lines = [`acl: ${plan.controllers.length} controller(s), ${serres} serre(s) written to ${where}`];
  if (plan.unassignedSerres.length > 0) {
    lines.push(`acl: serres without a controller, whose readings the broker will refuse: ${plan.unassignedSerres.join(', ')}`);
  }
  lines.push(schoolsLine(options));
  return [...plan.warnings.map((w) => `acl: warning: ${w}`), ...lines].join('\n');
}

function write(out: string | undefined, text: string): void {
  if (out === undefined) process.stdout.write(text);
  else writeAtomically(out, text);
}

export async function aclCommand(args: string[]): Promise<number> {
  const parsed = parseAclArgs(args, process.env);
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    process.stderr.write(`acl: ${parsed.errors.join('\n     ')}\n(see \`acl --help\`)\n`);
    return EXIT_USAGE;
  }
  const { options } = parsed;
  const where = options.out ?? 'standard output';
  if (options.central) {
    try {
      write(options.out, renderCentralAcl(options.schools));
    } catch (err) {
      process.stderr.write(`acl: could not write ${where}: ${errorMessage(err)}\n`);
      return EXIT_FAILED;
    }
    process.stderr.write(`acl: central broker, no controller, written to ${where}\n${schoolsLine(options)}\n`);
    return 0;
  }
  const config = loadDbConfig();
  const pool = createPool(config.db, 1);
  try {
    const plan = planAcl(await readControllerAssignments(pool, config.db.database), options.cnByMac);
    write(options.out, renderAcl(plan, config.db.database, options.schools));
    process.stderr.write(`${summary(plan, options, where)}\n`);
    return 0;
  } catch (err) {
    const reason = err instanceof MissingControllerColumnError ? err.message : `could not read the database: ${errorMessage(err)}`;
    process.stderr.write(`acl: ${reason}\n`);
    return EXIT_FAILED;
  } finally {
    await pool.end();
  }
}
