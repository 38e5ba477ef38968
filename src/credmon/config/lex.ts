import { configProblem } from './errors.js';

/**
 * One statement of a condor_config file after HTCondor's line rules: comments dropped, `\` continuation
 * lines joined, `NAME @=TAG ... @TAG` multi-line values gathered. `line` is the first physical line.
 */
export interface LogicalLine {
  text: string;
  line: number;
  /** For `NAME @=TAG`: the statements up to `@TAG`, joined with newlines. */
  heredoc?: { name: string; value: string };
}

/** `NAME @=TAG` (HTCondor 8.5.6 multi-line values). */
const HEREDOC_RE = /^([^\s=:@+]+)\s*@=\s*(\S+)\s*$/;

/**
 * Splits condor_config text into statements as HTCondor's getline does
 * (docs/admin-manual/introduction-to-configuration.rst, "Comments and Line Continuations" and
 * "Multi-Line Values"; config.cpp getline_implementation and Parse_macros):
 * - blanks are trimmed from both ends of every line;
 * - a line whose first non-blank character is `#` is a comment; a `#` later in a line is part of the
 *   value;
 * - a line ending in `\` continues on the next line; a comment line met inside a continuation is
 *   skipped whole (its own `\` ignored) and the continuation goes on with the line after it;
 * - `NAME @=TAG` takes the following statements (trimmed, comments dropped, continuations joined, as
 *   HTCondor reads them) joined with newlines, until a statement that is exactly `@TAG`.
 * Pure: `file` is only used in error messages.
 */
export function splitLogicalLines(text: string, file: string): LogicalLine[] {
  const raw = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const statements: LogicalLine[] = [];
  let i = 0;
  while (i < raw.length) {
    const start = i;
    let current = (raw[i] as string).trim();
    i++;
    if (current === '' || current.startsWith('#')) continue;
    while (current.endsWith('\\')) {
      current = current.slice(0, -1);
      // Comment lines inside a continuation are skipped, whatever they end with.
      while (i < raw.length && (raw[i] as string).trimStart().startsWith('#')) i++;
      if (i >= raw.length) break;
      current += (raw[i] as string).trim();
      i++;
    }
    statements.push({ text: current.trimEnd(), line: start + 1 });
  }
  const out: LogicalLine[] = [];
  for (let k = 0; k < statements.length; k++) {
    const st = statements[k] as LogicalLine;
    const here = HEREDOC_RE.exec(st.text);
    if (!here) {
      out.push(st);
      continue;
    }
    const name = here[1] as string;
    const tag = here[2] as string;
    const lines: string[] = [];
    let closed = false;
    while (++k < statements.length) {
      const body = (statements[k] as LogicalLine).text;
      if (body === `@${tag}`) {
        closed = true;
        break;
      }
      lines.push(body);
    }
    if (!closed)
      throw configProblem(
        `${file}:${st.line}`,
        `the multi-line value "${name} @=${tag}" is never closed by a line "@${tag}"`,
        `end the value with a line holding only @${tag}`,
      );
    out.push({ text: st.text, line: st.line, heredoc: { name, value: lines.join('\n') } });
  }
  return out;
}
