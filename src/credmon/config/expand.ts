/**
 * HTCondor's macro expansion (introduction-to-configuration.rst, "Configuration File Macros" and
 * "Function Macros"): `$(NAME)`, `$(NAME:default)` (the default itself may hold macros), `$ENV(NAME)`,
 * `$ENV(NAME:default)`, `$(DOLLAR)` for a literal `$`; `$$(...)` is left as is (it is for job ads).
 * An undefined macro is the empty string. Expansion is lazy, as in HTCondor: a value is bound to the
 * text, and expanded when read, so a later definition of a macro it uses wins. Pure functions.
 */

/** Deepest chain of macros expanding macros before giving up. */
export const MAX_EXPANSION_DEPTH = 40;
/** Longest expanded value, so that `A = $(B)$(B)`, `B = $(C)$(C)`... cannot eat the memory. */
export const MAX_EXPANDED_LENGTH = 1024 * 1024;

const NAME_RE = /^[A-Za-z0-9_.]+$/;

/** A macro that cannot be expanded: a cycle, too deep, an unsupported function. */
export class ExpandError extends Error {
  override get name(): string {
    return 'ExpandError';
  }
}

export interface ExpandContext {
  /** The raw (unexpanded) value of a macro, or undefined when it is not defined. */
  lookup: (name: string) => string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

interface MacroRef {
  /** Index of the `$`. */
  start: number;
  /** Index after the closing `)`. */
  end: number;
  /** `''` for `$(...)`, else the function name (`ENV`). */
  fn: string;
  body: string;
}

/** The next `$FN(...)` at or after `from`, with its parentheses balanced, or undefined. */
function nextRef(text: string, from: number): MacroRef | 'literal-dollar' | undefined {
  const d = text.indexOf('$', from);
  if (d < 0) return undefined;
  let j = d + 1;
  while (j < text.length && /[A-Za-z_]/.test(text[j] as string)) j++;
  if (text[j] !== '(') return 'literal-dollar';
  let depth = 0;
  for (let k = j; k < text.length; k++) {
    if (text[k] === '(') depth++;
    else if (text[k] === ')') {
      depth--;
      if (depth === 0) return { start: d, end: k + 1, fn: text.slice(d + 1, j), body: text.slice(j + 1, k) };
    }
  }
  return 'literal-dollar';
}

function splitDefault(body: string): { name: string; dflt: string | undefined } {
  const colon = body.indexOf(':');
  return colon < 0
    ? { name: body.trim(), dflt: undefined }
    : { name: body.slice(0, colon).trim(), dflt: body.slice(colon + 1) };
}

/**
 * Walks `text`, handing each `$FN(...)` to `replace` (which returns its replacement, or undefined to
 * keep it as written) and copying everything else.
 */
function walk(text: string, replace: (ref: MacroRef) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    // `$$(...)`: job-ad substitution, copied as is with what it encloses.
    const dd = text.indexOf('$$', i);
    const ref = nextRef(text, i);
    if (ref === undefined) {
      out += text.slice(i);
      break;
    }
    const d = ref === 'literal-dollar' ? text.indexOf('$', i) : ref.start;
    if (dd === d) {
      const inner = nextRef(text, d + 1);
      const stop = inner && inner !== 'literal-dollar' && inner.start === d + 1 ? inner.end : d + 2;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (ref === 'literal-dollar') {
      out += text.slice(i, d + 1);
      i = d + 1;
      continue;
    }
    out += text.slice(i, ref.start);
    const replacement = replace(ref);
    out += replacement ?? text.slice(ref.start, ref.end);
    i = ref.end;
    if (out.length > MAX_EXPANDED_LENGTH)
      throw new ExpandError(`the expanded value is longer than ${MAX_EXPANDED_LENGTH} characters`);
  }
  return out;
}

/**
 * Expands every macro of `text` (see the module comment); `name` is the macro `text` is the value of,
 * so that a reference back to it is reported as a cycle. Throws ExpandError on a cycle, nesting too
 * deep, a value too long or an unsupported function.
 */
export function expandMacros(text: string, ctx: ExpandContext, name?: string): string {
  return expandIn(text, ctx, name === undefined ? [] : [name.toUpperCase()]);
}

function expandIn(text: string, ctx: ExpandContext, stack: string[]): string {
  if (stack.length > MAX_EXPANSION_DEPTH)
    throw new ExpandError(`macros nested more than ${MAX_EXPANSION_DEPTH} deep: ${stack.join(' -> ')}`);
  return walk(text, (ref) => {
    const { name, dflt } = splitDefault(ref.body);
    const upper = ref.fn.toUpperCase();
    if (upper === '') {
      if (!NAME_RE.test(name)) return undefined;
      const key = name.toUpperCase();
      if (key === 'DOLLAR') return '$';
      if (stack.includes(key))
        throw new ExpandError(`$(${name}) refers to itself: ${[...stack, key].join(' -> ')}`);
      const raw = ctx.lookup(name);
      if (raw === undefined) return dflt === undefined ? '' : expandIn(dflt, ctx, stack);
      return expandIn(raw, ctx, [...stack, key]);
    }
    if (upper === 'ENV') {
      const value = ctx.env[name];
      if (value !== undefined) return value;
      return dflt === undefined ? '' : expandIn(dflt, ctx, stack);
    }
    throw new ExpandError(
      `the function macro $${ref.fn}() is not supported here (tokenwarden expands $(NAME), $(NAME:default), $ENV(NAME) and $(DOLLAR))`,
    );
  });
}

/**
 * HTCondor's rule for `A = $(A) more`: a macro's references to itself are replaced at once by its
 * current raw value (`current`, undefined when not defined yet: then the reference's default, or
 * nothing). Other macros are left for later.
 */
export function expandSelf(text: string, name: string, current: string | undefined): string {
  const key = name.toUpperCase();
  return walk(text, (ref) => {
    if (ref.fn !== '') return undefined;
    const { name: refName, dflt } = splitDefault(ref.body);
    if (refName.toUpperCase() !== key) return undefined;
    return current ?? dflt ?? '';
  });
}

/** The names of the macros `text` refers to with `$(NAME)` (not following them further). */
export function referencedNames(text: string): string[] {
  const names: string[] = [];
  walk(text, (ref) => {
    if (ref.fn === '') {
      const { name } = splitDefault(ref.body);
      if (NAME_RE.test(name)) names.push(name.toUpperCase());
    }
    return undefined;
  });
  return names;
}
