import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { CONDOR_COMPAT_VERSION, METAKNOB_CATEGORIES, METAKNOBS } from './builtins.js';
import { CredmonConfigError, configProblem } from './errors.js';
import { ExpandError, expandMacros, expandSelf } from './expand.js';
import { type LogicalLine, splitLogicalLines } from './lex.js';
import { MacroTable } from './table.js';

/** A condor_config file over a MiB is a mistake (or /dev/zero), refused before it is read. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
/** All files read together. */
export const MAX_TOTAL_CONFIG_BYTES = 16 * 1024 * 1024;
/** How many files one configuration may read (a config.d of a thousand files is a mistake). */
export const MAX_CONFIG_FILES = 1000;
/** Includes (and `use` templates) nested deeper than this are refused, as HTCondor refuses endless nesting. */
export const MAX_INCLUDE_DEPTH = 20;
/** HTCondor's if/elif/else stack holds 63 levels. */
export const MAX_IF_DEPTH = 63;

export interface ReadCondorConfigOptions {
  /** The first file (`--condor-config`, `CONDOR_CONFIG` or the search), or undefined for none (`CONDOR_CONFIG=ONLY_ENV`). */
  source: string | undefined;
  /** `_CONDOR_<KNOB>` overrides and `$ENV()` come from here. */
  env: Readonly<Record<string, string | undefined>>;
  /** The daemon name, for `<SUBSYSTEM>.<KNOB>` lookups (default CREDMON_OAUTH). */
  subsystem?: string;
  /** Run-time values: FULL_HOSTNAME, HOSTNAME, TILDE, USERNAME... (see detectMacros). */
  detected: ReadonlyMap<string, string>;
  /** Relative include paths are taken from here, as HTCondor opens them (default process.cwd()). */
  cwd?: string;
}

export interface CondorConfig {
  table: MacroTable;
  /** Every file read, in order. */
  sources: string[];
  /** Things the administrator should know that do not stop the credmon (each with file:line). */
  warnings: string[];
  /** HTCondor's param(): a knob fully expanded and trimmed, undefined when unset or empty. */
  param(name: string): string | undefined;
}

interface IfFrame {
  /** The lines of the current branch are used. */
  active: boolean;
  /** Some branch of this if was taken already. */
  taken: boolean;
  /** The enclosing block is active. */
  outer: boolean;
  sawElse: boolean;
  where: string;
}

const PARAM_NAME_RE = /^[A-Za-z0-9_.]+$/;
const KEYWORD_RE = /^@?(include|use|error|warning)\b\s*([^:=]*?)\s*:\s*([\s\S]*)$/i;
const ASSIGN_RE = /^([^\s=:+]+)\s*(=|:|\+([,;|&*]{0,2})=)\s*([\s\S]*)$/;
const CONDITIONAL_RE = /^(if|elif|else|endif)(?:\s+([\s\S]*))?$/i;

/** HTCondor's booleans in configuration: true/false, yes/no, t/f, and numbers (non-zero is true). */
export function parseCondorBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === 'yes' || v === 't') return true;
  if (v === 'false' || v === 'no' || v === 'f') return false;
  if (/^[-+]?\d+(\.\d+)?$/.test(v)) return Number(v) !== 0;
  return undefined;
}

