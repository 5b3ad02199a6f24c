/**
 * Just enough Markdown for the documentation tests: headings and their GitHub anchors, relative
 * links, code blocks. Fenced code is never read as headings or links.
 */

export interface Heading {
  level: number;
  text: string;
}

export interface CodeBlock {
  lang: string;
  lines: string[];
}

const FENCE = /^\s*```\s*([\w-]*)\s*$/;

/** The lines outside fenced code blocks, with each line's number (1-based). */
function proseLines(md: string): { line: string; number: number }[] {
  const out: { line: string; number: number }[] = [];
  let inCode = false;
  md.split('\n').forEach((line, i) => {
    if (FENCE.test(line)) inCode = !inCode;
    else if (!inCode) out.push({ line, number: i + 1 });
  });
  return out;
}

export function headings(md: string): Heading[] {
  return proseLines(md).flatMap(({ line }) => {
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    return m ? [{ level: m[1]!.length, text: m[2]! }] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped (accents kept), spaces to '-'. */
export function slug(text: string): string {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_ -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor of a page, with GitHub's -1, -2 … suffixes for repeated headings. */
export function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(md)) {
    const base = slug(h.text);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

export interface Link {
  target: string;
  line: number;
}

/** Links `[text](target)` of the prose (not inside code spans or blocks). */
export function links(md: string): Link[] {
  return proseLines(md).flatMap(({ line, number }) => {
    const prose = line.replace(/`[^`]*`/g, '``');
    return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({ target: m[1]!, line: number }));
  });
}

export function codeBlocks(md: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let block: CodeBlock | undefined;
  for (const line of md.split('\n')) {
    const fence = FENCE.exec(line);
    if (fence && !block) block = { lang: fence[1] ?? '', lines: [] };
    else if (fence && block) {
      blocks.push(block);
      block = undefined;
    } else if (block) block.lines.push(line);
  }
  return blocks;
}

/** The first column of every table row, e.g. the variable names of a reference table. */
export function firstColumnCodes(md: string): Set<string> {
  const out = new Set<string>();
  for (const { line } of proseLines(md)) {
    const cell = /^\|([^|]*)\|/.exec(line)?.[1];
    if (cell) for (const m of cell.matchAll(/`([^`]+)`/g)) out.add(m[1]!);
  }
  return out;
}
