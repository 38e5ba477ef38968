import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { TokenwardenError } from '../errors.js';
import { fd as fdOps } from './fd.js';
import { describeError, errnoCode, fileIoError } from './io-error.js';
import { checkPathSafe, isShared, sharedKind } from './path-safety.js';
import { sweepStaleTemps } from './stale-temps.js';

export interface WriteFileAtomicOptions {
  /**
   * Permission bits of the written file, set exactly, whatever the umask. When absent: the existing
   * file's with `keepExisting`, else 0o600.
   */
  mode?: number;
  /** Owner to give the file (needs root unless it is the caller's own uid). */
  uid?: number;
  /** Group to give the file. */
  gid?: number;
  /**
   * Each of mode, uid and gid not given is copied from the file being replaced, as it is at the moment
   * of the write (osg-token-renewer truncates token files in place, so consumers reading them as
   * another user rely on their owner, group and mode). A new file gets 0600 and the writer's ids.
   */
  keepExisting?: boolean;
  /**
   * fsync the file before the rename and the directory after it (default true), so that once the
   * promise resolves a crash cannot lose the new content. Only scratch files may turn this off.
   */
  durable?: boolean;
}

const TEMP_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_RDWR | constants.O_NOFOLLOW;
/** Keeps `.<basename>.<random>.tmp` within NAME_MAX (255) for long target names. */
const MAX_BASENAME_IN_TEMP = 200;
const TEMP_ATTEMPTS = 5;

/** What the checks before a write found: where it goes, and the file it replaces (if any). */
interface Plan {
  target: string;
  dir: string;
  dirStats: Stats;
  existing: Stats | undefined;
}

interface Temp {
  fd: number;
  tempPath: string;
}

/**
 * Replaces `path` with `data` so that every reader sees either the old file or the whole new one, never
 * an empty or partial file (docs/architecture.md invariant 3): a temp file is created exclusively
 * (O_EXCL, O_NOFOLLOW, 0600) in the same directory, written, given its owner and mode, fsynced, renamed
 * over the target, and the directory is fsynced. rename(2) replaces a symlink at the target rather than
 * following it, but a symlink there is refused anyway (FILE_UNSAFE), as is, in a shared directory such
 * as /tmp, a target owned by someone else, and any path component another user could have planted (see
 * checkPathSafe). On failure the temp file is removed and the target is untouched. The first write into
 * a directory also removes the temp files killed writers left there (see sweepStaleTemps).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: WriteFileAtomicOptions = {},
): Promise<void> {
  const plan = await prepare(path, opts);
  const temp = await createTemp(path, plan.dir, basename(plan.target));
  await commit(path, plan, temp, toBytes(data), opts, false);
}

/**
 * The checks writeFileAtomic makes, and the steps of its write that can fail for lack of permission,
 * proven on a real file: an exclusive temp file is created in the target's directory, given the owner,
 * group and mode the write would give it, and removed. Run before spending anything (a refresh grant)
 * on a value that could then not be written: a read-only file system, a directory we may not write, an
 * owner we may not give all fail here.
 */
export async function checkWriteTarget(path: string, opts: WriteFileAtomicOptions = {}): Promise<void> {
  const plan = await prepare(path, opts);
  const temp = await createTemp(path, plan.dir, basename(plan.target));
  try {
    await applyAttributes(path, temp.fd, attributesFor(opts, plan.existing));
  } finally {
    await fdOps.close(temp.fd).catch(() => undefined);
    await fdOps.unlink(temp.tempPath).catch(() => undefined);
  }
}

/**
 * Space for a later writeFileAtomic of `path`, taken now: a temp file of `bytes` bytes (zeros, fsynced,
 * so the file system has allocated them) created exactly as writeFileAtomic creates its temp. Take it
 * before an operation whose result must then be saved (a refresh grant that rotates the refresh
 * token): `write` overwrites the reserved file in place, truncates it to the data, and renames it over
 * the target with every guarantee of writeFileAtomic, so a full disk cannot fail it as long as the data
 * fits. `write` and `release` each end the reservation (a failed `write` frees its space too);
 * `release` after `write` does nothing.
 */
export interface WriteReservation {
  readonly path: string;
  readonly bytes: number;
  write(data: string | Uint8Array): Promise<void>;
  release(): Promise<void>;
}

