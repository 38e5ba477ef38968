/**
 * The part of `fs-ext` (native, untyped) that tokenwarden uses: BSD `flock(2)` on a file descriptor.
 * Errors carry the errno name in `code` (`EAGAIN` when a non-blocking lock is held elsewhere).
 */
declare module 'fs-ext' {
  export type FlockOperation = 'sh' | 'ex' | 'shnb' | 'exnb' | 'un';
  export function flock(
    fd: number,
    operation: FlockOperation,
    callback: (err: NodeJS.ErrnoException | null) => void,
  ): void;
  export function flockSync(fd: number, operation: FlockOperation): void;
}
