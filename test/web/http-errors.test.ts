import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError, TokenwardenError } from '../../src/errors.js';
import { escapeHtml, httpErrorBody, prefersHtml, renderErrorPage, toHttpError } from '../../src/web/index.js';

describe('toHttpError', () => {
  it('keeps a TokenwardenError code and message, with the status of the table', () => {
    assert.deepEqual(toHttpError(new TokenwardenError('STORE_NOT_FOUND', 'no credential for vo')), {
      status: 404,
      code: 'STORE_NOT_FOUND',
      message: 'no credential for vo',
    });
    const oauth = new OAuthError('invalid_grant', 'token revoked', 400);
    assert.deepEqual(toHttpError(oauth), {
      status: 409,
      code: 'NEEDS_LOGIN',
      message: 'issuer answered invalid_grant (token revoked)',
    });
  });

  it('passes on the remedy of an error as data, in the JSON body too', () => {
    const remedy = { command: 'setup', account: 'vo', config: '/c.ini' } as const;
    const error = toHttpError(
      new TokenwardenError('NEEDS_LOGIN', 'account vo needs a new login', { remedy }),
    );
    assert.deepEqual(error, {
      status: 409,
      code: 'NEEDS_LOGIN',
      message: 'account vo needs a new login',
      remedy,
    });
    assert.deepEqual(httpErrorBody(error), {
      error: { code: 'NEEDS_LOGIN', message: 'account vo needs a new login', remedy },
    });
    assert.deepEqual(httpErrorBody(toHttpError(new TokenwardenError('NETWORK', 'down'))), {
      error: { code: 'NETWORK', message: 'down' },
    });
  });

  it('never passes on the text of a bug, or of an INTERNAL error', () => {
    const internal = { status: 500, code: 'INTERNAL', message: 'internal error' };
    assert.deepEqual(toHttpError(new TypeError('x.y is undefined; secret=abc')), internal);
    assert.deepEqual(toHttpError(new TokenwardenError('INTERNAL', 'assertion failed at line 3')), internal);
    assert.deepEqual(toHttpError('a string'), internal);
    assert.deepEqual(toHttpError(undefined), internal);
  });

  it("gives Fastify's refusals fixed words, since its own may quote the request", () => {
    const json = Object.assign(new SyntaxError('Unexpected token o in JSON: {"refresh_token": "abc" o'), {
      statusCode: 400,
    });
    assert.deepEqual(toHttpError(json), {
      status: 400,
      code: 'BAD_REQUEST',
      message: 'the request is malformed',
    });
    assert.equal(toHttpError({ statusCode: 405 }).code, 'METHOD_NOT_ALLOWED');
    assert.equal(toHttpError({ code: 'FST_ERR_HANDLER_TIMEOUT', statusCode: 503 }).code, 'DEADLINE');
  });
});

describe('the error page', () => {
  it('goes to browsers only', () => {
    assert.equal(prefersHtml('text/html,application/xhtml+xml,*/*;q=0.8'), true);
    assert.equal(prefersHtml('application/json, text/html'), false);
    assert.equal(prefersHtml('*/*'), false);
    assert.equal(prefersHtml(undefined), false);
  });

  it('escapes every text', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const page = renderErrorPage({
      status: 409,
      code: 'NEEDS_LOGIN',
      message: 'account <b>vo</b> needs a login',
    });
    assert.match(page, /<title>409 Conflict · tokenwarden<\/title>/);
    assert.match(page, /<p>account &lt;b&gt;vo&lt;\/b&gt; needs a login<\/p>/);
    assert.doesNotMatch(page, /<script|<link|src=/);
  });
});
