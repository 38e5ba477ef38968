import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

/**
 * docs/architecture.md section 1, enforced: dependency-cruiser walks every import under src/ (type-only
 * imports included) against the rules in .dependency-cruiser.cjs at the repository's root.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = join(root, 'test', 'architecture', 'fixture');

interface Config {
  forbidden: IForbiddenRuleType[];
  options: Record<string, unknown>;
}

async function cruiseSrc(baseDir: string): Promise<ICruiseResult> {
  const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as Config;
  const tsConfigFile = join(root, 'tsconfig.json');
  const result = await cruise(
    ['src'],
    {
      ...config.options,
      baseDir,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      tsConfig: { fileName: tsConfigFile },
    },
    undefined,
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  return result.output as ICruiseResult;
}

/** `rule: from → to` (and the cycle), one line each, so a failure says exactly which import to fix. */
function describeViolation(v: IViolation): string {
  const cycle = v.cycle ? ` (cycle: ${[v.from, ...v.cycle.map((m) => m.name)].join(' → ')})` : '';
  return `${v.rule.name}: ${v.from} → ${v.to}${cycle}`;
}

describe('the layering of src/', () => {
  it('has no import against the rules of .dependency-cruiser.cjs', async () => {
    const result = await cruiseSrc(root);
    assert.ok(result.summary.totalCruised > 100, `only ${result.summary.totalCruised} modules were read`);
    const violations = result.summary.violations.map(describeViolation);
    assert.deepEqual(
      violations,
      [],
      `imports against docs/architecture.md section 1:\n  ${violations.join('\n  ')}\n` +
        'Move what two layers need down a layer instead of importing upward or sideways.',
    );
  });

  it('catches each kind of violation (a made-up src/ with one of each)', async () => {
    const result = await cruiseSrc(fixture);
    const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    assert.deepEqual(violations, [
      'core-stays-core: src/errors.ts → src/renewal/plan.ts',
      'core-stays-core: src/store/adapter.ts → src/web/server.ts',
      'core-stays-core: src/tokens/use.ts → src/testing/issuer.ts',
      'features-apart: src/agent/server.ts → src/renewal/plan.ts',
      'features-apart: src/agent/token-service.ts → src/renewal/index.ts',
      'features-apart: src/agent/token-service.ts → src/setup/create.ts',
      'no-commands-below: src/log/log.ts → src/cli/run.ts',
      'no-cycles: src/files/one.ts → src/files/two.ts',
      'shared-runtime-below-features: src/log/log.ts → src/cli/run.ts',
      'testing-apart: src/tokens/use.ts → src/testing/issuer.ts',
      'testing-self-contained: src/testing/issuer.ts → src/secret.ts',
    ]);
    // Let through, as the config says: the cycle of cli/demo.ts with cli/program.ts alone.
    assert.ok(!violations.some((v) => v.includes('src/cli/demo.ts')));
  });
});
