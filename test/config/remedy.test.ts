import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRemedy } from '../../src/config/index.js';

describe('formatRemedy', () => {
  it('words a remedy as the command line to run', () => {
    assert.equal(
      formatRemedy({ command: 'setup', account: 'vo', config: '/etc/tw.ini' }),
      'tokenwarden setup vo --config /etc/tw.ini',
    );
    assert.equal(
      formatRemedy({ command: 'setup', account: 'vo', flags: ['--force'], config: '/etc/tw.ini' }),
      'tokenwarden setup vo --force --config /etc/tw.ini',
    );
    assert.equal(
      formatRemedy({ command: 'setup', account: 'vo', config: undefined, issuer: 'https://iam.example' }),
      'tokenwarden setup vo --issuer https://iam.example',
    );
    assert.equal(
      formatRemedy({ command: 'migrate osg-token-renewer' }),
      'tokenwarden migrate osg-token-renewer',
    );
  });
});
