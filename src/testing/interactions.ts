import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction, InteractionResults, Provider } from 'oidc-provider';
import { consentedScopes, grantScopes } from './consent.js';
import { readBody } from './http-body.js';
import { errorPage, signInPage } from './pages.js';

/**
 * The interaction pages oidc-provider sends the user agent to (its `interactions.url`), for the
 * authorization code flow and the device flow's browser part: sign in as any user name and consent to
 * everything asked, in one form. With `autoApprove` the page is skipped: the interaction completes at once
 * for that account.
 */
export const INTERACTION_PATH = '/interaction/';

const DEFAULT_USER = 'alice';

export function createInteractionHandler(provider: Provider, autoApprove: string | undefined) {
  async function approve(interaction: Interaction, accountId: string): Promise<InteractionResults> {
    const returning = interaction.session?.accountId === accountId;
    const clientId = String(interaction.params.client_id);
    const existing =
      returning && interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
    const grantId = await grantScopes(
      provider,
      accountId,
      clientId,
      consentedScopes(interaction.params.scope),
      existing,
    );
    return returning ? { consent: { grantId } } : { login: { accountId }, consent: { grantId } };
  }

  async function finish(
    req: IncomingMessage,
    res: ServerResponse,
    result: InteractionResults,
  ): Promise<void> {
    const returnTo = await provider.interactionResult(req, res, result);
    res.writeHead(303, { location: returnTo, 'content-length': '0' });
    res.end();
  }

  async function show(res: ServerResponse, interaction: Interaction): Promise<void> {
    const client = await provider.Client.find(String(interaction.params.client_id));
    const metadata = client?.metadata() ?? {};
    const html = signInPage({
      action: `${INTERACTION_PATH}${interaction.uid}`,
      clientName: String(metadata.client_name ?? client?.clientId ?? 'unknown client'),
      scopes: consentedScopes(interaction.params.scope),
      defaultUser: DEFAULT_USER,
    });
    sendHtml(res, 200, html);
  }

  async function submit(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    if (form.get('decision') !== 'approve') {
      await finish(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' });
      return;
    }
    const user = form.get('username')?.trim() || DEFAULT_USER;
    await finish(req, res, await approve(interaction, user));
  }

  /** Handles GET and POST /interaction/<uid>. */
  return async function handleInteraction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch (err) {
      // No interaction cookie, or the interaction expired: oidc-provider's SessionNotFound.
      const e = err as { error?: string; error_description?: string };
      sendHtml(
        res,
        400,
        errorPage(e.error ?? 'invalid_request', e.error_description ?? 'interaction not found'),
      );
      return;
    }
    if (autoApprove !== undefined) await finish(req, res, await approve(interaction, autoApprove));
    else if (req.method === 'POST') await submit(req, res, interaction);
    else await show(res, interaction);
  };
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}
