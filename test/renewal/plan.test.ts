import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenConfig } from '../../src/config/index.js';
import { planAccounts, planToken, splitPlan } from '../../src/renewal/index.js';
import type { DecodedToken } from '../../src/tokens/index.js';

const token = (name: string, account: string): TokenConfig =>
  ({
    name,
    account,
    tokenPath: `/t/${name}`,
    line: 1,
    audience: [],
    scope: [],
    minLifetime: 60,
    grant: 'refresh',
  }) as unknown as TokenConfig;
const jwt = (claims: Record<string, number>): DecodedToken => ({
  header: {},
  claims,
  audience: [],
  scope: [],
});

describe('planToken', () => {
  it('a token with more than min_lifetime left is fresh, and its exp and iat are kept', () => {
    const c = planToken(token('a', 'vo'), jwt({ iat: 1000, exp: 5000 }), 2000, false, 'id-1');
    assert.equal(c.reason, undefined);
    assert.equal(c.currentExp, 5000);
    assert.equal(c.currentIat, 1000);
    assert.equal(c.identity, 'id-1');
  });
  it('a missing, expiring or forced token is due, with the reason', () => {
    assert.equal(planToken(token('a', 'vo'), 'missing', 0, false).reason, 'missing');
    assert.equal(planToken(token('a', 'vo'), jwt({ exp: 5000 }), 4950, false).reason, 'expiring');
    assert.equal(planToken(token('a', 'vo'), jwt({ exp: 5000 }), 0, true).reason, 'forced');
    assert.equal(planToken(token('a', 'vo'), jwt({ exp: 5000 }), 0, false).currentIat, undefined);
  });
});

describe('splitPlan and planAccounts', () => {
  it('group the due tokens per account in file order, then the accounts with only fresh tokens', () => {
    const candidates = [
      planToken(token('a', 'x'), 'missing', 0, false),
      planToken(token('b', 'y'), jwt({ exp: 5000 }), 0, false),
      planToken(token('c', 'x'), 'missing', 0, false),
      planToken(token('d', 'z'), jwt({ exp: 5000 }), 0, false),
      planToken(token('e', 'z'), 'missing', 0, false),
    ];
    const { fresh, due } = splitPlan(candidates);
    assert.deepEqual(
      fresh.map((c) => c.token.name),
      ['b', 'd'],
    );
    assert.deepEqual(
      due.map((c) => c.token.name),
      ['a', 'c', 'e'],
    );
    const work = planAccounts(
      due,
      fresh.map((c) => c.token.account),
    );
    assert.deepEqual(
      work.map(([account, list]) => [account, list.map((c) => c.token.name)]),
      [
        ['x', ['a', 'c']],
        ['z', ['e']],
        ['y', []],
      ],
    );
  });
});
