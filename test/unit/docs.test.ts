/**
 * The README and docs/ as a reader follows them: every relative link lands on a file and a
 * heading that exist, the French pages follow their English sources, the configuration
 * reference names every setting, and the README stays a newcomer's page.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchors, codeBlocks, firstColumnCodes, headings, links } from '../helpers/markdown.js';
import { REPO_ROOT } from '../helpers/pki.js';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

function markdownUnder(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const file = path.posix.join(dir, e.name);
    if (e.isDirectory()) return markdownUnder(file);
    return e.name.endsWith('.md') ? [file] : [];
  });
}

const PAGES = ['README.md', ...markdownUnder('docs')];

/**
 * Pages written on other branches (backup and recovery; the school dimension's docs/schools.md).
 * Links to them are checked once they exist; until then only their absence is tolerated.
 */
const WRITTEN_ELSEWHERE = new Set(['docs/recovery.md', 'docs/fr/recuperation.md', 'docs/schools.md']);

/** Each French page and its English source. */
const TRANSLATIONS: [en: string, fr: string][] = [
  ['README.md', 'docs/fr/README.md'],
  ['docs/deployment.md', 'docs/fr/deploiement.md'],
  ['docs/migration.md', 'docs/fr/migration.md'],
  ['docs/configuration.md', 'docs/fr/configuration.md'],
  ['docs/messages.md', 'docs/fr/messages.md'],
  ['docs/operations.md', 'docs/fr/exploitation.md'],
  ['docs/security.md', 'docs/fr/securite.md'],
  ['docs/recovery.md', 'docs/fr/recuperation.md'],
  ['docs/scaling-out.md', 'docs/fr/montee-en-charge.md'],
];

describe('links', () => {
  it('finds the pages and their links', () => {
    expect(PAGES).toContain('docs/deployment.md');
    expect(PAGES).toContain('docs/fr/README.md');
    expect(links(read('README.md')).length).toBeGreaterThan(10);
  });

  it.each(PAGES)('every relative link of %s points to an existing file and heading', (page) => {
    const broken: string[] = [];
    for (const { target, line } of links(read(page))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [file = '', anchor] = target.split('#', 2);
      const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), decodeURI(file)));
      const where = `${page}:${line} → ${target}`;
      if (!existsSync(path.join(REPO_ROOT, resolved))) {
        if (!WRITTEN_ELSEWHERE.has(resolved)) broken.push(`${where}: no file ${resolved}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!resolved.endsWith('.md') || statSync(path.join(REPO_ROOT, resolved)).isDirectory()) {
        broken.push(`${where}: an anchor into something that is not a Markdown page`);
      } else if (!anchors(read(resolved)).has(decodeURIComponent(anchor))) {
        broken.push(`${where}: no heading #${anchor} in ${resolved} (${[...anchors(read(resolved))].join(', ')})`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('French pages', () => {
  // Code blocks without their comments, which are translated, and without ```text diagrams.
  const code = (md: string) =>
    codeBlocks(md)
      .filter((b) => b.lang !== 'text')
      .map((b) =>
        b.lines
          .map((l) => l.replace(/(^|\s)(#|\/\/).*$/, '').trim())
          .filter(Boolean)
          .join('\n'),
      );
  const levels = (md: string) => headings(md).map((h) => h.level);

  it('every page of docs/fr is the translation of an English page', () => {
    const declared = new Set(TRANSLATIONS.map(([, fr]) => fr));
    expect(markdownUnder('docs/fr').filter((f) => !declared.has(f))).toEqual([]);
  });

  it.each(TRANSLATIONS.filter(([en, fr]) => existsSync(path.join(REPO_ROOT, en)) || existsSync(path.join(REPO_ROOT, fr))))(
    '%s and %s: same sections, same commands, each linking to the other',
    (en, fr) => {
      const [enText, frText] = [read(en), read(fr)];
      expect(levels(frText)).toEqual(levels(enText));
      expect(code(frText)).toEqual(code(enText));
      const linksTo = (from: string, text: string, to: string) =>
        links(text).some((l) => path.posix.normalize(path.posix.join(path.posix.dirname(from), l.target.split('#')[0]!)) === to);
      expect(linksTo(fr, frText, en), `${fr} links to ${en}`).toBe(true);
      expect(linksTo(en, enText, fr), `${en} links to ${fr}`).toBe(true);
    },
  );

  it('the configuration reference lists the same variables in both languages', () => {
    expect([...firstColumnCodes(read('docs/fr/configuration.md'))].sort()).toEqual([...firstColumnCodes(read('docs/configuration.md'))].sort());
  });
});

describe('configuration reference', () => {
  const documented = firstColumnCodes(read('docs/configuration.md'));

  it('names every setting of src/config.ts', () => {
    const keys = [...read('src/config.ts').matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('names the administrator settings the commands read', () => {
    const read_ = [...read('src/cli.ts').matchAll(/process\.env\.(DB_[A-Z_]+)/g)].map((m) => m[1]!);
    expect(read_).toContain('DB_ADMIN_USER');
    expect(read_.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('names every variable of .env.example', () => {
    const listed = [...read('.env.example').matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(20);
    expect(listed.filter((k) => !documented.has(k))).toEqual([]);
  });
});

describe('README', () => {
  const readme = read('README.md');

  it('stays a newcomer page: under 12 KB', () => {
    expect(Buffer.byteLength(readme)).toBeLessThan(12 * 1024);
  });

  it('gives the run command in both Compose spellings, and the test command', () => {
    const sh = codeBlocks(readme).filter((b) => b.lang === 'sh').map((b) => b.lines.join('\n'));
    expect(sh).toContain('test -f .env || cp .env.example .env\ndocker compose up -d');
    expect(readme).toContain('`docker-compose up -d`');
    expect(sh).toContain('npm ci && npm test');
    expect(read('.ci/run')).toMatch(/npm ci[^\n]*\n(?:.*\n)*?npm test/);
  });
});
