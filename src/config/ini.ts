import { configError } from './errors.js';

/**
 * An INI reader with the semantics of Python's `configparser.ConfigParser()` with its default settings
 * (BasicInterpolation, strict, `=` and `:` delimiters, `#` and `;` full-line comments, no inline comments,
 * empty lines allowed in values), so that osg-token-renewer's config.ini is read exactly as it was.
 * https://docs.python.org/3/library/configparser.html
 *
 * Parsing is eager (structure errors are thrown by `parseIni`); interpolation is lazy, as in
 * configparser: a value is interpolated when it is read with `getOption`, in the context of the section
 * it is read from, so a `[DEFAULT]` value referring to an option that only some sections set still works.
 */

/** The name of the section whose options every other section inherits. Case-sensitive, as in Python. */
export const DEFAULT_SECTION = 'DEFAULT';

/** configparser's `MAX_INTERPOLATION_DEPTH`. */
const MAX_INTERPOLATION_DEPTH = 10;

/** One `key = value` as written: name lowercased, raw value (continuation lines joined with `\n`). */
export interface IniEntry {
  readonly name: string;
  readonly raw: string;
  readonly line: number;
}

export interface IniSection {
  /** The text between the brackets, as written (section names are case-sensitive). */
  readonly name: string;
  /** Line of the header; 0 for a `[DEFAULT]` that the file does not have. */
  readonly line: number;
  /** The options written in this section itself, in file order (inherited ones are not here). */
  readonly entries: ReadonlyMap<string, IniEntry>;
}

export interface IniDocument {
  readonly file: string;
  /** `[DEFAULT]` (all of its blocks, if it appears more than once, as configparser allows). */
  readonly defaults: IniSection;
  /** Every other section, in file order. */
  readonly sections: readonly IniSection[];
}

/** An option as read from a section: interpolated, with the line it was defined on. */
export interface IniValue {
  readonly name: string;
  readonly value: string;
  readonly line: number;
  /** True when the section does not set it and it comes from `[DEFAULT]`. */
  readonly inherited: boolean;
}

interface EntryBuilder {
  name: string;
  parts: string[];
  line: number;
}

interface SectionBuilder {
  name: string;
  line: number;
  entries: Map<string, EntryBuilder>;
}

const SECTION_HEADER = /^\[(.+)\]/;
// configparser's OPTCRE: the key is everything before the first `=` or `:`.
const OPTION_LINE = /^(.*?)\s*[=:]\s*(.*)$/;
const VARIABLE_REFERENCE = /^%\(([^)]+)\)s/;

/** Parses INI text; `file` is only used in error messages. Pure. */
export function parseIni(text: string, file: string): IniDocument {
  const defaults: SectionBuilder = { name: DEFAULT_SECTION, line: 0, entries: new Map() };
  const sections = new Map<string, SectionBuilder>();
  let current: SectionBuilder | undefined;
  let option: EntryBuilder | undefined;
  // Indentation of the last section or option line: deeper lines continue the option's value.
  let indentLevel = 0;

  // Python reads text files with universal newlines. A UTF-8 byte order mark is dropped too.
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const lineNo = index + 1;
    const value = line.trim();
    const isComment = value.startsWith('#') || value.startsWith(';');
    if (value === '' || isComment) {
      // A blank line inside a value is kept (trailing ones are dropped when the value ends); a comment
      // line is skipped without ending the value.
      if (!isComment && option !== undefined) option.parts.push('');
      continue;
    }
    const indent = line.search(/\S/);
    if (option !== undefined && indent > indentLevel) {
      option.parts.push(value);
      continue;
    }
    indentLevel = indent;

    const header = SECTION_HEADER.exec(value);
    if (header !== null) {
      const name = header[1] as string;
      option = undefined;
      if (name === DEFAULT_SECTION) {
        if (defaults.line === 0) defaults.line = lineNo;
        current = defaults;
        continue;
      }
      const seen = sections.get(name);
      if (seen !== undefined) {
        throw configError(
          file,
          lineNo,
          undefined,
          `duplicate section [${name}] (first at line ${seen.line})`,
        );
      }
      current = { name, line: lineNo, entries: new Map() };
      sections.set(name, current);
      continue;
    }

    if (current === undefined) {
      throw configError(
        file,
        lineNo,
        undefined,
        'option before any section header',
        'start the file with a [DEFAULT], [account NAME] or [token NAME] header',
      );
    }
    const match = OPTION_LINE.exec(value);
    if (match === null || match[1] === '') {
      // The line itself is not echoed: it may be a piece of a secret that lost its indentation.
      throw configError(
        file,
        lineNo,
        current.name,
        'not a section header, a `key = value` or `key: value` line, or a comment',
        'indent a line more than its key to continue a value on it',
      );
    }
    const name = (match[1] as string).trimEnd().toLowerCase();
    const first = current.entries.get(name);
    if (first !== undefined) {
      throw configError(
        file,
        lineNo,
        current.name,
        `option ${name} is set twice (first at line ${first.line})`,
      );
    }
    option = { name, parts: [(match[2] as string).trim()], line: lineNo };
    current.entries.set(name, option);
  }

  return Object.freeze({
    file,
    defaults: freezeSection(defaults),
    sections: Object.freeze([...sections.values()].map(freezeSection)),
  });
}

