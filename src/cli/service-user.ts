import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { TokenwardenError } from '../errors.js';

/** A local account a service runs as (systemd User=), from the password database. */
export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * Looks up a user by name: `getent passwd NAME` (NSS: local files, LDAP, SSSD), else /etc/passwd.
 * Node has no getpwnam. Undefined when there is no such user.
 */
export async function lookupServiceUser(name: string): Promise<ServiceUser | undefined> {
  // A name starting with "-" would be read as an option by getent; such names are not valid users.
  if (name === '' || name.startsWith('-') || /[:\s/]/.test(name)) return undefined;
  const viaNss = await new Promise<string | undefined>((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 10_000 }, (err, stdout) =>
      resolve(err ? undefined : stdout),
    );
  });
  const text = viaNss ?? (await readFile('/etc/passwd', 'utf8').catch(() => ''));
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] !== name || f.length < 7) continue;
    const [uid, gid, home] = [Number(f[2]), Number(f[3]), f[5] ?? ''];
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    return { name, uid, gid, home };
  }
  return undefined;
}

/** The name of group `gid` (`getent group`, else /etc/group), or the number itself when it has none. */
export async function groupName(gid: number): Promise<string> {
  const viaNss = await new Promise<string | undefined>((resolve) => {
    execFile('getent', ['group', String(gid)], { timeout: 10_000 }, (err, stdout) =>
      resolve(err ? undefined : stdout),
    );
  });
  const text = viaNss ?? (await readFile('/etc/group', 'utf8').catch(() => ''));
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] && f[2] === String(gid)) return f[0];
  }
  return String(gid);
}

/** lookupServiceUser, failing with a message naming the option when the user does not exist. */
export async function requireServiceUser(name: string, option: string): Promise<ServiceUser> {
  const user = await lookupServiceUser(name);
  if (user === undefined) {
    throw new TokenwardenError('USAGE', `${option} ${name}: no such user`, {
      hint: 'give the user the service runs as (systemd User=)',
    });
  }
  if (!isAbsolute(user.home)) {
    throw new TokenwardenError('USAGE', `${option} ${name}: the user has no absolute home directory`);
  }
  return user;
}

/**
 * Runs `fn` with the effective uid, gid and groups of `user`, then restores root's. Files `fn` creates
 * belong to the user, and every permission check is the user's: what it can read and write is what a
 * service running as that user can. Needs root; nothing else may run meanwhile (the ids are the
 * process's, and glibc applies them to every thread, libuv's file-system threads included).
 */
export async function asServiceUser<T>(user: ServiceUser, fn: () => Promise<T>): Promise<T> {
  const euid = process.geteuid?.();
  if (euid === user.uid) return fn();
  // process.initgroups exists on POSIX (Node's docs) but @types/node 20 does not declare it.
  const { initgroups } = process as NodeJS.Process & { initgroups?: (user: string, gid: number) => void };
  if (euid !== 0 || !process.seteuid || !process.setegid || !initgroups || !process.setgroups) {
    throw new TokenwardenError('USAGE', `this must run as root (or as ${user.name})`);
  }
  const groups = process.getgroups?.() ?? [];
  const egid = process.getegid?.() ?? 0;
  try {
    // Inside the try: a switch that fails half way is undone by the finally all the same.
    initgroups.call(process, user.name, user.gid);
    process.setegid(user.gid);
    process.seteuid(user.uid);
    return await fn();
  } finally {
    process.seteuid(0);
    process.setegid(egid);
    process.setgroups(groups);
  }
}
