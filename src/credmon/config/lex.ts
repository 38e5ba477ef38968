import { configProblem } from './errors.js';

/**
 * One statement of a condor_config file after HTCondor's line rules: comments dropped, `\` continuation
 * lines joined, `NAME @=TAG ... @TAG` multi-line values gathered. `line` is the first physical line.
 */
export interface LogicalLine {
  text: string;
  line: number;
  /** For `NAME @=TAG`: the lines up to `@TAG`, joined with newlines (taken verbatim: no comments, no joins). */
  heredoc?: { name: string; value: string };
}

/** `NAME @=TAG` (HTCondor 8.5.6 multi-line values). */
const HEREDOC_RE = /^([^\s=:@+]+)\s*@=\s*(\S+)\s*$/;

/**
 * Splits condor_config text into statements (docs/admin-manual/introduction-to-configuration.rst,
 * "Comments and Line Continuations" and "Multi-Line Values"):
 * - a line whose first non-blank character is `#` is a comment; a `#` later in a line is part of the
 *   value, as in HTCondor;
 * - a line ending in `\` continues on the next line; a comment line met inside a continuation is
 *   skipped whole (its own `\` ignored) and the continuation goes on with the line after it;
 * - leading blanks are dropped from every line, trailing blanks from every statement;
 * - `NAME @=TAG` takes the following lines verbatim until a line that is `@TAG` (blanks around allowed).
 * Pure: `file` is only used in error messages.
 */
export function splitLogicalLines(text: string, file: string): LogicalLine[] {
  const raw = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const out: LogicalLine[] = [];
  let i = 0;
  while (i < raw.length) {
    const start = i;
    let current = (raw[i] as string).trimStart();
    i++;
    if (current === '' || current.startsWith('#')) continue;
    // Join continuation lines.
    while (/\\\s*$/.test(current)) {
      current = current.replace(/\\\s*$/, '');
      // Comment lines inside a continuation are skipped, whatever they end with.
      while (i < raw.length && (raw[i] as string).trimStart().startsWith('#')) i++;
      if (i >= raw.length) break;
      current += (raw[i] as string).trimStart();
      i++;
    }
    const statement = current.trimEnd();
    const here = HEREDOC_RE.exec(statement);
    if (here) {
      const name = here[1] as string;
      const tag = here[2] as string;
      const lines: string[] = [];
      let closed = false;
      while (i < raw.length) {
        const l = raw[i] as string;
        i++;
        if (l.trim() === `@${tag}`) {
          closed = true;
          break;
        }
        lines.push(l);
      }
      if (!closed)
        throw configProblem(
          `${file}:${start + 1}`,
          `the multi-line value "${name} @=${tag}" is never closed by a line "@${tag}"`,
          `end the value with a line holding only @${tag}`,
        );
      out.push({ text: statement, line: start + 1, heredoc: { name, value: lines.join('\n') } });
      continue;
    }
    out.push({ text: statement, line: start + 1 });
  }
  return out;
}
