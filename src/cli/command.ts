import type { ParseArgsConfig } from 'node:util';

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

/** One command per file (CONVENTIONS 9): its name, one-line summary, usage, options and run. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Longer help text shown after the options. */
  details?: string;
  options: Record<string, OptionSpec>;
  allowPositionals?: boolean;
  run(args: ParsedArgs, io: CliIO): Promise<CommandResult>;
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
