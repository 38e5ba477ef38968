/**
 * A command that fixes a problem, as data: the part that meets the problem says what is to be run, for
 * which account and config, and carries it on its error (`TokenwardenError.remedy`); one function
 * (formatRemedy) words it as a command line, so no module spells a command line itself, and a server
 * can hand the remedy to its client as it is. Here in the core, beside errors.ts, which imports it.
 */
export type RemedyCommand = 'setup' | 'add' | 'import-oidc-agent' | 'migrate osg-token-renewer';

export interface Remedy {
  command: RemedyCommand;
  account?: string | undefined;
  /** Options given before `--config`, e.g. `['--force']`. */
  flags?: readonly string[] | undefined;
  config?: string | undefined;
  /** The issuer to set the account up with (`--issuer URL`), given after `--config`. */
  issuer?: string | undefined;
  /** Options given last, after `--config` and `--issuer`: `['--scope', '"a b"', '--force']`. */
  finalFlags?: readonly string[] | undefined;
  /** Only root can run it (`migrate osg-token-renewer`): worded `…, as root: COMMAND`. */
  asRoot?: boolean | undefined;
  /** What the user can run instead, said after the command in parentheses. */
  alternative?: Remedy | undefined;
  /** A command to run once this one has worked (`, then: COMMAND`): the agent's `add` after `setup`. */
  next?: Remedy | undefined;
}

/**
 * The command line of a remedy: `tokenwarden setup vo --force --config /etc/x.ini`, followed by
 * `, then: COMMAND` for its `next`.
 */
export function formatRemedy(remedy: Remedy): string {
  const line = [
    'tokenwarden',
    remedy.command,
    ...(remedy.account === undefined ? [] : [remedy.account]),
    ...(remedy.flags ?? []),
    ...(remedy.config ? ['--config', remedy.config] : []),
    ...(remedy.issuer ? ['--issuer', remedy.issuer] : []),
    ...(remedy.finalFlags ?? []),
  ].join(' ');
  return remedy.next === undefined ? line : `${line}, then: ${formatRemedy(remedy.next)}`;
}

/**
 * The words of a hint that ends in a remedy: `LEAD: COMMAND`, `LEAD` being what leads to it (`run` when
 * there is none: `run: tokenwarden setup vo --config /c.ini`); `LEAD, as root: COMMAND (or, as this
 * user: OTHER)` for a remedy only root can run. Without a remedy, the lead is the whole hint.
 */
export function formatHint(lead: string | undefined, remedy: Remedy | undefined): string | undefined {
  if (remedy === undefined) return lead;
  const root = remedy.asRoot === true;
  const other =
    remedy.alternative === undefined
      ? ''
      : ` (or${root ? ', as this user' : ''}: ${formatRemedy(remedy.alternative)})`;
  return `${lead ?? 'run'}${root ? ', as root' : ''}: ${formatRemedy(remedy)}${other}`;
}
