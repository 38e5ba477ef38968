import type { ParseArgsConfig } from 'node:util';
import { TokenwardenError } from '../errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  description: string;
  valueName?: string;
};

export interface CliIO {
  env: Record<string, string | undefined>;
  /** Normal output (data). */
  out(text: string): void;
  /** Diagnostics and progress. */
  err(text: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdinIsTTY: boolean;
  uid: number;
  home: string;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** What a command hands back: an exit status, and data rendered as text or, with `--json`, as JSON. */
export interface CommandResult {
  exitCode?: number;
  text?: string;
  json?: unknown;
}

/** The help of one subcommand (`tokenwarden issuer mint --help`): its own usage, options and text. */
export interface SubcommandHelp {
  /** After `tokenwarden `, as Command.usage. */
  usage: string;
  summary: string;
  /** The command's options this subcommand takes (its `--help` lists only these). */
  options: readonly string[];
  details?: string;
}

/** One command per file (docs/architecture.md convention 8): name, summary, usage, options and run. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Longer help text shown after the options. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** A command of subcommands: `<command> <sub> --help` shows the subcommand's help alone. */
  subcommands?: Record<string, SubcommandHelp>;
  allowPositionals?: boolean;
  run(args: ParsedArgs, io: CliIO): Promise<CommandResult>;
}

/** Prints warnings the core handed back as data (one file each), on stderr, before the command's result. */
export function printWarnings(
  io: CliIO,
  warnings: readonly { message: string; hint?: string | undefined }[],
): void {
  for (const w of warnings) {
    io.err(`tokenwarden: warning: ${w.message}\n`);
    if (w.hint) io.err(`  ${w.hint}\n`);
  }
}

export function stringOpt(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolOpt(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function listOpt(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

/** The longest an account stays loaded in the agent: ten years; longer is a typo, not a wish. */
export const LIFETIME_MAX = 10 * 365 * 86400;

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer deadline would fire at once. */
export const MAX_TIMER_SECONDS = 2_000_000;

/**
 * A number of seconds from an option: `fallback` when absent; refused (naming the option) when not a
 * number, below `min` (default: more than 0), or above `max` (default: what a timer can hold).
 */
export function secondsOpt(
  args: ParsedArgs,
  name: string,
  fallback: number,
  bounds: { allowZero?: boolean; max?: number } = {},
): number {
  const raw = stringOpt(args, name);
  if (raw === undefined) return fallback;
  const n = raw.trim() === '' ? Number.NaN : Number(raw);
  const max = bounds.max ?? MAX_TIMER_SECONDS;
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !bounds.allowZero) || n > max) {
    const least = bounds.allowZero ? '0' : 'more than 0';
    throw new TokenwardenError(
      'USAGE',
      `--${name} ${JSON.stringify(raw)}: give a number of seconds, ${least} and at most ${max}`,
    );
  }
  return n;
}

/** A whole number from an option, within [min, max]; `fallback` when absent. */
export function countOpt(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const raw = stringOpt(args, name);
  if (raw === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TokenwardenError(
      'USAGE',
      `--${name} ${JSON.stringify(raw)}: give a whole number from ${min} to ${max}`,
    );
  }
  return n;
}
