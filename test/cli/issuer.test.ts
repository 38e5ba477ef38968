import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, findLeaks, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { exec } from '../helpers/xrootd.js';

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `tokenwarden issuer serve ARGS` and waits for the URL it prints. */
function startServe(args: string[], env: Record<string, string> = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'issuer', 'serve', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('close', r));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) resolve({ child, url: out.trim(), stderr: () => err, exited });
    });
    child.on('close', (code) => reject(new Error(`issuer serve exited ${code}: ${err}`)));
  });
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());

describe('tokenwarden issuer, credential-producer, inspect --verify', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let served: Served;
  let issuer: string;
  let kid: string;
  const minted: string[] = [];
  const mint = async (extra: string[], key = 'k.pem') => {
    const run = await runCli(
      [
        'issuer',
        'mint',
        '--private-key',
        join(dir, key),
        '--issuer',
        issuer,
        '--sub',
        'alice',
        '--scope',
        'read:/data',
        ...extra,
      ],
      { tokenOnStdout: true },
    );
    assert.equal(run.code, 0, run.stderr);
    const token = run.stdout.trim();
    minted.push(token);
    return token;
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const keygen = await runCli([
      'issuer',
      'keygen',
      '--private-key',
      join(dir, 'k.pem'),
      '--public-key',
      join(dir, 'k.pub'),
      '--json',
    ]);
    assert.equal(keygen.code, 0, keygen.stderr);
    kid = JSON.parse(keygen.stdout).kid;
    served = await startServe(['--private-key', join(dir, 'k.pem'), '--listen', '127.0.0.1:0']);
    issuer = served.url.replace(/\/$/, '');
  });
  after(async () => {
    served.child.kill('SIGTERM');
    await served.exited;
    await cleanup();
  });

  it('keygen writes 0600/0644 PEM files, prints the kid and JWK, and never replaces a key', async () => {
    assert.equal((await stat(join(dir, 'k.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'k.pub'))).mode & 0o777, 0o644);
    assert.match(await readFile(join(dir, 'k.pem'), 'utf8'), /^-----BEGIN EC PRIVATE KEY-----/);
    assert.match(kid, /^[A-Za-z0-9_-]{43}$/, 'the default kid is the JWK thumbprint');
    const before = await readFile(join(dir, 'k.pem'), 'utf8');
    const again = await runCli([
      'issuer',
      'keygen',
      '--private-key',
      join(dir, 'k.pem'),
      '--public-key',
      join(dir, 'new.pub'),
    ]);
    assert.equal(again.code, 2);
    assert.equal(
      again.stderr.split('\n')[0],
      `tokenwarden: ${join(dir, 'k.pem')} exists: keygen never replaces a key`,
    );
    assert.equal(await readFile(join(dir, 'k.pem'), 'utf8'), before);
    const rsa = await runCli([
      'issuer',
      'keygen',
      '--alg',
      'RS256',
      '--kid',
      'r1',
      '--private-key',
      join(dir, 'r.pem'),
      '--public-key',
      join(dir, 'r.pub'),
    ]);
    assert.equal(rsa.code, 0, rsa.stderr);
    assert.match(rsa.stdout, /^kid: {9}r1$/m);
    assert.match(await readFile(join(dir, 'r.pem'), 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('serve publishes discovery and the JWKS; the kid of keygen, serve and mint agree', async () => {
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(discovery, { issuer, jwks_uri: `${issuer}/.well-known/jwks-uri` });
    const jwks = (await (await fetch(`${issuer}/.well-known/jwks-uri`)).json()) as {
      keys: Record<string, unknown>[];
    };
    assert.deepEqual(
      jwks.keys.map((k) => [k.kid, k.alg, k.use, 'd' in k]),
      [[kid, 'ES256', 'sig', false]],
    );
    assert.match(
      served.stderr(),
      /issuer\.serving url=http:\/\/127\.0\.0\.1:\d+\/ issuer=http:\/\/127\.0\.0\.1:\d+ keys=1/,
    );
  });

  it('mint prints a token with the profile’s claims; -o writes a 0600 token file', async () => {
    const sci = await mint(['--aud', 'https://storage.example.org', '--lifetime', '600']);
    const c = claimsOf(sci);
    assert.deepEqual(Object.keys(c), ['iss', 'sub', 'scope', 'aud', 'ver', 'iat', 'nbf', 'exp', 'jti']);
    assert.equal(c.ver, 'scitoken:2.0');
    assert.equal(c.exp - c.iat, 600);
    assert.deepEqual(JSON.parse(Buffer.from(sci.split('.')[0] as string, 'base64url').toString()), {
      alg: 'ES256',
      kid,
      typ: 'JWT',
    });
    const file = join(dir, 'bt_u1000');
    const run = await runCli([
      'issuer',
      'mint',
      '--private-key',
      join(dir, 'k.pem'),
      '--issuer',
      issuer,
      '--sub',
      'bob',
      '--scope',
      'storage.read:/',
      '--aud',
      'https://wlcg.cern.ch/jwt/v1/any',
      '--profile',
      'wlcg',
      '-o',
      file,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const token = (await readFile(file, 'utf8')).trimEnd();
    minted.push(token);
    assert.equal(claimsOf(token)['wlcg.ver'], '1.0');
    assert.equal('ver' in claimsOf(token), false);
  });

  it('--help after a subcommand shows that subcommand alone; issuer --help lists the three', async () => {
    const mint = await runCli(['issuer', 'mint', '--help']);
    assert.equal(mint.code, 0);
    assert.match(mint.stdout, /^Usage: tokenwarden issuer mint --private-key FILE /);
    assert.match(mint.stdout, /--lifetime SECS/);
    assert.match(mint.stdout, /wlcg\.ver "1\.0"/);
    assert.doesNotMatch(mint.stdout, /--listen|--public-key|issuer serve|Subcommands:/);
    const serve = await runCli(['issuer', 'serve', '-h']);
    assert.match(serve.stdout, /^Usage: tokenwarden issuer serve /);
    assert.match(serve.stdout, /--behind-proxy/);
    assert.doesNotMatch(serve.stdout, /--sub NAME|--lifetime/);
    const all = await runCli(['issuer', '--help']);
    assert.match(all.stdout, /Subcommands:\n {2}keygen {2}.+\n {2}serve {3}.+\n {2}mint {4}.+\n/);
    assert.match(all.stdout, /--listen HOST:PORT[\s\S]*--lifetime SECS/);
    // The subcommand is the first word that is not an option; a name that is no subcommand (not even
    // one of Object's own properties) gets the whole help.
    assert.match(
      (await runCli(['issuer', '--json', 'mint', '--help'])).stdout,
      /^Usage: tokenwarden issuer mint /,
    );
    for (const word of ['toString', '__proto__', 'nosuch']) {
      const other = await runCli(['issuer', word, '--help']);
      assert.equal(other.code, 0, other.stderr);
      assert.match(other.stdout, /Subcommands:/);
    }
    // Continuation lines of a usage line up under its first option.
    const usage = all.stdout.split('\n');
    const serveAt = usage.findIndex((l) => l.includes('tokenwarden issuer serve '));
    assert.equal(usage[serveAt + 1]?.search(/\S/), usage[serveAt]?.indexOf('--private-key'));
    // A mistake names the subcommand's own help.
    const wrong = await runCli(['issuer', 'keygen', '--listen', '127.0.0.1:1']);
    assert.equal(wrong.code, 2);
    assert.equal(
      wrong.stderr,
      'tokenwarden: issuer keygen does not take --listen\n  run `tokenwarden issuer keygen --help`\n',
    );
  });

  it('mint refuses bad input with exit 2 or 3 and a clear line', async () => {
    const base = [
      'issuer',
      'mint',
      '--private-key',
      join(dir, 'k.pem'),
      '--issuer',
      issuer,
      '--sub',
      'a',
      '--scope',
      'read:/',
    ];
    await writeFile(join(dir, 'loose.pem'), await readFile(join(dir, 'k.pem')));
    await chmod(join(dir, 'loose.pem'), 0o644);
    const cases: [string[], number, string][] = [
      [base, 2, 'aud missing: a scitoken:2.0 token must name its audience: give --aud'],
      [[...base, '--aud', 'x', '--profile', 'jwt'], 2, '--profile "jwt": use scitokens or wlcg'],
      [
        [
          'issuer',
          'mint',
          '--private-key',
          join(dir, 'k.pem'),
          '--issuer',
          issuer,
          '--sub',
          'a',
          '--scope',
          'storage.write:/x',
          '--aud',
          'x',
          '--profile',
          'wlcg',
        ],
        2,
        'the token would break the wlcg profile: scope "storage.write:/x" is not storage.read|create|modify|stage|poll:/PATH (the profile wants a path on every storage scope)',
      ],
      [
        [...base, '--aud', 'x', '--lifetime', '0'],
        2,
        '--lifetime "0": give a number of seconds, more than 0 and at most 31622400',
      ],
      [
        [
          'issuer',
          'mint',
          '--private-key',
          join(dir, 'k.pem'),
          '--issuer',
          'http://issuer.example.org',
          '--sub',
          'a',
          '--scope',
          '',
          '--aud',
          'x',
        ],
        2,
        '--issuer http://issuer.example.org: an issuer must be https',
      ],
      [
        [...base.slice(0, 3), join(dir, 'loose.pem'), ...base.slice(4), '--aud', 'x'],
        3,
        `private key ${join(dir, 'loose.pem')} is readable or writable by group or others (mode 0644)`,
      ],
      [[...base, '--aud', 'x', '--listen', '1:2'], 2, 'issuer mint does not take --listen'],
      [['issuer', 'launch'], 2, 'issuer: unknown subcommand "launch": use keygen, serve or mint'],
      [
        [
          'issuer',
          'serve',
          '--private-key',
          join(dir, 'k.pem'),
          '--private-key',
          join(dir, 'k.pem'),
          '--kid',
          'a',
          '--listen',
          '127.0.0.1:0',
        ],
        2,
        'issuer serve: 1 --kid for 2 --private-key: give one --kid per key, in the same order, or none',
      ],
      [
        [
          'issuer',
          'serve',
          '--private-key',
          join(dir, 'k.pem'),
          '--private-key',
          join(dir, 'k.pem'),
          '--listen',
          '127.0.0.1:0',
        ],
        2,
        `issuer serve: two keys have the kid ${kid}: each key needs its own`,
      ],
      [
        ['issuer', 'serve', '--private-key', join(dir, 'k.pem'), '--listen', '0.0.0.0:0'],
        3,
        'refusing to serve plain HTTP on 0.0.0.0, which is not a loopback address',
      ],
      [
        ['issuer', 'serve', '--private-key', join(dir, 'k.pem'), '--listen', 'localhost'],
        2,
        '--listen "localhost": give HOST:PORT',
      ],
      [['issuer'], 2, 'issuer needs a subcommand: keygen, serve or mint'],
    ];
    for (const [args, code, message] of cases) {
      const run = await runCli(args);
      assert.equal(run.code, code, `${message}: ${run.stderr}`);
      assert.ok(run.stderr.startsWith(`tokenwarden: ${message}`), run.stderr);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(run.stdout, '');
    }
  });

  it('inspect --verify passes a token of the running issuer', async () => {
    const token = await mint(['--aud', 'https://storage.example.org']);
    const run = await runCli(['inspect', '--verify', '-'], { input: token });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^verified: {2}yes, scitoken:2\.0 profile$/m);
    const json = await runCli(['inspect', '--verify', '--json', '-'], { input: token });
    assert.deepEqual(JSON.parse(json.stdout).verification, {
      valid: true,
      profile: 'scitoken:2.0',
      failures: [],
    });
  });

  it('a WLCG token over 6 hours: mint warns (a profile recommendation), inspect --verify passes it', async () => {
    const run = await runCli(
      [
        'issuer',
        'mint',
        '--private-key',
        join(dir, 'k.pem'),
        '--issuer',
        issuer,
        '--sub',
        'alice',
        '--scope',
        'storage.read:/data storage.poll:/tape',
        '--aud',
        'https://storage.example.org',
        '--profile',
        'wlcg',
        '--lifetime',
        String(7 * 3600),
      ],
      { tokenOnStdout: true },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stderr,
      'tokenwarden: warning: lifetime 25200 s is longer than the 6 hours the WLCG profile recommends at most for an access token; some sites may refuse this token\n',
    );
    const token = run.stdout.trim();
    minted.push(token);
    const json = await runCli(['inspect', '--verify', '--json', '-'], { input: token });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).verification, {
      valid: true,
      profile: 'wlcg:1.0',
      failures: [],
    });
  });

  it('inspect --verify fails a wrong key, a missing kid, an expired token, a missing aud, naming the rule', async () => {
    await runCli([
      'issuer',
      'keygen',
      '--private-key',
      join(dir, 'other.pem'),
      '--public-key',
      join(dir, 'other.pub'),
      '--kid',
      kid,
    ]);
    const wrongKey = await mint(['--aud', 'x', '--kid', kid], 'other.pem');
    const { SignJWT, importPKCS8 } = await import('jose');
    const { createPrivateKey } = await import('node:crypto');
    const pkcs8 = createPrivateKey(await readFile(join(dir, 'k.pem'))).export({
      format: 'pem',
      type: 'pkcs8',
    }) as string;
    const signing = await importPKCS8(pkcs8, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: 'alice',
      scope: 'read:/',
      aud: ['x'],
      ver: 'scitoken:2.0',
      iat: now,
      nbf: now,
      exp: now + 600,
    };
    const sign = (c: Record<string, unknown>, header: Record<string, unknown> = { alg: 'ES256', kid }) =>
      new SignJWT(c).setProtectedHeader(header as { alg: string }).sign(signing);
    const cases: [string, string][] = [
      [
        wrongKey,
        `signature: signature invalid: the token was not signed by the key ${kid} that ${issuer} publishes`,
      ],
      [
        await sign(claims, { alg: 'ES256' }),
        'kid: kid missing: the header must name the issuer key that signed the token',
      ],
      [
        await sign({ ...claims, iat: now - 4000, nbf: now - 4000, exp: now - 1800 }),
        'exp: expired 30 min ago',
      ],
      [
        await sign({ ...claims, aud: undefined }),
        'aud: aud missing: a scitoken:2.0 token must name its audience',
      ],
    ];
    for (const [token, line] of cases) {
      minted.push(token);
      const run = await runCli(['inspect', '--verify', '-'], { input: token });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stdout, /^verified: {2}NO \(scitoken:2\.0 profile\)$/m);
      assert.ok(run.stdout.includes(`\n  ${line}`), run.stdout);
    }
    assert.deepEqual(findLeaks(minted), [], 'inspect never prints a token');
  });

  it('inspect --verify over TLS with a site CA, against serve --tls-cert', async () => {
    const ca = join(dir, 'ca');
    const sh = `set -e
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca -keyout ${ca}.key -out ${ca}.pem 2>/dev/null
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 -keyout ${dir}/tls.key -out ${dir}/tls.csr 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1\\n' > ${dir}/san.ext
      openssl x509 -req -in ${dir}/tls.csr -CA ${ca}.pem -CAkey ${ca}.key -CAcreateserial -days 2 -extfile ${dir}/san.ext -out ${dir}/tls.pem 2>/dev/null`;
    const made = await exec('sh', ['-c', sh]);
    assert.equal(made.code, 0, made.stderr);
    const tls = await startServe([
      '--private-key',
      join(dir, 'k.pem'),
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      join(dir, 'tls.pem'),
      '--tls-key',
      join(dir, 'tls.key'),
    ]);
    try {
      const httpsIssuer = tls.url.replace(/\/$/, '');
      assert.match(httpsIssuer, /^https:\/\/127\.0\.0\.1:\d+$/);
      const run = await runCli(
        [
          'issuer',
          'mint',
          '--private-key',
          join(dir, 'k.pem'),
          '--issuer',
          httpsIssuer,
          '--sub',
          'a',
          '--scope',
          'read:/',
          '--aud',
          'x',
        ],
        { tokenOnStdout: true },
      );
      const token = run.stdout.trim();
      minted.push(token);
      const trusted = await runCli(['inspect', '--verify', '-'], {
        input: token,
        env: { NODE_EXTRA_CA_CERTS: `${ca}.pem` },
      });
      assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
      assert.match(trusted.stdout, /^verified: {2}yes/m);
      const untrusted = await runCli(['inspect', '--verify', '-'], { input: token });
      assert.equal(untrusted.code, 1);
      assert.match(
        untrusted.stdout,
        /^ {2}discovery: GET https:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration failed: /m,
      );
    } finally {
      tls.child.kill('SIGTERM');
      assert.equal(await tls.exited, 0);
    }
  });

  it('credential-producer prints LOCAL:<provider> without a newline, exit 0', async () => {
    const run = await runCli(['credential-producer']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'LOCAL:scitokens');
    const other = await runCli(['credential-producer', '--provider', 'mytokens_handle1']);
    assert.equal(other.stdout, 'LOCAL:mytokens_handle1');
    const bad = await runCli(['credential-producer', '--provider', '../etc']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--provider "\.\.\/etc" is not a credential name/);
  });
});
