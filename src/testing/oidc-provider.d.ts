// The part of oidc-provider v9 (which ships no type declarations) that the test issuer uses. Only what
// src/testing touches is declared, and only as precisely as that code needs.
declare module 'oidc-provider' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type Configuration = Record<string, unknown>;

  /** Storage contract of oidc-provider: one instance per model name ("Grant", "RefreshToken", ...). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface AdapterPayload {
    [key: string]: unknown;
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: number;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface ClientInstance {
    readonly clientId: string;
    readonly clientAuthMethod: string;
    readonly scope?: string;
    metadata(): Record<string, unknown>;
  }

  export interface ClientModel {
    new (metadata: Record<string, unknown>): ClientInstance;
    find(id: string): Promise<ClientInstance | undefined>;
    readonly adapter: Adapter;
  }

  export interface GrantInstance {
    accountId?: string;
    clientId?: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantModel {
    new (properties: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }

  export interface DeviceCodeInstance {
    clientId: string;
    params: Record<string, unknown>;
    accountId?: string;
    grantId?: string;
    scope?: string;
    resource?: string | string[];
    authTime?: number;
    error?: string;
    errorDescription?: string;
    readonly isExpired: boolean;
    save(): Promise<string>;
  }

  export interface DeviceCodeModel {
    findByUserCode(
      userCode: string,
      options?: { ignoreExpiration?: boolean },
    ): Promise<DeviceCodeInstance | undefined>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string } };
  }

  export interface ResourceServerInstance {
    readonly scope: string;
  }

  export interface AccessTokenInstance {
    accountId?: string;
    scope?: string;
    gty?: string;
    extra?: Record<string, unknown>;
    resourceServer?: ResourceServerInstance;
    readonly expiration: number;
    readonly tokenType: string;
    save(): Promise<string>;
  }

  export interface AccessTokenModel {
    new (properties: {
      accountId?: string;
      client: ClientInstance;
      gty?: string;
      scope?: string;
      extra?: Record<string, unknown>;
    }): AccessTokenInstance;
  }

  /** The structured token handed to formats.customizers.jwt. */
  export interface JwtStructuredToken {
    header?: Record<string, unknown>;
    payload: Record<string, unknown>;
  }

  /** A token model instance as seen by formats.customizers.jwt. */
  export interface IssuedToken {
    readonly kind: string;
    accountId?: string;
    gty?: string;
    scope?: string;
  }

  export interface Interaction {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string; uid?: string };
    grantId?: string;
    lastSubmission?: Record<string, unknown>;
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean };
    consent?: { grantId: string };
    error?: string;
    error_description?: string;
  }

  export interface OIDCContext {
    readonly route?: string;
    readonly client?: ClientInstance;
    readonly params?: Record<string, unknown>;
    readonly body?: Record<string, unknown>;
    readonly entities: Record<string, unknown>;
    readonly requestParamScopes: Set<string>;
  }

  /** The koa context oidc-provider passes to middleware, hooks and grant handlers. */
  export interface KoaContextWithOIDC {
    readonly oidc: OIDCContext;
    readonly path: string;
    readonly method: string;
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    status: number;
    body: unknown;
    type: string;
  }

  export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Client: ClientModel;
    readonly Grant: GrantModel;
    readonly DeviceCode: DeviceCodeModel;
    readonly AccessToken: AccessTokenModel;
    readonly ResourceServer: new (
      identifier: string,
      info: ResourceServerInfo,
    ) => ResourceServerInstance;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: Middleware): this;
    registerGrantType(
      name: string,
      handler: (ctx: KoaContextWithOIDC) => Promise<void>,
      parameters?: Iterable<string>,
      allowedDuplicateParameters?: Iterable<string>,
    ): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResults): Promise<string>;
  }

  export class OIDCProviderError extends Error {
    constructor(status: number, message: string);
    error: string;
    error_description?: string;
    expose: boolean;
    statusCode: number;
  }

  type ErrorClass = new (description?: string, ...rest: unknown[]) => OIDCProviderError;

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidClient: ErrorClass;
    InvalidClientMetadata: ErrorClass;
    InvalidGrant: ErrorClass;
    InvalidRequest: ErrorClass;
    InvalidScope: ErrorClass;
    InvalidTarget: ErrorClass;
  };

  export default Provider;
}
