import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOidcAgentIpcSession, loadSodium } from '../../../src/agent/oidc-agent/index.js';

describe('OidcAgentIpcSession (no socket)', () => {
  it('runs the key exchange and request byte by byte, and encrypts the reply', async () => {
    const sodium = await loadSodium();
    const session = createOidcAgentIpcSession(sodium);
    const client = sodium.crypto_kx_keypair();
    const hello = Buffer.from(Buffer.from(client.publicKey).toString('base64'));
    for (let i = 0; i < hello.length - 1; i++) {
      assert.deepEqual(session.receive(hello.subarray(i, i + 1)), { type: 'wait' });
    }
    const step = session.receive(hello.subarray(hello.length - 1));
    assert.equal(step.type, 'write');
    assert.equal(session.state, 'request');
    const serverPk = Buffer.from(step.type === 'write' ? step.data : '', 'base64');
    const key = sodium.crypto_box_beforenm(serverPk, client.privateKey);

    const body = Buffer.from(JSON.stringify({ request: 'access_token', account: 'ä' }));
    const nonce = sodium.randombytes_buf(24);
    const cipher = sodium.crypto_secretbox_easy(body, nonce, key);
    const msg = Buffer.from(
      `${body.length}:${Buffer.from(nonce).toString('base64')}:${Buffer.from(cipher).toString('base64')}`,
    );
    assert.deepEqual(session.receive(msg.subarray(0, 7)), { type: 'wait' });
    assert.deepEqual(session.receive(msg.subarray(7)), {
      type: 'request',
      request: { request: 'access_token', account: 'ä' },
      encrypted: true,
    });
    assert.equal(session.state, 'handling');
    assert.deepEqual(session.receive(Buffer.from('more')), { type: 'wait' });

    const wire = session.encodeReply({ status: 'success', access_token: 'at' });
    assert.equal(session.state, 'done');
    const [len, n, c] = wire.split(':') as [string, string, string];
    const plain = sodium.crypto_secretbox_open_easy(Buffer.from(c, 'base64'), Buffer.from(n, 'base64'), key);
    assert.equal(Number(len), plain.length);
    assert.deepEqual(JSON.parse(Buffer.from(plain).toString()), { status: 'success', access_token: 'at' });
  });

  it('answers a plain JSON request in plain JSON, and rejects bytes over the limit', async () => {
    const sodium = await loadSodium();
    const plain = createOidcAgentIpcSession(sodium);
    const step = plain.receive(Buffer.from(' {"request":"tw_ping"}\n'));
    assert.deepEqual(step, { type: 'request', request: { request: 'tw_ping' }, encrypted: false });
    assert.equal(plain.encodeReply({ status: 'success' }), '{"status":"success"}');

    const small = createOidcAgentIpcSession(sodium, { maxMessageBytes: 10 });
    assert.deepEqual(small.receive(Buffer.from('{"request":')), {
      type: 'reject',
      data: '{"status":"failure","error":"IPC message too large"}',
      reason: 'too-large',
    });
    assert.equal(small.state, 'done');
  });
});
