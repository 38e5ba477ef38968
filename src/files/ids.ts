import { readFile } from 'node:fs/promises';
import { TokenwardenError } from '../errors.js';

/**
 * Resolves a user or group given by name or number to its numeric id. Node has no getpwnam: the local
 * file (/etc/passwd, /etc/group) is read first, then `getent`, which asks NSS, so that site accounts
 * from LDAP or SSSD resolve too. Numbers are taken as they are.
 */
async function lookup(kind: 'user' | 'group', value: string, file: string): Promise<number> {
  if (/^\d+$/.test(value)) return Number(value);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new TokenwardenError('FILE_IO', `cannot read ${file} to resolve ${kind} ${value}`, { cause });
  }
  const local = idIn(text, value);
  if (local !== undefined) return local;
  const viaNss = await getent(kind === 'user' ? 'passwd' : 'group', value);
  if (viaNss !== undefined) return viaNss;
  throw new TokenwardenError('CONFIG_INVALID', `no ${kind} named ${JSON.stringify(value)}`, {
    hint: `give an existing ${kind} name or a numeric id`,
  });
}

function idIn(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  return undefined;
}

/** `getent DB NAME` (bounded: 10 s); undefined when not found or getent is missing. */
function getent(db: 'passwd' | 'group', name: string): Promise<number | undefined> {
  // A name starting with "-" would be read as an option; such names are not valid accounts anyway.
  if (name.startsWith('-') || name.includes(':')) return Promise.resolve(undefined);
  // child_process only when a name is not in the local files: most runs never need it.
  return import('node:child_process').then(
    ({ execFile }) =>
      new Promise((resolve) => {
        execFile('getent', [db, name], { timeout: 10_000 }, (err, stdout) => {
          resolve(err ? undefined : idIn(stdout, name));
        });
      }),
  );
}

export function resolveUid(user: string, passwdFile = '/etc/passwd'): Promise<number> {
  return lookup('user', user, passwdFile);
}

export function resolveGid(group: string, groupFile = '/etc/group'): Promise<number> {
  return lookup('group', group, groupFile);
}
