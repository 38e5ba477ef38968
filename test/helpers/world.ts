import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestIssuer, type TestIssuer, type TestIssuerOptions } from '../../src/testing/index.js';
import { type CliRun, runCli } from './cli.js';
import { tempDir } from './tmp.js';

export const WIDE_SCOPE =
  'openid offline_access wlcg.groups storage.read:/ storage.create:/ storage.modify:/ compute.read compute.modify compute.create';

/** A test issuer on 127.0.0.1 plus a private directory for config, state and tokens. */
export interface World {
  issuer: TestIssuer;
  dir: string;
  config: string;
  tokens: string;
  state: string;
  /** Writes config.ini (a [DEFAULT] state_dir line is prepended). */
  writeConfig(body: string): Promise<void>;
  /** Runs `tokenwarden setup NAME` through the device flow, approving the code it prints. */
  setup(name: string, scope?: string, extra?: string[]): Promise<CliRun>;
  close(): Promise<void>;
}

export async function createWorld(options: TestIssuerOptions = {}): Promise<World> {
  // One-hour access tokens (WLCG IAM's default) unless a test asks otherwise.
  const issuer = await startTestIssuer({ accessTokenTtl: 3600, ...options });
  const { dir, cleanup } = await tempDir();
  const tokens = join(dir, 'tokens');
  const state = join(dir, 'state');
  await mkdir(tokens, { recursive: true });
  const config = join(dir, 'config.ini');
  return {
    issuer,
    dir,
    config,
    tokens,
    state,
    async writeConfig(body) {
      await writeFile(config, `[DEFAULT]\nstate_dir = ${state}\n\n${body}`);
    },
    async setup(name, scope = WIDE_SCOPE, extra = []) {
      const approvals: Promise<void>[] = [];
      let seen = '';
      const run = await runCli(['setup', name, '--config', config, '--scope', scope, ...extra], {
        onStderr: (chunk) => {
          seen += chunk;
          const m = /enter the code: (\S+)/.exec(seen);
          if (m?.[1]) {
            seen = '';
            approvals.push(issuer.approveDeviceCode(m[1], `user-${name}`));
          }
        },
      });
      await Promise.all(approvals);
      return run;
    },
    async close() {
      await issuer.close();
      await cleanup();
    },
  };
}

/** The [account] section of a refresh-token account set up by World.setup. */
export function refreshAccount(world: World, name: string, extra = ''): string {
  return `[account ${name}]\npassword_file = ${join(world.dir, `${name}.pw`)}\nissuer = ${world.issuer.url}\n${extra}\n`;
}

export function tokenSection(
  world: World,
  name: string,
  account: string,
  fields: Record<string, string | number> = {},
): string {
  const lines = [
    `[token ${name}]`,
    `account = ${account}`,
    `token_path = ${join(world.tokens, `${name}.token`)}`,
  ];
  for (const [k, v] of Object.entries(fields)) lines.push(`${k} = ${v}`);
  return `${lines.join('\n')}\n\n`;
}

/** A world with one refresh-token account, `name`, set up through the device flow. */
export async function createWorldWithAccount(name = 'vo', options: TestIssuerOptions = {}): Promise<World> {
  const world = await createWorld(options);
  await world.writeConfig(refreshAccount(world, name));
  const run = await world.setup(name);
  if (run.code !== 0) throw new Error(`setup ${name} failed: ${run.stderr}`);
  return world;
}