function compareVersion(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

class Reader {
  readonly table: MacroTable;
  readonly sources: string[] = [];
  readonly warnings: string[] = [];
  private totalBytes = 0;
  private readonly cwd: string;

  constructor(private readonly opts: ReadCondorConfigOptions) {
    this.table = new MacroTable({
      subsystem: opts.subsystem ?? 'CREDMON_OAUTH',
      detected: opts.detected,
      env: opts.env,
    });
    this.cwd = opts.cwd ?? process.cwd();
  }

  expand(text: string, where: string, what: string): string {
    try {
      return expandMacros(text, this.table.context());
    } catch (err) {
      if (err instanceof ExpandError) throw configProblem(where, `${what}: ${err.message}`);
      throw err;
    }
  }

  /** param() of a knob the reader itself needs, a bad macro in it reported where the knob was set. */
  paramAt(name: string, from: string): string | undefined {
    try {
      return this.table.param(name);
    } catch (err) {
      if (err instanceof ExpandError)
        throw configProblem(this.table.where(name) ?? from, `${name}: ${err.message}`);
      throw err;
    }
  }

  /** Reads one file (or, for `include : DIR`, each file of a directory) into the table. */
  async readSource(path: string, depth: number, required: boolean, from: string): Promise<void> {
    if (depth > MAX_INCLUDE_DEPTH)
      throw configProblem(
        from,
        `includes nested more than ${MAX_INCLUDE_DEPTH} deep (at ${path})`,
        'look for a file that includes itself',
      );
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!required && code === 'ENOENT') return;
      throw configProblem(
        from,
        code === 'ENOENT'
          ? `configuration file ${path} does not exist`
          : `cannot read configuration file ${path} (${code})`,
        code === 'ENOENT' ? 'create it, or use "include ifexist :" for an optional file' : undefined,
      );
    }
    if (st.isDirectory()) {
      for (const file of await this.listConfigDir(path, from))
        await this.readSource(file, depth, required, from);
      return;
    }
    await this.readFile(path, depth, from);
  }

  private async readFile(path: string, depth: number, from: string): Promise<void> {
    if (this.sources.length >= MAX_CONFIG_FILES)
      throw configProblem(from, `more than ${MAX_CONFIG_FILES} configuration files read (at ${path})`);
    let text: string;
    // O_NONBLOCK: a FIFO at the path cannot hang the open; it is refused as not a regular file.
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(
      (err: NodeJS.ErrnoException) => {
        throw configProblem(from, `cannot read configuration file ${path} (${err.code})`);
      },
    );
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw configProblem(from, `configuration file ${path} is not a regular file`);
      if (st.size > MAX_CONFIG_FILE_BYTES)
        throw configProblem(
          from,
          `configuration file ${path} is ${st.size} bytes, more than the ${MAX_CONFIG_FILE_BYTES} accepted`,
        );
      this.totalBytes += st.size;
      if (this.totalBytes > MAX_TOTAL_CONFIG_BYTES)
        throw configProblem(
          from,
          `the configuration files together are more than ${MAX_TOTAL_CONFIG_BYTES} bytes (at ${path})`,
        );
      const buf = Buffer.alloc(st.size + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > st.size) throw configProblem(from, `configuration file ${path} grew while it was read`);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    this.sources.push(path);
    await this.readText(text, path, depth);
  }

  /** The files of a configuration directory: not directories, not matching LOCAL_CONFIG_DIR_EXCLUDE_REGEXP, in lexical order. */
  async listConfigDir(dir: string, from: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return []; // HTCondor skips a directory it cannot list, silently.
    }
    const source = this.paramAt('LOCAL_CONFIG_DIR_EXCLUDE_REGEXP', from);
    let exclude: RegExp | undefined;
    if (source !== undefined) {
      try {
        exclude = new RegExp(source);
      } catch {
        throw configProblem(
          this.table.where('LOCAL_CONFIG_DIR_EXCLUDE_REGEXP') ?? from,
          'LOCAL_CONFIG_DIR_EXCLUDE_REGEXP is not a valid regular expression',
        );
      }
    }
    const files: string[] = [];
    for (const name of names) {
      if (exclude?.test(name)) continue;
      const full = join(dir, name);
      const st = await stat(full).catch(() => undefined);
      if (st?.isDirectory()) continue;
      files.push(full);
    }
    return files.sort();
  }

  /** Processes the statements of one file's text (also the text of a `use` template). */
  async readText(text: string, file: string, depth: number): Promise<void> {
    const lines = splitLogicalLines(text, file);
    const ifs: IfFrame[] = [];
    for (const raw of lines) {
      const where = `${file}:${raw.line}`;
      // A ':' before a line of an if body (or before "if") hid it from HTCondor before 8.1.5; it is dropped.
      const line =
        raw.text.startsWith(':') && !raw.heredoc && (ifs.length > 0 || /^:if(\s|$)/i.test(raw.text))
          ? { ...raw, text: raw.text.slice(1).trimStart() }
          : raw;
      const cond = CONDITIONAL_RE.exec(line.text);
      if (cond && !line.heredoc) {
        this.conditional(ifs, (cond[1] as string).toLowerCase(), cond[2] ?? '', where);
        continue;
      }
      if (ifs.length > 0 && !(ifs[ifs.length - 1] as IfFrame).active) continue;
      await this.statement(line, where, file, depth);
    }
    const open = ifs[ifs.length - 1];
    if (open) throw configProblem(open.where, '"if" without a matching "endif"', `add "endif" to ${file}`);
  }

  private conditional(ifs: IfFrame[], keyword: string, expr: string, where: string): void {
    const top = ifs[ifs.length - 1];
    const outer = top ? top.active : true;
    if (keyword === 'if') {
      if (ifs.length >= MAX_IF_DEPTH)
        throw configProblem(where, `"if" nested more than ${MAX_IF_DEPTH} deep`);
      const value = outer ? this.condition(expr, where) : false;
      ifs.push({ active: outer && value, taken: value, outer, sawElse: false, where });
      return;
    }
    if (!top) throw configProblem(where, `"${keyword}" without an "if"`);
    if (keyword === 'endif') {
      if (expr.trim() !== '') throw configProblem(where, '"endif" takes nothing after it');
      ifs.pop();
      return;
    }
    if (top.sawElse) throw configProblem(where, `"${keyword}" after "else" in the same "if"`);
    if (keyword === 'else') {
      if (expr.trim() !== '')
        throw configProblem(where, '"else" takes nothing after it (use "elif CONDITION")');
      top.sawElse = true;
      top.active = top.outer && !top.taken;
      top.taken = true;
      return;
    }
    // elif
    const value = top.outer && !top.taken ? this.condition(expr, where) : false;
    top.active = top.outer && !top.taken && value;
    top.taken = top.taken || value;
  }

  /** HTCondor's simple conditions: [!] defined NAME | version OP X.Y[.Z] | true/yes/1/false/no/0 | $(MACRO). */
  condition(exprIn: string, where: string): boolean {
    let expr = exprIn.trim();
    let expanded = false;
    if (expr.includes('$')) {
      expr = this.expand(expr, where, 'if').trim();
      expanded = true;
    }
    let negate = false;
    if (expr.startsWith('!')) {
      negate = true;
      expr = expr.slice(1).trim();
    }
    const result = ((): boolean => {
      if (expanded && expr === '') return false;
      const defined = /^defined(?:\s+([\s\S]*))?$/i.exec(expr);
      if (defined) {
        const what = (defined[1] ?? '').trim();
        if (what === '') return false;
        if (parseCondorBool(what) !== undefined) return true;
        const use = /^use\s+(\S+)$/i.exec(what);
        if (use) {
          const [cat, tmpl] = (use[1] as string).toUpperCase().split(':');
          if (tmpl === undefined || tmpl === '') return METAKNOB_CATEGORIES.has(cat as string);
          return METAKNOBS.has(`${cat}:${tmpl}`);
        }
        if (!PARAM_NAME_RE.test(what))
          throw configProblem(
            where,
            `"if defined ${what}": the argument must be a knob name, a boolean or a number`,
          );
        const raw = this.table.raw(what);
        return raw !== undefined && raw !== '';
      }
      const version = /^version\s*(!?)\s*(==|>=|<=|>|<|=)\s*[vV]?(\d+)\.(\d+)(?:\.(\d+))?\s*$/i.exec(expr);
      if (version) {
        const wanted = [
          Number(version[3]),
          Number(version[4]),
          version[5] === undefined ? undefined : Number(version[5]),
        ];
        const ours = [...CONDOR_COMPAT_VERSION];
        // x.y compares equal to every x.y.z, as HTCondor's "8.2.3 is equal to 8.2".
        const theirs = wanted.map((n, i) => n ?? ours[i] ?? 0);
        const cmp = compareVersion(ours, theirs);
        const op = version[2] as string;
        const r =
          op === '==' || op === '='
            ? cmp === 0
            : op === '>='
              ? cmp >= 0
              : op === '<='
                ? cmp <= 0
                : op === '>'
                  ? cmp > 0
                  : cmp < 0;
        return version[1] === '!' ? !r : r;
      }
      if (/^version\b/i.test(expr))
        throw configProblem(
          where,
          `"if ${exprIn.trim()}": the version literal is invalid (write e.g. "version >= 9.0")`,
        );
      const bool = parseCondorBool(expr);
      if (bool !== undefined) return bool;
      throw configProblem(
        where,
        `"if ${exprIn.trim()}": only simple conditions are supported: [!] defined NAME, version >= X.Y, true/false/yes/no/1/0, or $(NAME) holding one`,
      );
    })();
    return negate ? !result : result;
  }

  private async statement(line: LogicalLine, where: string, file: string, depth: number): Promise<void> {
    if (line.heredoc) {
      this.assign(line.heredoc.name, line.heredoc.value, where);
      return;
    }
    const text = line.text;
    const kw = KEYWORD_RE.exec(text);
    if (kw) {
      const keyword = (kw[1] as string).toLowerCase();
      const words = (kw[2] as string).trim();
      const rhs = kw[3] as string;
      if (keyword === 'include') return this.include(words, rhs, where, depth);
      if (keyword === 'use') return this.use(words, rhs, where, depth);
      const message = this.expand(rhs, where, keyword).trim();
      if (keyword === 'warning') {
        this.warnings.push(`${where}: warning: ${message}`);
        return;
      }
      throw configProblem(
        where,
        `error: ${message}`,
        `this "error :" statement in ${file} stops the credmon`,
      );
    }
    const m = ASSIGN_RE.exec(text);
    if (!m) {
      if (text.startsWith('[')) return; // an .ini-style [section] line: a comment to HTCondor
      // Only the first word is quoted: a stray line may be a secret pasted in the wrong place.
      const word = (text.split(/\s/)[0] ?? '').slice(0, 20);
      throw configProblem(
        where,
        `not a configuration statement (the line starts with ${JSON.stringify(word)})`,
        'write NAME = VALUE (or include, use, if/elif/else/endif, error, warning)',
      );
    }
    let name = m[1] as string;
    const op = m[2] as string;
    let value = m[4] as string;
    if (name.includes('$')) name = this.expand(name, where, 'knob name').trim();
    if (!PARAM_NAME_RE.test(name))
      throw configProblem(
        where,
        `illegal knob name ${JSON.stringify(name)}`,
        'knob names are letters, digits, "_" and "."',
      );
    if (op === ':') {
      this.warnings.push(`${where}: ${name}: obsolete use of ":" for an assignment, read as "="`);
    } else if (op.startsWith('+')) {
      const current = this.table.raw(name);
      if (current !== undefined && current !== '') {
        const sep = m[3] as string;
        const joint = sep === '' ? ' ' : sep.length === 2 ? ` ${sep} ` : sep;
        value = `${current}${joint}${value}`;
      }
    }
    this.assign(name, value, where);
  }

  assign(name: string, value: string, where: string): void {
    // A macro's references to itself are expanded at once (`A = $(A) more`); others when read.
    let v = expandSelf(value.trimEnd(), name, this.table.raw(name));
    // `CREDMON_OAUTH.X = $(X) more` refers to the plain X, which a lookup would otherwise resolve to itself.
    const dot = name.indexOf('.');
    if (dot > 0 && name.slice(0, dot).toUpperCase() === this.table.subsystem) {
      const bare = name.slice(dot + 1);
      v = expandSelf(v, bare, this.table.rawUnprefixed(bare));
    }
    this.table.set(name, v, where);
  }

  private async include(words: string, rhs: string, where: string, depth: number): Promise<void> {
    const opts = words === '' ? [] : words.split(/\s+/);
    let ifexist = false;
    let command = false;
    let into: string | undefined;
    for (let i = 0; i < opts.length; i++) {
      const w = (opts[i] as string).toLowerCase();
      if (w === 'ifexist') ifexist = true;
      else if (w === 'command') command = true;
      else if (w === 'into' && opts[i + 1] !== undefined) into = opts[++i];
      else
        throw configProblem(
          where,
          `unexpected word "${opts[i]}" after "include"`,
          'write include [ifexist] : FILE',
        );
    }
    const target = this.expand(rhs, where, 'include').trim();
    if (command || target.endsWith('|')) {
      // `include command into CACHE : CMD` reads CACHE when it exists, without running anything.
      if (into !== undefined) {
        const cache = this.absolute(this.expand(into, where, 'include into'));
        const exists = await stat(cache).then(
          () => true,
          () => false,
        );
        if (exists) return this.readSource(cache, depth + 1, true, where);
        if (ifexist) {
          this.warnings.push(
            `${where}: skipped "include command": its cache ${cache} does not exist and tokenwarden runs no commands`,
          );
          return;
        }
      }
      throw configProblem(
        where,
        'include of a command: tokenwarden does not run commands from its configuration',
        into === undefined
          ? 'run the command once, write its output to a file and "include :" that file'
          : `create ${into} (run the command once), or write "include ifexist command into ..."`,
      );
    }
    if (target === '') throw configProblem(where, '"include :" names no file');
    await this.readSource(this.absolute(target), depth + 1, !ifexist, where);
  }

  private absolute(path: string): string {
    const p = path.trim();
    return isAbsolute(p) ? p : resolve(this.cwd, p);
  }

  private async use(category: string, rhs: string, where: string, depth: number): Promise<void> {
    const cat = category.toUpperCase();
    const templates = this.expand(rhs, where, 'use').trim();
    if (templates.includes('(')) {
      this.warnings.push(
        `${where}: "use ${category} : ${templates}" not expanded (templates with arguments are not read by tokenwarden)`,
      );
      return;
    }
    for (const tmpl of templates.split(/\s+/).filter(Boolean)) {
      const key = `${cat}:${tmpl.toUpperCase()}`;
      const text = METAKNOBS.get(key);
      if (text === undefined) {
        this.warnings.push(
          `${where}: "use ${category} : ${tmpl}" not expanded: tokenwarden knows only FEATURE : OAUTH; no other template sets a knob the credmon reads`,
        );
        continue;
      }
      if (depth + 1 > MAX_INCLUDE_DEPTH)
        throw configProblem(where, `use nested more than ${MAX_INCLUDE_DEPTH} deep`);
      await this.readText(text, `${where} (use ${cat} : ${tmpl.toUpperCase()})`, depth + 1);
    }
  }

  /** LOCAL_CONFIG_DIR, then LOCAL_CONFIG_FILE, then LOCAL_CONFIG_DIR again if those changed it (condor_config.cpp). */
  async readLocals(): Promise<void> {
    const required =
      parseCondorBool(this.paramAt('REQUIRE_LOCAL_CONFIG_FILE', 'REQUIRE_LOCAL_CONFIG_FILE') ?? 'true') ??
      true;
    const dirs = this.paramAt('LOCAL_CONFIG_DIR', 'LOCAL_CONFIG_DIR');
    const readDirs = async (list: string) => {
      for (const dir of list.split(/[\s,]+/).filter(Boolean)) {
        const from = `${this.table.where('LOCAL_CONFIG_DIR') ?? 'LOCAL_CONFIG_DIR'}`;
        for (const file of await this.listConfigDir(this.absolute(dir), from))
          await this.readFile(file, 1, from);
      }
    };
    if (dirs !== undefined) await readDirs(dirs);
    const files = this.paramAt('LOCAL_CONFIG_FILE', 'LOCAL_CONFIG_FILE');
    if (files !== undefined) {
      const from = this.table.where('LOCAL_CONFIG_FILE') ?? 'LOCAL_CONFIG_FILE';
      if (files.trim().endsWith('|'))
        throw configProblem(
          from,
          'LOCAL_CONFIG_FILE names a command: tokenwarden does not run commands from its configuration',
          'write its output to a file and name that file',
        );
      for (const file of files.split(/[\s,]+/).filter(Boolean))
        await this.readSource(this.absolute(file), 1, required, from);
    }
    const again = this.paramAt('LOCAL_CONFIG_DIR', 'LOCAL_CONFIG_DIR');
    if (again !== undefined && again !== dirs) await readDirs(again);
  }

  /** `_CONDOR_<KNOB>` (prefix in any case) environment variables: the last definitions, over every file. */
  readEnvironment(): void {
    for (const [key, value] of Object.entries(this.opts.env)) {
      if (value === undefined || !/^_condor_/i.test(key)) continue;
      const name = key.slice('_condor_'.length).trim();
      if (!PARAM_NAME_RE.test(name)) continue;
      this.assign(name, value.trimStart(), `environment (${key})`);
    }
  }
}

