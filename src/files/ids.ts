import { readFile } from 'node:fs/promises';
import { TokenwardenError } from '../errors.js';

/**
 * Resolves a user or group given by name or number to its numeric id, from /etc/passwd and /etc/group
 * (Node has no getpwnam). Numbers are taken as they are.
 */
async function lookup(kind: 'user' | 'group', value: string, file: string): Promise<number> {
  if (/^\d+$/.test(value)) return Number(value);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new TokenwardenError('FILE_IO', `cannot read ${file} to resolve ${kind} ${value}`, { cause });
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === value && fields[2] !== undefined && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  throw new TokenwardenError('CONFIG_INVALID', `no ${kind} named ${JSON.stringify(value)} in ${file}`, {
    hint: `give an existing ${kind} name or a numeric id`,
  });
}

export function resolveUid(user: string, passwdFile = '/etc/passwd'): Promise<number> {
  return lookup('user', user, passwdFile);
}

export function resolveGid(group: string, groupFile = '/etc/group'): Promise<number> {
  return lookup('group', group, groupFile);
}
