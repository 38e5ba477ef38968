import { realpath } from 'node:fs/promises';
import { TokenwardenError } from '../../errors.js';
import { fileIdentity, readFileWithIdentity } from '../../files/index.js';

/**
 * The local issuer's group map (`LOCAL_CREDMON_AUTHZ_GROUP_MAPFILE`), read as HTCondor's LocalCredmon
 * reads it: one user per line, `* <user> <group1>,<group2>,...`; a line with fewer than three fields or
 * not starting with `*` is ignored; the first line naming the user wins; a user on no line has no groups.
 *
 * The Python credmon opens the file for every token it mints, so an edit is seen at the next renewal
 * without a restart. We keep that (the file is looked at before each use) but stat it instead of reading
 * it: it is parsed again only when its identity (inode, size, times) changed, so 10,000 users cost one
 * parse, not 10,000. The path is the administrator's (a knob), so a symlink there (configuration
 * management often makes them) is followed to the file it names.
 */

/** Bound on the map file: one line per user of a large site is well under this. */
export const MAX_GROUP_MAPFILE_BYTES = 16 * 1024 * 1024;

/** Groups by user, from the text of a map file (pure). */
export function parseGroupMapfile(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0] !== '*') continue;
    const user = fields[1] as string;
    if (groups.has(user)) continue;
    // `g1,,g2` gives no empty group (the Python credmon would expand the template with an empty name).
    groups.set(
      user,
      (fields[2] as string).split(',').filter((g) => g.length > 0),
    );
  }
  return groups;
}

export interface GroupMapfile {
  readonly path: string;
  /** The user's groups (empty when the user is on no line); throws CONFIG_INVALID when the file cannot be read. */
  groupsOf(user: string): Promise<readonly string[]>;
}

/**
 * A map file looked at on every call and parsed again when it changed. A missing, unreadable or
 * oversized file is an error naming the knob, never "no groups": a user would otherwise silently lose the
 * group scopes (or, with AUTHZ_GROUP_REQUIREMENT, be refused for a reason nobody sees).
 */
export function openGroupMapfile(path: string, knob: string): GroupMapfile {
  let cached: { identity: string; groups: Map<string, string[]> } | undefined;
  let reading: Promise<{ identity: string; groups: Map<string, string[]> }> | undefined;

  async function load(): Promise<Map<string, string[]>> {
    let identity: string | undefined;
    let real: string;
    try {
      real = await realpath(path);
      identity = await fileIdentity(real);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing(path, knob);
      throw unreadable(path, knob, err);
    }
    if (identity === undefined) throw missing(path, knob);
    if (cached?.identity === identity) return cached.groups;
    // Concurrent renewals after an edit share one read.
    reading ??= read(real).finally(() => {
      reading = undefined;
    });
    return (await reading).groups;
  }

  async function read(real: string): Promise<{ identity: string; groups: Map<string, string[]> }> {
    let file: Awaited<ReturnType<typeof readFileWithIdentity>>;
    try {
      file = await readFileWithIdentity(real, { maxBytes: MAX_GROUP_MAPFILE_BYTES });
    } catch (err) {
      throw unreadable(path, knob, err);
    }
    if (file === undefined) throw missing(path, knob);
    cached = { identity: file.identity, groups: parseGroupMapfile(file.text) };
    return cached;
  }

  return {
    path,
    async groupsOf(user) {
      return (await load()).get(user) ?? [];
    },
  };
}

function missing(path: string, knob: string): TokenwardenError {
  return new TokenwardenError('CONFIG_INVALID', `${knob}: the group map file ${path} does not exist`, {
    hint: `create it (lines "* <user> <group1>,<group2>") or unset ${knob}`,
  });
}

function unreadable(path: string, knob: string, err: unknown): TokenwardenError {
  const why = err instanceof Error ? err.message : String(err);
  return new TokenwardenError('CONFIG_INVALID', `${knob}: cannot read the group map file: ${why}`, {
    hint: `make ${path} a regular file the credmon can read (at most ${MAX_GROUP_MAPFILE_BYTES} bytes)`,
    cause: err,
  });
}