/**
 * Reads HTCondor's configuration as condor_config.cpp does: the first file, then LOCAL_CONFIG_DIR (each
 * directory's files in lexical order, LOCAL_CONFIG_DIR_EXCLUDE_REGEXP skipped), LOCAL_CONFIG_FILE,
 * LOCAL_CONFIG_DIR again if it changed, then `_CONDOR_<KNOB>` environment variables. Throws a
 * CredmonConfigError naming file:line on a syntax error, a missing required file, an `error :`
 * statement, a command include, or a limit passed.
 */
export async function readCondorConfig(opts: ReadCondorConfigOptions): Promise<CondorConfig> {
  const reader = new Reader(opts);
  if (opts.source !== undefined) {
    const root = opts.source.replace(/\/[^/]*$/, '') || '/';
    reader.table.set('CONFIG_ROOT', root, 'detected');
    await reader.readSource(opts.source, 0, true, opts.source);
  }
  if (opts.source !== undefined) await reader.readLocals();
  reader.readEnvironment();
  const table = reader.table;
  return {
    table,
    sources: reader.sources,
    warnings: reader.warnings,
    param: (name) => {
      try {
        return table.param(name);
      } catch (err) {
        if (err instanceof ExpandError)
          throw new CredmonConfigError([{ knob: name, where: table.where(name), message: err.message }]);
        throw err;
      }
    },
  };
}