export async function reserveAtomicWrite(
  path: string,
  bytes: number,
  opts: WriteFileAtomicOptions = {},
): Promise<WriteReservation> {
  const plan = await prepare(path, opts);
  const temp = await createTemp(path, plan.dir, basename(plan.target));
  try {
    await writeAll(temp.fd, zeros(bytes));
    await fdOps.fsync(temp.fd);
  } catch (err) {
    await fdOps.close(temp.fd).catch(() => undefined);
    await fdOps.unlink(temp.tempPath).catch(() => undefined);
    throw fileIoError('reserve space to write', path, err);
  }
  let open = true;
  return {
    path,
    bytes,
    async write(data) {
      if (!open) throw new TokenwardenError('INTERNAL', `the reservation for ${path} was already used`);
      open = false;
      // Checked again: time has passed since the reservation (a refresh request).
      const now = await prepare(path, opts).catch(async (err: unknown) => {
        await fdOps.close(temp.fd).catch(() => undefined);
        await fdOps.unlink(temp.tempPath).catch(() => undefined);
        throw err;
      });
      await commit(path, now, temp, toBytes(data), opts, true);
    },
    async release() {
      if (!open) return;
      open = false;
      await fdOps.close(temp.fd).catch(() => undefined);
      await fdOps.unlink(temp.tempPath).catch(() => undefined);
    },
  };
}

let zeroBuffer = Buffer.alloc(0);
/**
 * `bytes` zero bytes, from one shared buffer only ever read (pwrite copies out of it): a renewal
 * reserves 16 kB or more before every refresh, garbage the daemon need not make each time.
 */
function zeros(bytes: number): Uint8Array {
  if (zeroBuffer.byteLength < bytes) zeroBuffer = Buffer.alloc(bytes);
  return zeroBuffer.subarray(0, bytes);
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data) : data;
}

async function prepare(path: string, opts: WriteFileAtomicOptions): Promise<Plan> {
  checkOptions(path, opts);
  const target = resolve(path);
  const dir = dirname(target);
  await checkPathSafe(target, 'write');
  const dirStats = await checkDirectory(path, dir);
  const existing = await checkTarget(path, target, dirStats, opts);
  await sweepStaleTemps(dir);
  return { target, dir, dirStats, existing };
}

/** Writes `bytes` into the temp, gives it its owner and mode, syncs it and renames it over the target. */
async function commit(
  path: string,
  plan: Plan,
  temp: Temp,
  bytes: Uint8Array,
  opts: WriteFileAtomicOptions,
  reserved: boolean,
): Promise<void> {
  const { fd, tempPath } = temp;
  let renamed = false;
  try {
    try {
      await writeAll(fd, bytes);
      if (reserved) await fdOps.ftruncate(fd, bytes.byteLength);
      await applyAttributes(path, fd, attributesFor(opts, plan.existing));
      // One fsync after the owner and mode too, so the renamed file cannot come back with 0600/root.
      if (opts.durable !== false) await fdOps.fsync(fd);
    } finally {
      await fdOps.close(fd);
    }
    await fdOps.rename(tempPath, plan.target);
    renamed = true;
    if (opts.durable !== false) await syncDirectory(plan.dir);
  } catch (err) {
    if (!renamed) await fdOps.unlink(tempPath).catch(() => undefined);
    if (err instanceof TokenwardenError) throw err;
    throw fileIoError('write', path, err);
  }
}

interface Attributes {
  mode: number;
  uid: number | undefined;
  gid: number | undefined;
}

function attributesFor(opts: WriteFileAtomicOptions, existing: Stats | undefined): Attributes {
  const keep = opts.keepExisting === true ? existing : undefined;
  return {
    mode: opts.mode ?? (keep ? keep.mode & 0o777 : 0o600),
    uid: opts.uid ?? keep?.uid,
    gid: opts.gid ?? keep?.gid,
  };
}

