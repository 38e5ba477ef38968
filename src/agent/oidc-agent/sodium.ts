import sodium from 'libsodium-wrappers-sumo';

/** The libsodium API, usable only once `ready` has resolved (it is a WebAssembly module). */
export type Sodium = typeof sodium;

let loading: Promise<Sodium> | undefined;

/** Resolves to libsodium once its WebAssembly module is initialised (done once per process). */
export function loadSodium(): Promise<Sodium> {
  loading ??= sodium.ready.then(() => sodium);
  return loading;
}
