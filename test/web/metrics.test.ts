import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../src/web/metrics.js';
import { CREDENTIAL_STATES } from '../../src/web/status-model.js';
import { fixtureSnapshot, HOSTILE_GROUP, HOSTILE_ID, NOW } from './snapshot-fixture.js';

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const f = families.find((x) => x.name === name);
  assert.ok(f, `${name} is exposed`);
  return f;
}

/** Label set (as `k=v,...`, sorted) to numeric value. */
function values(f: ParsedFamily): Map<string, number> {
  return new Map(
    f.metrics.map((m) => [
      Object.entries(m.labels ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      Number(m.value),
    ]),
  );
}

describe('createMetrics', () => {
  it('exposes the snapshot of every state, as a real Prometheus parser reads it', async () => {
    const snapshot = fixtureSnapshot();
    const metrics = createMetrics();
    metrics.setSource(() => snapshot);
    const text = await metrics.render();
    assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusTextFormat(text);

    const byState = values(family(families, 'tokenwarden_credentials'));
    assert.equal(byState.size, CREDENTIAL_STATES.length, 'every state, zeros included');
    for (const state of CREDENTIAL_STATES) {
      assert.equal(
        byState.get(`state=${state}`),
        snapshot.rows.filter((r) => r.state === state).length,
        state,
      );
    }
    assert.equal(family(families, 'tokenwarden_credentials').type, 'GAUGE');

    const expiry = values(family(families, 'tokenwarden_credential_expiry_seconds'));
    const withToken = snapshot.rows.filter((r) => r.expiresAt !== undefined);
    assert.equal(expiry.size, withToken.length);
    for (const r of withToken)
      assert.equal(expiry.get(`group=${r.group},id=${r.id}`), (r.expiresAt as number) - NOW, r.id);
    assert.equal(expiry.get('group=dune,id=dune-ce'), -400, 'expired: negative');
    assert.ok(
      expiry.has(`group=${HOSTILE_GROUP},id=${HOSTILE_ID}`),
      'label values escaped and read back whole',
    );

    const next = values(family(families, 'tokenwarden_credential_next_renewal_timestamp_seconds'));
    const scheduled = snapshot.rows.filter((r) => r.nextRenewalAt !== undefined);
    assert.equal(next.size, scheduled.length);
    for (const r of scheduled) assert.equal(next.get(`group=${r.group},id=${r.id}`), r.nextRenewalAt, r.id);

    const age = values(family(families, 'tokenwarden_group_refresh_token_age_seconds'));
    assert.deepEqual(
      [...age],
      [
        ['group=cms', 12 * 86_400],
        ['group=atlas', 2 * 86_400],
      ],
    );
    assert.deepEqual(
      [...values(family(families, 'tokenwarden_warnings'))],
      [
        ['kind=needs-login', 1],
        ['kind=issuer-outage', 1],
        ['kind=refresh-token-expiring', 1],
      ],
    );
    assert.deepEqual([...values(family(families, 'tokenwarden_up'))], [['', 1]]);
    assert.deepEqual([...values(family(families, 'tokenwarden_ready'))], [['', 1]]);
    assert.deepEqual([...values(family(families, 'tokenwarden_config_reload_failed'))], [['', 1]]);
    assert.deepEqual(
      [...values(family(families, 'tokenwarden_config_loaded_timestamp_seconds'))],
      [['', NOW - 3600]],
    );
    assert.deepEqual([...values(family(families, 'tokenwarden_start_time_seconds'))], [['', NOW - 86_400]]);
    // The registry's own text carries the same series (for a server that serves `registry.metrics()`).
    assert.equal(await metrics.registry.metrics(), text);
  });

  it('reads the source at each scrape', async () => {
    let snapshot = fixtureSnapshot();
    const metrics = createMetrics({ prefix: 'tw_' });
    metrics.setSource(() => snapshot);
    await metrics.render();
    snapshot = {
      ...snapshot,
      rows: snapshot.rows.map((r) => ({ ...r, state: 'ok' as const })),
      configError: undefined,
    };
    const families = parsePrometheusTextFormat(await metrics.render());
    assert.equal(values(family(families, 'tw_credentials')).get('state=ok'), snapshot.rows.length);
    assert.equal(values(family(families, 'tw_credentials')).get('state=failing'), 0);
    assert.equal(values(family(families, 'tw_config_reload_failed')).get(''), 0);
  });

  it('without a source: up, not ready, states all zero', async () => {
    const families = parsePrometheusTextFormat(await createMetrics().render());
    assert.equal(values(family(families, 'tokenwarden_up')).get(''), 1);
    assert.equal(values(family(families, 'tokenwarden_ready')).get(''), 0);
    assert.ok([...values(family(families, 'tokenwarden_credentials')).values()].every((v) => v === 0));
  });

  it('counts renewals and failures by group and reason (codes only), and issuer latency by issuer', async () => {
    const metrics = createMetrics();
    metrics.observeRenewal('cms', 'renewed');
    metrics.observeRenewal('cms', 'renewed');
    metrics.observeRenewal('cms', 'failed', 'NETWORK');
    metrics.observeRenewal('atlas', 'failed', 'issuer said: eyJ.secret text');
    metrics.observeRenewal('atlas', 'failed');
    metrics.observeIssuerRequest('https://user:pw@iam.example.org/realms/x?key=s3cret', 0.2, 'ok');
    metrics.observeIssuerRequest('https://iam.example.org/realms/x', 3, 'timeout');
    metrics.observeIssuerRequest('https://iam.example.org/realms/x', 0.01, 'Weird Outcome!');
    const text = await metrics.render();
    assert.doesNotMatch(text, /s3cret|pw@|eyJ|Weird/);
    const families = parsePrometheusTextFormat(text);
    assert.deepEqual(
      [...values(family(families, 'tokenwarden_renewals_total'))],
      [
        ['group=cms,result=renewed', 2],
        ['group=cms,result=failed', 1],
        ['group=atlas,result=failed', 2],
      ],
    );
    assert.deepEqual(
      [...values(family(families, 'tokenwarden_renewal_failures_total'))],
      [
        ['group=cms,reason=NETWORK', 1],
        ['group=atlas,reason=OTHER', 2],
      ],
    );
    const latency = family(families, 'tokenwarden_issuer_request_duration_seconds');
    assert.equal(latency.type, 'HISTOGRAM');
    // This parser folds a labelled histogram's series into one (it knows only unlabelled ones), so the
    // series are read from prom-client's structured form instead.
    const json = await metrics.registry.getMetricsAsJSON();
    const series = json.find((m) => m.name === 'tokenwarden_issuer_request_duration_seconds')?.values ?? [];
    const value = (metricName: string, labels: Record<string, string | number>) =>
      series.find(
        (v) =>
          (v as { metricName?: string }).metricName === metricName &&
          Object.entries(labels).every(([k, x]) => v.labels[k] === x),
      )?.value;
    const issuer = 'https://iam.example.org/realms/x';
    const bucket = 'tokenwarden_issuer_request_duration_seconds_bucket';
    assert.equal(value('tokenwarden_issuer_request_duration_seconds_count', { issuer, outcome: 'ok' }), 1);
    assert.equal(value(bucket, { issuer, outcome: 'ok', le: 0.1 }), 0);
    assert.equal(value(bucket, { issuer, outcome: 'ok', le: 0.25 }), 1);
    assert.equal(value(bucket, { issuer, outcome: 'timeout', le: 2.5 }), 0);
    assert.equal(value(bucket, { issuer, outcome: 'timeout', le: 5 }), 1);
    assert.equal(value('tokenwarden_issuer_request_duration_seconds_count', { issuer, outcome: 'other' }), 1);
    assert.ok(
      series.every((v) => v.labels.issuer === issuer),
      'no credentials or query in the label',
    );
  });

  it('uses a registry of its own, never the global one', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observeRenewal('only-a', 'renewed');
    assert.doesNotMatch(await b.render(), /only-a/);
    assert.doesNotMatch(await globalRegistry.metrics(), /tokenwarden_/);
  });
});