function freezeSection(section: SectionBuilder): IniSection {
  const entries = new Map<string, IniEntry>();
  for (const e of section.entries.values()) {
    entries.set(e.name, Object.freeze({ name: e.name, raw: e.parts.join('\n').trimEnd(), line: e.line }));
  }
  return Object.freeze({ name: section.name, line: section.line, entries });
}

export interface GetOptionOptions {
  /** The value is a secret: interpolation errors then say nothing about what the value contains. */
  secret?: boolean;
}

/**
 * Reads `option` (any case) as seen from `section`: its own entry, else `[DEFAULT]`'s, interpolated
 * like configparser's BasicInterpolation: `%%` is `%`, `%(name)s` is the value of option `name` of the
 * same section or `[DEFAULT]` (itself interpolated, at most 10 levels deep), any other `%` is an error.
 * Undefined when neither sets it.
 */
export function getOption(
  doc: IniDocument,
  section: IniSection,
  option: string,
  opts: GetOptionOptions = {},
): IniValue | undefined {
  const name = option.toLowerCase();
  const own = section.entries.get(name);
  const entry = own ?? doc.defaults.entries.get(name);
  if (entry === undefined) return undefined;
  // Most values hold no `%`: nothing to interpolate (config.ini of 1,000 tokens reads 12,000 options).
  const value = entry.raw.includes('%') ? interpolate(doc, section, entry, opts.secret === true) : entry.raw;
  return Object.freeze({ name, value, line: entry.line, inherited: own === undefined });
}

function interpolate(doc: IniDocument, section: IniSection, top: IniEntry, secret: boolean): string {
  const lookup = (name: string) => section.entries.get(name) ?? doc.defaults.entries.get(name);
  const out: string[] = [];
  const fail = (entry: IniEntry, detail: string) => {
    const through = entry === top ? '' : `, through option ${entry.name}`;
    return configError(doc.file, entry.line, section.name, `option ${top.name}${through}: ${detail}`);
  };

  const expand = (entry: IniEntry, text: string, depth: number): void => {
    if (depth > MAX_INTERPOLATION_DEPTH) {
      throw fail(
        entry,
        `interpolation nested more than ${MAX_INTERPOLATION_DEPTH} levels deep (a loop of %(name)s?)`,
      );
    }
    let rest = text;
    while (rest !== '') {
      const at = rest.indexOf('%');
      if (at < 0) {
        out.push(rest);
        return;
      }
      out.push(rest.slice(0, at));
      rest = rest.slice(at);
      const next = rest.charAt(1);
      if (next === '%') {
        out.push('%');
        rest = rest.slice(2);
      } else if (next === '(') {
        const ref = VARIABLE_REFERENCE.exec(rest);
        if (ref === null) {
          throw fail(entry, 'bad interpolation: a reference is written %(name)s; write %% for a literal %');
        }
        const name = (ref[1] as string).toLowerCase();
        rest = rest.slice(ref[0].length);
        const target = lookup(name);
        if (target === undefined) {
          const which = secret ? 'an option' : `option ${JSON.stringify(name)}`;
          throw fail(
            entry,
            `bad interpolation: refers to ${which} that neither [${section.name}] nor [DEFAULT] sets`,
          );
        }
        if (target.raw.includes('%')) expand(target, target.raw, depth + 1);
        else out.push(target.raw);
      } else {
        throw fail(entry, "bad interpolation: '%' must be followed by '%' or '('; write %% for a literal %");
      }
    }
  };

  expand(top, top.raw, 1);
  return out.join('');
}
