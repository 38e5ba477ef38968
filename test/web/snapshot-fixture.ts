/**
 * A status snapshot with every credential state, several tokens per state, names that need escaping
 * and an issuer error text carrying a JWT-shaped string, as the status page, metrics and browser tests
 * see it.
 */
import type { CredentialRow, GroupStatus, StatusSnapshot } from '../../src/web/status-model.js';
import { computeWarnings } from '../../src/web/warnings.js';

export const NOW = 1_780_000_000;
/** JWT-shaped text that an issuer quoted back in an error; the page must never show it. */
export const PLANTED_JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyb2JvdCIsImV4cCI6MTc4MDAwMzYwMH0.c2lnbmF0dXJlLXBsYW50ZWQ';
export const HOSTILE_ID = `<script>alert("x")</script> & 'q'`;
export const HOSTILE_GROUP = `ops<b>"&amp;"</b>`;

export function fixtureSnapshot(now = NOW): StatusSnapshot {
  const groups: GroupStatus[] = [
    {
      name: 'cms',
      kind: 'refresh',
      issuer: 'https://cms-auth.example.org/',
      refreshTokenIssuedAt: now - 12 * 86_400,
      refreshTokenExpiresAt: now + 3 * 86_400,
    },
    {
      name: 'atlas',
      kind: 'refresh',
      issuer: 'https://atlas-auth.example.org/',
      refreshTokenIssuedAt: now - 2 * 86_400,
      issuerFailingSince: now - 5400,
    },
    {
      name: 'dune',
      kind: 'refresh',
      issuer: 'https://dune.example.org/',
      problem: {
        code: 'NEEDS_LOGIN',
        message: 'issuer answered invalid_grant (token revoked)',
        hint: 'run: tokenwarden setup dune',
      },
    },
    { name: HOSTILE_GROUP, kind: 'client_credentials', issuer: 'https://robot.example.org/' },
  ];
  const rows: CredentialRow[] = [
    ok('cms-ce', 'cms', now, 1800, 3600),
    ok('cms-xrootd', 'cms', now, 3300, 3600),
    ok('cms-low', 'cms', now, 200, 3600),
    {
      id: 'cms-renewing',
      group: 'cms',
      path: '/etc/tokens/cms-renewing',
      state: 'renewing',
      issuedAt: now - 2800,
      expiresAt: now + 800,
      lastRenewal: now - 2800,
      nextRenewalAt: now,
    },
    {
      id: 'atlas-ce',
      group: 'atlas',
      path: '/etc/tokens/atlas-ce',
      state: 'failing',
      issuedAt: now - 3000,
      expiresAt: now + 600,
      lastRenewal: now - 3000,
      nextRenewalAt: now + 120,
      failingSince: now - 5400,
      failures: 7,
      lastError: {
        code: 'NETWORK',
        message: `issuer did not answer: connect ECONNREFUSED; it said ${PLANTED_JWT}`,
        hint: 'check the network <and> DNS',
      },
    },
    {
      id: 'atlas-disk',
      group: 'atlas',
      path: '/etc/tokens/atlas-disk',
      state: 'failing',
      issuedAt: now - 1000,
      expiresAt: now + 2600,
      lastRenewal: now - 1000,
      nextRenewalAt: now + 60,
      failingSince: now - 300,
      failures: 1,
      lastError: { code: 'TIMEOUT', message: 'issuer did not answer within 30 s' },
    },
    {
      id: 'atlas-new',
      group: 'atlas',
      path: '/etc/tokens/atlas-new',
      state: 'missing',
      nextRenewalAt: now + 30,
    },
    {
      id: 'dune-ce',
      group: 'dune',
      path: '/etc/tokens/dune-ce',
      state: 'needs-login',
      issuedAt: now - 4000,
      expiresAt: now - 400,
      lastRenewal: now - 4000,
      failingSince: now - 700,
      lastError: { code: 'NEEDS_LOGIN', message: 'issuer answered invalid_grant (token revoked)' },
    },
    {
      id: 'dune-disk',
      group: 'dune',
      path: '/etc/tokens/dune-disk',
      state: 'needs-login',
      issuedAt: now - 3000,
      expiresAt: now + 600,
      lastRenewal: now - 3000,
      failingSince: now - 700,
    },
    {
      id: HOSTILE_ID,
      group: HOSTILE_GROUP,
      path: '/etc/tokens/"weird" & <odd>',
      state: 'ok',
      issuedAt: now - 100,
      expiresAt: now + 1100,
      lastRenewal: now - 100,
      nextRenewalAt: now + 800,
    },
    {
      id: 'robot-broken',
      group: HOSTILE_GROUP,
      state: 'broken',
      lastError: {
        code: 'CONFIG_INVALID',
        message:
          '/etc/tokenwarden/config.ini line 40: Config for [token robot-broken]: token_path is not absolute',
      },
    },
  ];
  const partial = {
    service: 'daemon' as const,
    generatedAt: now,
    startedAt: now - 86_400,
    configFile: '/etc/tokenwarden/config.ini',
    configLoadedAt: now - 3600,
    configError: {
      code: 'CONFIG_INVALID',
      message: '/etc/tokenwarden/config.ini line 12: Config for [account cms]: unknown option pasword_file',
      hint: 'fix it and send SIGHUP again',
    },
    rows,
    groups,
  };
  return { ...partial, warnings: computeWarnings(partial, now) };
}

function ok(id: string, group: string, now: number, left: number, lifetime: number): CredentialRow {
  const issuedAt = now + left - lifetime;
  return {
    id,
    group,
    path: `/etc/tokens/${id}`,
    state: 'ok',
    issuedAt,
    expiresAt: issuedAt + lifetime,
    lastRenewal: issuedAt,
    nextRenewalAt: issuedAt + lifetime - 900,
  };
}
