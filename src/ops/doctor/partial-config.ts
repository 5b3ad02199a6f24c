import { ConfigError, loadBridgeConfig, loadDbConfig, type DbConfig, type MqttConfig } from '../../config.js';

/**
 * The configuration as far as it can be read. The bridge refuses to start on any problem; the
 * doctor reports every problem too, but still runs the checks whose own settings are fine, so
 * that one run shows e.g. both a missing DB_PASSWORD and a broker certificate problem.
 */
export interface PartialConfig {
  problems: string[];
  db: DbConfig | undefined;
  mqtt: MqttConfig | undefined;
  dataDir: string | undefined;
  /** SCHOOLS (docs/schools.md); empty when not set or not readable. */
  schools: string[];
}

type Env = Record<string, string | undefined>;

/** Valid stand-ins for required database settings, used only to read the MQTT side. */
const DB_PLACEHOLDERS: Env = { DB_HOST: 'placeholder', DB_USER: 'placeholder', DB_PASSWORD: 'placeholder' };

/** The variable a problem is about: config.ts words every problem as "<VARIABLE> <what is wrong>". */
export function problemVariable(problem: string): string | undefined {
  return /^([A-Z][A-Z0-9_]*)\b/.exec(problem)?.[1];
}

function without(env: Env, names: Set<string>): Env {
  const out: Env = {};
  for (const [key, value] of Object.entries(env)) if (!names.has(key)) out[key] = value;
  return out;
}

function attempt<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

export function readPartialConfig(env: Env): PartialConfig {
  try {
    const config = loadBridgeConfig(env);
    return { problems: [], db: config.db, mqtt: config.mqtt, dataDir: config.dataDir, schools: config.schools };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const bad = new Set(err.problems.map(problemVariable).filter((v): v is string => v !== undefined));
    // Each section is read again with the other sections' bad settings removed (they fall back
    // to their defaults) and required database settings stood in for, so only its own count.
    const badExcept = (keep: (name: string) => boolean) => new Set([...bad].filter((name) => !keep(name)));
    const dbOnly = attempt(() => loadDbConfig(without(env, badExcept((n) => n.startsWith('DB_') || n === 'SCHOOLS'))));
    const mqtt = attempt(() => loadBridgeConfig({ ...without(env, badExcept((n) => n.startsWith('MQTT_'))), ...DB_PLACEHOLDERS }).mqtt);
    // MQTT_TLS=false skips the certificate files, which have nothing to do with DATA_DIR.
    const dataDir = attempt(
      () => loadBridgeConfig({ ...without(env, badExcept((n) => n === 'DATA_DIR')), ...DB_PLACEHOLDERS, MQTT_TLS: 'false' }).dataDir,
    );
    return { problems: err.problems, db: dbOnly?.db, mqtt, dataDir, schools: dbOnly?.schools ?? [] };
  }
}
