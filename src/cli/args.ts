import { parseArgs } from 'node:util';
import { TokenwardenError } from '../errors.js';
import type { OptionSpec, ParsedArgs } from './command.js';

/** Edit distance (Levenshtein) between two short words: insertions, deletions, substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/**
 * The known word closest to `word`, when it is close enough to be a typo: within a third of its length
 * (at least 1, at most 3 edits), or a word it is the start of. Ties go to the first in `known`.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => word.length >= 2 && k.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMean(word: string, known: readonly string[], prefix = ''): string {
  const match = closest(word, known);
  return match === undefined ? '' : `; did you mean ${prefix}${match}?`;
}

/** A value that is a number below zero, as `--lifetime -5`: a value, not an option. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Parses a command's arguments with our own one-line messages: an unknown option names the closest
 * known one, an option missing its value says so, and a negative number is taken as a value (parseArgs
 * calls `--lifetime -5` ambiguous), so that the command's range check can name the accepted range.
 */
export function parseCommandArgs(
  command: string,
  args: readonly string[],
  options: Record<string, OptionSpec>,
  allowPositionals: boolean,
): ParsedArgs {
  const usage = { hint: `run \`tokenwarden ${command} --help\`` };
  const names = Object.keys(options);
  const byShort = new Map(
    Object.entries(options).flatMap(([name, spec]) => (spec.short ? [[spec.short, name] as const] : [])),
  );
  const takesValue = (name: string) => options[name]?.type === 'string';
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      joined.push(...args.slice(i));
      break;
    }
    let name: string | undefined;
    let shown = arg;
    if (arg.startsWith('--')) {
      const bare = arg.slice(2).split('=', 1)[0] as string;
      if (!(bare in options)) {
        throw new TokenwardenError(
          'USAGE',
          `${command}: unknown option --${bare}${didYouMean(bare, names, '--')}`,
          usage,
        );
      }
      if (arg.includes('=')) {
        joined.push(arg);
        continue;
      }
      name = bare;
    } else if (arg.startsWith('-') && arg.length > 1 && !NEGATIVE_NUMBER.test(arg)) {
      // A short option, or a cluster of boolean ones (-vw); a string one may carry its value (-cFILE).
      for (let k = 1; k < arg.length; k++) {
        const letter = arg[k] as string;
        const long = byShort.get(letter);
        if (long === undefined) {
          throw new TokenwardenError('USAGE', `${command}: unknown option -${letter}`, usage);
        }
        if (takesValue(long)) {
          if (k < arg.length - 1) break;
          name = long;
          shown = `-${letter}`;
        }
      }
      if (name === undefined) {
        joined.push(arg);
        continue;
      }
    } else {
      if (!allowPositionals) {
        throw new TokenwardenError(
          'USAGE',
          `${command} takes no arguments, only options (got ${JSON.stringify(arg)})`,
          usage,
        );
      }
      joined.push(arg);
      continue;
    }
    if (!takesValue(name)) {
      joined.push(arg);
      continue;
    }
    const value = args[i + 1];
    const spec = options[name] as OptionSpec;
    if (value === undefined || (value.startsWith('-') && value !== '-' && !NEGATIVE_NUMBER.test(value))) {
      throw new TokenwardenError(
        'USAGE',
        `${command}: ${shown === arg ? `--${name}` : `${shown} (--${name})`} needs a value (${spec.valueName ?? 'VALUE'})${value === undefined ? '' : `, not the option ${value}`}`,
        usage,
      );
    }
    joined.push(`--${name}=${value}`);
    i++;
  }
  try {
    return parseArgs({
      args: joined,
      options: options as NonNullable<Parameters<typeof parseArgs>[0]>['options'],
      allowPositionals,
      strict: true,
    }) as ParsedArgs;
  } catch (err) {
    throw new TokenwardenError('USAGE', `${command}: ${(err as Error).message.split('\n')[0]}`, usage);
  }
}
