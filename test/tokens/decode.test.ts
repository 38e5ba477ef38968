import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { decodeJwt } from 'jose/jwt/decode';
import { decodeToken, formatDuration, secondsLeft, totalLifetime } from '../../src/tokens/index.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: unknown) => `${b64({ alg: 'ES256', kid: 'k1' })}.${b64(claims)}.c2ln`;

describe('decodeToken', () => {
  it('reads claims, audience and scope', () => {
    const d = decodeToken(`${jwt({ iss: 'https://i', aud: ['a', 'b'], scope: 'x y', exp: 100, iat: 40 })}\n`);
    assert.deepEqual(d.audience, ['a', 'b']);
    assert.deepEqual(d.scope, ['x', 'y']);
    assert.equal(d.header.kid, 'k1');
    assert.equal(secondsLeft(d.claims, 70), 30);
    assert.equal(totalLifetime(d.claims), 60);
  });

  it('accepts a single audience string and scp arrays', () => {
    const d = decodeToken(jwt({ aud: 'one', scp: ['s1'] }));
    assert.deepEqual(d.audience, ['one']);
    assert.deepEqual(d.scope, ['s1']);
  });

  it('rejects garbage without echoing it', () => {
    const garbage = 'secret-looking-garbage-value';
    assert.throws(
      () => decodeToken(garbage),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TOKEN_INVALID');
        assert.ok(!err.message.includes(garbage));
        return true;
      },
    );
  });
});

describe('decodeToken beside jose', () => {
  // decodeToken reads the parts itself (jose's modules cost `renew` seven files to load); a token file
  // jose refused must stay refused, or a broken token could look fresh instead of due.
  const viaJose = (t: string) => {
    try {
      const c = t.trim();
      return JSON.stringify([decodeProtectedHeader(c), decodeJwt(c)]);
    } catch {
      return 'refused';
    }
  };
  const ours = (t: string) => {
    try {
      const d = decodeToken(t);
      return JSON.stringify([d.header, d.claims]);
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'TOKEN_INVALID');
      return 'refused';
    }
  };
  const b = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const h = b({ alg: 'ES256' });
  const seeds = [
    `${b({ alg: 'none' })}.${b({ exp: 5, aud: 'x' })}.`,
    `${h}.${b({ exp: 5 })}.sig`,
    `${b([1])}.${b({})}.x`,
    `${h}.${b('null')}.x`,
    `${h}.${b('[1]')}.x`,
    `${h}.${b('"s"')}.x`,
    `${h}..x`,
    `.${h}.x`,
    `${h}.${h}`,
    'a.b.c.d.e',
    `${h}.${h}.x.y.z`,
    `${h}.${b({ a: 'é' })}=.x`,
    `${h}.${b({ a: 1 })}==.x`,
    `${h}.eyJhIjoxfQ=.x`,
    `${h}.eyJhIjoxfQ===.x`,
    `${h}.eyJhIjoxf.x`,
    `${h}.${Buffer.from('{"a":"é?"}').toString('base64')}.x`,
    `${h}.${Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]).toString('base64url')}.x`,
    ` ${h}.${b({ a: 1 })}.x `,
    `${h}.e yJ hIjox fQ.x`,
    `${h}.${b({ a: 1 })}!.x`,
    `${h}.${b({ a: 1 })}\t.x`,
    `${h}.${b({ a: 1 })}\v.x`,
    `${h}.${b('{"a":1}x')}.x`,
    'garbage',
    '',
  ];

  it('accepts and refuses what jose did, on edge cases and on mutations of them', () => {
    for (const s of seeds) assert.equal(ours(s), viaJose(s), JSON.stringify(s));
    // A fixed pseudo-random sequence, so a failure names a case that can be run again.
    let state = 42;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const chars = 'AZaz09-_+/= .\t\n!';
    for (let i = 0; i < 20_000; i++) {
      const a = [...(seeds[i % 11] as string)];
      for (let k = next(3) + 1; k > 0; k--) {
        const at = next(a.length + 1);
        const c = chars[next(chars.length)] as string;
        const op = next(10);
        if (op < 4) a.splice(at, 1);
        else if (op < 8) a.splice(at, 0, c);
        else a[at] = c;
      }
      const s = a.join('');
      assert.equal(ours(s), viaJose(s), JSON.stringify(s));
    }
  });
});

describe('formatDuration', () => {
  it('prints human durations', () => {
    assert.equal(formatDuration(42), '42s');
    assert.equal(formatDuration(250), '4m 10s');
    assert.equal(formatDuration(3900), '1h 05m');
    assert.equal(formatDuration(90000), '1d 01h');
    assert.equal(formatDuration(-180), 'expired 3m 00s ago');
  });
});
