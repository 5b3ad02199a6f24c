/**
 * The school dimension (docs/schools.md), pure: which schools a bridge serves (SCHOOLS), the
 * database each one writes to (DB_NAME with `{ecole}`), where its journal lives, and the topic
 * prefix a school's broker adds when it bridges to the central one (`ecole/<id>/`).
 */
import { join } from 'node:path';

export const SCHOOL_PLACEHOLDER = '{ecole}';
export const SCHOOL_ID = /^[a-z0-9-]{1,32}$/;
const TOPIC_ROOT = 'ecole/';
/** MySQL and MariaDB refuse longer database names. */
const MAX_DATABASE_NAME = 64;

/**
 * SCHOOLS (comma-separated) and DB_NAME together: the valid ids in order, and every problem,
 * each starting with the variable it is about. Without SCHOOLS: no school, one database.
 */
export function readSchools(schools: string | undefined, databaseTemplate: string): { ids: string[]; problems: string[] } {
  const listed = (schools ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const id of listed) {
    if (!SCHOOL_ID.test(id)) problems.push(`SCHOOLS: "${id}" is not a school id (1 to 32 lower-case letters, digits or -, e.g. ecole-1)`);
    else if (ids.has(id)) problems.push(`SCHOOLS lists ${id} twice`);
    else ids.add(id);
  }
  const hasPlaceholder = databaseTemplate.includes(SCHOOL_PLACEHOLDER);
  if (listed.length === 0 && hasPlaceholder) {
    problems.push(`DB_NAME contains ${SCHOOL_PLACEHOLDER} but SCHOOLS is not set (set SCHOOLS, or name the one database)`);
  } else if (listed.length > 0 && !hasPlaceholder) {
    problems.push(`DB_NAME must contain ${SCHOOL_PLACEHOLDER} when SCHOOLS is set (e.g. parc_${SCHOOL_PLACEHOLDER}): each school has its own database`);
  } else {
    const long = [...ids].filter((id) => schoolDatabase(databaseTemplate, id).length > MAX_DATABASE_NAME);
    if (long.length > 0) problems.push(`DB_NAME gives database names longer than ${MAX_DATABASE_NAME} characters for ${long.join(', ')}`);
  }
  return { ids: [...ids], problems };
}

export function schoolDatabase(template: string, school: string): string {
  return template.replaceAll(SCHOOL_PLACEHOLDER, school);
}

/** The school whose database `name` is under the DB_NAME template (schoolDatabase's inverse), or undefined. */
export function schoolOfDatabase(template: string, name: string): string | undefined {
  const [before = '', after = ''] = template.split(SCHOOL_PLACEHOLDER);
  if (name.length <= before.length + after.length || !name.startsWith(before) || !name.endsWith(after)) return undefined;
  const id = name.slice(before.length, name.length - after.length);
  return SCHOOL_ID.test(id) && schoolDatabase(template, id) === name ? id : undefined;
}

/** A school's journal folder; `ecole-` keeps it apart from DATA_DIR's own journal and slots. */
export function schoolDataDir(dataDir: string, school: string): string {
  return join(dataDir, `ecole-${school}`);
}

/** The school of a folder name under DATA_DIR made by schoolDataDir, or undefined. */
export function schoolOfDir(name: string): string | undefined {
  const id = name.startsWith('ecole-') ? name.slice('ecole-'.length) : undefined;
  return id !== undefined && SCHOOL_ID.test(id) ? id : undefined;
}

/** The prefix a school's broker puts before every topic it bridges to the central broker. */
export function schoolTopicPrefix(school: string): string {
  return `${TOPIC_ROOT}${school}/`;
}

/**
 * `ecole/<id>/<rest>` split into the school and the topic its devices published; undefined for
 * a topic without a school prefix.
 */
export function splitSchoolTopic(topic: string): { school: string; topic: string } | undefined {
  if (!topic.startsWith(TOPIC_ROOT)) return undefined;
  const end = topic.indexOf('/', TOPIC_ROOT.length);
  if (end <= TOPIC_ROOT.length) return undefined;
  return { school: topic.slice(TOPIC_ROOT.length, end), topic: topic.slice(end + 1) };
}
