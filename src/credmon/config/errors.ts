import { TokenwardenError } from '../../errors.js';

/**
 * One thing wrong with the credmon's configuration: which knob (or statement), where it was set
 * (`file:line`, or `environment` for a `_CONDOR_` variable, or undefined for a default), what is wrong
 * and what to do. Never holds a secret value.
 */
export interface ConfigProblem {
  /** The knob, as HTCondor names it (`LOCAL_CREDMON_TOKEN_LIFETIME`), or undefined for a file's syntax. */
  knob: string | undefined;
  /** `FILE:LINE`, `environment (_CONDOR_X)`, or undefined when the value is a default. */
  where: string | undefined;
  message: string;
  hint?: string | undefined;
}

/**
 * HTCondor's DAEMON_NO_RESTART (src/condor_includes/exit.h): a daemon exiting with it is not restarted
 * by condor_master. The Python credmon exits with it on a bad provider name; tokenwarden's credmon exits
 * with it on every configuration error found at start, since restarting cannot fix any of them.
 */
export const DAEMON_NO_RESTART_EXIT = 99;

/** `FILE:LINE: KNOB: MESSAGE`, leaving out the parts that are not known. */
export function formatProblem(p: ConfigProblem): string {
  const place = [p.where, p.knob].filter((x): x is string => x !== undefined && x !== '').join(': ');
  return place ? `${place}: ${p.message}` : p.message;
}

/**
 * The credmon's configuration cannot be used: code CONFIG_INVALID, with every problem found (the checks
 * collect them all before failing). `exitCode` is DAEMON_NO_RESTART (99): the CLI exits with it, so
 * condor_master does not restart a credmon that would fail the same way.
 */
export class CredmonConfigError extends TokenwardenError {
  readonly problems: readonly ConfigProblem[];
  readonly exitCode = DAEMON_NO_RESTART_EXIT;

  constructor(problems: readonly ConfigProblem[], options: { cause?: unknown } = {}) {
    const first = problems[0];
    const text =
      problems.length === 1 && first
        ? formatProblem(first)
        : `${problems.length} problems in the HTCondor configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`;
    const hints = problems.map((p) => p.hint).filter((h): h is string => !!h);
    super('CONFIG_INVALID', text, {
      cause: options.cause,
      hint: hints.length === 1 ? hints[0] : hints.length > 1 ? [...new Set(hints)].join('; ') : undefined,
    });
    this.problems = problems;
  }

  override get name(): string {
    return 'CredmonConfigError';
  }
}

/** One problem, thrown at once (syntax errors stop reading, as in HTCondor). */
export function configProblem(
  where: string | undefined,
  message: string,
  hint?: string,
  knob?: string,
): CredmonConfigError {
  return new CredmonConfigError([{ knob, where, message, hint }]);
}