/** Owner first (chown may clear set-id bits), then the mode, exactly as asked whatever the umask. */
async function applyAttributes(path: string, fd: number, want: Attributes): Promise<void> {
  let chowned = false;
  if (want.uid !== undefined || want.gid !== undefined) {
    const st = await fdOps.fstat(fd, { bigint: true });
    const uid = want.uid !== undefined && BigInt(want.uid) !== st.uid ? want.uid : -1;
    const gid = want.gid !== undefined && BigInt(want.gid) !== st.gid ? want.gid : -1;
    if (uid !== -1 || gid !== -1) {
      try {
        await fdOps.fchown(fd, uid, gid);
      } catch (err) {
        const what = [uid === -1 ? '' : `owner uid ${uid}`, gid === -1 ? '' : `group gid ${gid}`]
          .filter(Boolean)
          .join(' and ');
        throw new TokenwardenError('FILE_IO', `cannot write ${path} with ${what}: ${describeError(err)}`, {
          cause: err,
          hint: 'run as root (or as that owner), or set owner, group and mode in the [token] section',
        });
      }
      chowned = true;
    }
  }
  // The temp file was created 0600: when that is what is asked and the umask took nothing from it, it is
  // exact already.
  if (chowned || want.mode !== 0o600 || (processUmask() & 0o600) !== 0) await fdOps.fchmod(fd, want.mode);
}

let umask: number | undefined;
/** The process umask, read once (tokenwarden never changes it). */
function processUmask(): number {
  // process.umask() with no argument reads it; it is only documentation-deprecated (DEP0139).
  umask ??= process.umask();
  return umask;
}

/** Writes all of `bytes` from the start of the file (pwrite, so a reserved file is overwritten in place). */
async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += await fdOps.write(fd, bytes, offset, bytes.byteLength - offset, offset);
  }
}

function checkOptions(path: string, opts: WriteFileAtomicOptions): void {
  const mode = opts.mode;
  if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)) {
    throw new TokenwardenError('FILE_IO', `cannot write ${path}: mode ${String(mode)} is not a file mode`);
  }
  for (const [name, id] of [
    ['uid', opts.uid],
    ['gid', opts.gid],
  ] as const) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xfffffffe)) {
      throw new TokenwardenError('FILE_IO', `cannot write ${path}: ${name} ${String(id)} is not a valid id`);
    }
  }
}

/** The parent must already exist (followed if it is a symlink the path check allowed). */
async function checkDirectory(path: string, dir: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(dir);
  } catch (err) {
    throw fileIoError(
      'write',
      path,
      err,
      errnoCode(err) === 'ENOENT' ? `create the directory ${dir} first` : undefined,
    );
  }
  if (!stats.isDirectory()) {
    throw new TokenwardenError('FILE_IO', `cannot write ${path}: ${dir} is not a directory`);
  }
  return stats;
}

/** The file that the write replaces, or undefined when there is none; refuses what must not be replaced. */
async function checkTarget(
  path: string,
  target: string,
  dir: Stats,
  opts: WriteFileAtomicOptions,
): Promise<Stats | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(target);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw fileIoError('write', path, err);
  }
  if (stats.isSymbolicLink()) {
    throw new TokenwardenError('FILE_UNSAFE', `refusing to write ${path}: it is a symbolic link`, {
      hint: 'remove the link, or point the configuration at the real file',
    });
  }
  if (!stats.isFile()) {
    throw new TokenwardenError(
      'FILE_UNSAFE',
      `refusing to write ${path}: it exists and is not a regular file`,
    );
  }
  const euid = process.geteuid?.();
  if (isShared(dir) && euid !== undefined && stats.uid !== euid && stats.uid !== opts.uid) {
    throw new TokenwardenError(
      'FILE_UNSAFE',
      `refusing to write ${path}: it is owned by uid ${stats.uid} in the ${sharedKind(dir)} directory ${dirname(target)}`,
      { hint: 'someone else may have planted it; remove it, or write the token outside a shared directory' },
    );
  }
  return stats;
}

async function createTemp(path: string, dir: string, base: string): Promise<Temp> {
  for (let attempt = 1; ; attempt++) {
    const tempPath = join(
      dir,
      `.${base.slice(0, MAX_BASENAME_IN_TEMP)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      return { fd: await fdOps.open(tempPath, TEMP_FLAGS, 0o600), tempPath };
    } catch (err) {
      // Never reuse an existing path: someone (or a crashed run) holds this name; draw another.
      if (errnoCode(err) === 'EEXIST' && attempt < TEMP_ATTEMPTS) continue;
      throw fileIoError('write', path, err);
    }
  }
}

/** Makes the rename itself durable: fsync(2) of the directory holding the new entry. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = await fdOps.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fdOps.fsync(fd);
  } finally {
    await fdOps.close(fd);
  }
}
