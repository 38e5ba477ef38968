import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientProviderConfig, LocalProviderConfig } from '../../../src/credmon/config/types.js';
import { parseCredName } from '../../../src/credmon/names.js';
import type { CredentialRef, ProviderContext } from '../../../src/credmon/providers/types.js';
import { NO_LOG } from '../../../src/log/index.js';

/** Fixed time of the tests' clock (epoch seconds). */
export const NOW = 1_800_000_000;

/** A local-issuer configuration with HTCondor's defaults, keys under `dir`. */
export function localConfig(dir: string, overrides: Partial<LocalProviderConfig> = {}): LocalProviderConfig {
  return {
    kind: 'local',
    name: 'scitokens',
    privateKeyPath: join(dir, 'scitokens-private.pem'),
    publicKeyPath: join(dir, 'scitokens.pem'),
    keyId: 'local',
    algorithm: 'ES256',
    issuer: 'https://ap.example.org',
    authzTemplate: 'read:/user/{username} write:/user/{username}',
    authzGroupTemplate: undefined,
    authzGroupMapfile: undefined,
    authzGroupRequirement: undefined,
    lifetimeSeconds: 1200,
    audience: ['https://storage.example.org'],
    tokenVersion: 'scitoken:2.0',
    useJson: true,
    ...overrides,
  };
}

export function clientConfig(
  overrides: Partial<ClientProviderConfig> & Pick<ClientProviderConfig, 'clientSecretFile'>,
): ClientProviderConfig {
  return {
    kind: 'client',
    name: 'robot',
    clientId: 'credmon-cc',
    tokenUrl: undefined,
    issuer: undefined,
    scopes: ['storage.read:/user/{username}'],
    audience: ['https://storage.example.org'],
    lifetimeSeconds: undefined,
    useJson: true,
    ...overrides,
  };
}

/** A ProviderContext on `credDir` with a fixed clock (ms) unless one is given. */
export function providerContext(credDir: string, extra: Partial<ProviderContext> = {}): ProviderContext {
  return {
    credDir,
    log: NO_LOG,
    clock: () => NOW * 1000,
    fetch,
    signal: AbortSignal.timeout(10_000),
    ...extra,
  };
}

export function ref(user: string, name: string): CredentialRef {
  const parsed = parseCredName(name);
  if (!parsed.ok) throw new Error(`bad credential name ${name}`);
  return { user, cred: parsed.value };
}

/** A user's directory and `.top` as the local credmon's producer leaves it (the user name as bytes). */
export async function localTop(credDir: string, user: string, name: string): Promise<void> {
  await mkdir(join(credDir, user), { recursive: true, mode: 0o700 });
  await writeFile(join(credDir, user, `${name}.top`), user, { mode: 0o600 });
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (no shell), with a deadline. */
export function run(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 30_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * scitokens-cpp's tools with a private key cache: `seed` stores the issuer's public key offline
 * (`scitokens-verify --cred`), after which tokens of that issuer and kid verify without any network.
 */
export async function scitokensCache(dir: string): Promise<{
  env: NodeJS.ProcessEnv;
  seed(publicKey: string, issuer: string, kid: string, token: string): Promise<Run>;
  verify(token: string, profile?: string): Promise<Run>;
  testAccess(token: string, issuer: string, audience: string, authz: string, path: string): Promise<Run>;
}> {
  const cache = join(dir, 'xdg-cache');
  await mkdir(cache, { recursive: true });
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  return {
    env,
    seed: (publicKey, issuer, kid, token) =>
      run('scitokens-verify', ['--cred', publicKey, '--issuer', issuer, '--keyid', kid, token], env),
    verify: (token, profile) =>
      run('scitokens-verify', [...(profile ? ['--profile', profile] : []), token], env),
    testAccess: (token, issuer, audience, authz, path) =>
      run('scitokens-test-access', [token, issuer, audience, authz, path], env),
  };
}

export async function writeMapfile(path: string, lines: string[]): Promise<void> {
  await writeFile(path, `${lines.join('\n')}\n`);
}
