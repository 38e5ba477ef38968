import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact as cliRedact } from '../src/cli/redact.js';
import { redact } from '../src/redact.js';

describe('redact', () => {
  it('replaces every JWT-shaped run and leaves other text alone; the CLI uses the same filter', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    assert.equal(redact(`a ${jwt} b ${jwt}.`), 'a [REDACTED-JWT] b [REDACTED-JWT].');
    assert.equal(redact('eyJ short.x.y and plain text'), 'eyJ short.x.y and plain text');
    assert.equal(cliRedact, redact);
  });
});
