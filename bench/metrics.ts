/**
 * `/metrics` scrape cost (issue 8): one scrape of a daemon keeping TOKENS tokens in ACCOUNTS accounts
 * (every state present, warnings included), rendered by createMetrics, and the status page of the same
 * snapshot; beside an anchor measured in the same run on the same snapshot: `JSON.stringify` of it (what
 * `/api/status` pays at least). Target: a scrape well under 100 ms at 10,000 tokens.
 */
import { createMetrics } from '../src/web/metrics.js';
import {
  CREDENTIAL_STATES,
  type CredentialRow,
  type GroupStatus,
  type StatusSnapshot,
} from '../src/web/status-model.js';
import { renderStatusPage } from '../src/web/status-page.js';
import { computeWarnings } from '../src/web/warnings.js';
import { median, ms, printRows } from './lib.js';

const TOKENS = Number(process.env.BENCH_METRICS_TOKENS ?? 10_000);
const ACCOUNTS = Number(process.env.BENCH_METRICS_ACCOUNTS ?? 1_000);
const SAMPLES = Number(process.env.BENCH_METRICS_SAMPLES ?? 15);

function snapshotOf(tokens: number, accounts: number, now: number): StatusSnapshot {
  const groups: GroupStatus[] = [];
  for (let a = 0; a < accounts; a++) {
    groups.push({
      name: `account-${a}`,
      kind: a % 10 === 0 ? 'client_credentials' : 'refresh',
      issuer: `https://issuer-${a % 5}.example.org/`,
      ...(a % 10 === 0 ? {} : { refreshTokenIssuedAt: now - 86_400 * (a % 30) }),
      ...(a % 50 === 7 ? { issuerFailingSince: now - 7200 } : {}),
    });
  }
  const rows: CredentialRow[] = [];
  for (let t = 0; t < tokens; t++) {
    const state = CREDENTIAL_STATES[t % 17 === 0 ? t % CREDENTIAL_STATES.length : 0] ?? 'ok';
    const issuedAt = now - (t % 3600);
    rows.push({
      id: `token-${t}`,
      group: `account-${t % accounts}`,
      path: `/var/lib/tokens/token-${t}`,
      state,
      ...(state === 'missing' ? {} : { issuedAt, expiresAt: issuedAt + 3600, lastRenewal: issuedAt }),
      ...(state === 'needs-login' || state === 'broken' ? {} : { nextRenewalAt: issuedAt + 2700 }),
      ...(state === 'failing'
        ? {
            lastError: { code: 'NETWORK', message: 'issuer did not answer' },
            failingSince: now - 600,
            failures: 3,
          }
        : {}),
    });
  }
  const base = {
    service: 'daemon' as const,
    generatedAt: now,
    startedAt: now - 86_400,
    configLoadedAt: now - 3600,
  };
  const partial = { ...base, configFile: '/etc/tokenwarden/config.ini', rows, groups };
  return { ...partial, warnings: computeWarnings(partial, now) };
}

async function time(fn: () => unknown | Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await fn();
    out.push(performance.now() - started);
  }
  return out;
}

const now = Math.floor(Date.now() / 1000);
const snapshot = snapshotOf(TOKENS, ACCOUNTS, now);
const metrics = createMetrics();
metrics.setSource(() => snapshot);
for (let a = 0; a < ACCOUNTS; a++) {
  metrics.observeRenewal(`account-${a}`, 'renewed');
  if (a % 7 === 0) metrics.observeRenewal(`account-${a}`, 'failed', 'NETWORK');
}
for (let i = 0; i < 5; i++)
  metrics.observeIssuerRequest(`https://issuer-${i}.example.org/`, 0.05 * (i + 1), 'ok');

// Warm-up, then interleaved samples so one slow moment of the machine does not decide the ratio.
const text = await metrics.render();
renderStatusPage(snapshot, { now });
JSON.stringify(snapshot);
const scrape: number[] = [];
const page: number[] = [];
const json: number[] = [];
for (let round = 0; round < 3; round++) {
  scrape.push(...(await time(() => metrics.render())));
  page.push(...(await time(() => renderStatusPage(snapshot, { now }))));
  json.push(...(await time(() => JSON.stringify(snapshot))));
}
const anchor = median(json);
console.log(
  `${TOKENS} tokens, ${ACCOUNTS} accounts: /metrics is ${(text.length / 1024).toFixed(0)} KiB, ` +
    `${text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length} series; ` +
    `median of ${scrape.length} samples`,
);
printRows([
  {
    bench: `/metrics scrape, ${TOKENS} tokens`,
    tokenwarden: ms(median(scrape)),
    anchorName: 'JSON.stringify(snapshot)',
    anchor: ms(anchor),
    ratio: `${(median(scrape) / anchor).toFixed(1)}x`,
  },
  {
    bench: `status page, ${TOKENS} tokens`,
    tokenwarden: ms(median(page)),
    anchorName: 'JSON.stringify(snapshot)',
    anchor: ms(anchor),
    ratio: `${(median(page) / anchor).toFixed(1)}x`,
  },
]);
