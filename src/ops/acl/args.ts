import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { normaliseMac } from '../../decode/topic.js';
import { errorMessage } from '../../error-message.js';
import { cnProblem, schoolIdProblem } from './identity.js';

/** Command line of `acl`, validated into one object or the list of every problem. */

export interface AclOptions {
  /** File to write; undefined = standard output. */
  out: string | undefined;
  /** Certificate CN by controller MAC (upper-case) when it is not the MAC itself. */
  cnByMac: Map<string, string>;
  /** Schools whose broker bridges here (CN site-bridge-<id>), each publishing under ecole/<id>/ only. */
  schools: string[];
  /** Where `schools` came from, for the summary: --school, else the bridge's SCHOOLS. */
  schoolsFrom: '--school' | 'SCHOOLS' | undefined;
  /** The central broker's ACL: school bridges and the central bridge, no controller, no database. */
  central: boolean;
}

export type ParsedAclArgs = { help: true } | { help: false; options: AclOptions } | { help: false; errors: string[] };

export const USAGE = `Usage: parc-bridge acl [--out <file>] [--cn <MAC>=<CN>]... [--cn-file <file>] [--school <id>]...
       parc-bridge acl --central --school <id>... [--out <file>]
       (npm run acl -- [options])

Writes a Mosquitto ACL that lets each controller publish only for its own serres, from the
web application's database (DB_HOST, DB_NAME, DB_USER, DB_PASSWORD as for the bridge):
- the bridge (mqtt-bridge, parc-bridge) reads everything, as in mosquitto/config/acl;
- each controller's certificate writes serre/<numero>/bac/+ for every serre whose column
  serre.controleur holds its MAC, and its own controleur/<MAC> and controleur/<MAC>/disconnect;
- nobody else writes anything: a serre without a controller gets no readings.
Needs the column serre.controleur (the MAC of the serre's controller).

The certificate CN of a controller is its MAC (as clients-certs.sh recommends) unless mapped:
  --out <file>          write there (e.g. mosquitto/config/acl.generated) instead of stdout
  --cn <MAC>=<CN>       the controller <MAC> connects with a certificate named <CN>
                        (e.g. --cn 24:6F:28:AB:CD:01=m5-serre-1); repeatable
  --cn-file <file>      the same, one <MAC>=<CN> per line ('#' starts a comment)

Schools bridged to this broker (deploy/site-broker/README.md):
  --school <id>         the broker of school <id> bridges here with its certificate
                        CN=site-bridge-<id> (clients-certs.sh --site-bridge <id>): it may publish
                        ecole/<id>/serre/+/bac/+, ecole/<id>/controleur/+[/disconnect] and
                        ecole/<id>/bridge/state, nothing else; mqtt-bridge may read them.
                        Repeatable, or a comma list; default: the SCHOOLS variable, if set.
                        Without any, a school broker bridged here may publish nothing.
  --central             the central broker's ACL: school bridges and the central bridge only,
                        no controller, and no database is read (needs at least one school)
  -h, --help            this text

Then set "acl_file /mosquitto/config/acl.generated" in mosquitto.conf and restart Mosquitto
(or send it SIGHUP); generate again whenever serre.controleur changes.
Exit code: 0 written, 1 database problem or missing column, 2 bad arguments or configuration.
`;

/** Adds the school ids of a comma list, each once; `where` says where they came from. */
function addSchools(list: string, where: string, schools: string[], errors: string[]): void {
  for (const raw of list.split(',')) {
    const id = raw.trim();
    const problem = schoolIdProblem(id);
    if (problem) errors.push(`${where}: ${problem}`);
    else if (schools.includes(id)) errors.push(`${where}: school "${id}" is given twice`);
    else schools.push(id);
  }
}

/** Adds one "MAC=CN" pair; `where` says where it came from, for the message. */
function addMapping(text: string, where: string, cnByMac: Map<string, string>, errors: string[]): void {
  const eq = text.indexOf('=');
  const mac = eq > 0 ? normaliseMac(text.slice(0, eq).trim()) : undefined;
  const cn = eq > 0 ? text.slice(eq + 1).trim() : '';
  if (mac === undefined || cn === '') {
    errors.push(`${where}: expected <MAC>=<CN> (e.g. 24:6F:28:AB:CD:01=m5-serre-1), got "${text}"`);
    return;
  }
  const problem = cnProblem(cn);
  if (problem) {
    errors.push(`${where}: ${problem}`);
    return;
  }
  const earlier = cnByMac.get(mac);
  if (earlier !== undefined && earlier !== cn) {
    errors.push(`${where}: ${mac} is already mapped to "${earlier}"`);
    return;
  }
  cnByMac.set(mac, cn);
}

function readMappingFile(file: string, cnByMac: Map<string, string>, errors: string[]): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    errors.push(`--cn-file ${file}: ${errorMessage(err)}`);
    return;
  }
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line) addMapping(line, `${file} line ${i + 1}`, cnByMac, errors);
  });
}

/** `env` is where SCHOOLS is read when no --school is given (the central bridge's own list). */
export function parseAclArgs(args: string[], env: Record<string, string | undefined> = {}): ParsedAclArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        cn: { type: 'string', multiple: true },
        'cn-file': { type: 'string', multiple: true },
        school: { type: 'string', multiple: true },
        central: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { help: false, errors: [errorMessage(err)] };
  }
  if (values.help) return { help: true };

  const errors: string[] = [];
  const cnByMac = new Map<string, string>();
  for (const file of values['cn-file'] ?? []) readMappingFile(file, cnByMac, errors);
  for (const pair of values.cn ?? []) addMapping(pair, '--cn', cnByMac, errors);
  if (values.out !== undefined && values.out.trim() === '') errors.push('--out needs a file name');

  const schools: string[] = [];
  let schoolsFrom: AclOptions['schoolsFrom'];
  if (values.school !== undefined) {
    schoolsFrom = '--school';
    for (const list of values.school) addSchools(list, '--school', schools, errors);
  } else if (env.SCHOOLS?.trim()) {
    schoolsFrom = 'SCHOOLS';
    addSchools(env.SCHOOLS, 'SCHOOLS', schools, errors);
  }
  const central = values.central === true;
  if (central && schoolsFrom === undefined) errors.push('--central needs the schools bridged here: --school <id> (or SCHOOLS)');
  if (central && cnByMac.size > 0) errors.push('--central writes no controller: --cn and --cn-file do not apply');

  if (errors.length > 0) return { help: false, errors };
  return { help: false, options: { out: values.out, cnByMac, schools, schoolsFrom, central } };
}
