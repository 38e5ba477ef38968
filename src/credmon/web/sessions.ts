import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The login web app's sessions, kept in the server's memory: the browser holds only a random id signed
 * with the session key (HMAC-SHA256), so the cookie carries no secret and nothing the browser could
 * change; the PKCE verifier, `state` and the key file's user stay here. Bounded in number (the oldest
 * goes first) and in time (idle and absolute limits), with an injected clock.
 */

export const SESSION_COOKIE = 'credmon_session';
/** A session unused this long is forgotten. */
export const SESSION_IDLE_MS = 60 * 60 * 1000;
/** No session outlives the CredD's key file (removed when 12 h old). */
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
/** Most sessions held at once. */
export const MAX_SESSIONS = 10_000;
/** A login left at the provider this long is abandoned: its `state` is refused. */
export const PENDING_LOGIN_MS = 15 * 60 * 1000;

/** A login sent to the provider and not yet back. */
export interface PendingLogin {
  state: string;
  codeVerifier: string;
  redirectUri: string;
  startedAt: number;
}

export interface ProviderState {
  /** The ad's label, `<Provider> <Handle>`. */
  label: string;
  credName: string;
  loggedIn: boolean;
  /** Who the provider says logged in (`sub`), when it said. */
  subject?: string | undefined;
  pending?: PendingLogin | undefined;
  /** Why this provider cannot be logged in to here (its configuration), shown on its card. */
  problem?: string | undefined;
}

export interface Session {
  readonly id: string;
  /** The key file this session came from (64 hex). */
  keyId: string;
  /** The key file's LocalUser: the only directory this session writes. */
  user: string;
  providers: Map<string, ProviderState>;
  createdAt: number;
  lastSeen: number;
}

export interface SessionStore {
  create(fields: Pick<Session, 'keyId' | 'user' | 'providers'>): Session;
  /** The session a cookie value names, when its signature is right and it has not expired. */
  fromCookie(value: string | undefined): Session | undefined;
  /** The cookie value for a session: `<id>.<signature>`. */
  cookieValue(session: Session): string;
  delete(session: Session): void;
  readonly size: number;
}

export function createSessionStore(key: Buffer, clock: () => number): SessionStore {
  const sessions = new Map<string, Session>();
  const sign = (id: string) => createHmac('sha256', key).update(id).digest('base64url');
  const expired = (s: Session, now: number) =>
    now - s.lastSeen > SESSION_IDLE_MS || now - s.createdAt > SESSION_MAX_AGE_MS;
  const sweep = (now: number) => {
    for (const s of sessions.values()) if (expired(s, now)) sessions.delete(s.id);
    // Map order is insertion order: the oldest sessions go first.
    while (sessions.size >= MAX_SESSIONS) {
      const oldest = sessions.keys().next().value as string;
      sessions.delete(oldest);
    }
  };
  return {
    create(fields) {
      const now = clock();
      sweep(now);
      const session: Session = {
        id: randomBytes(32).toString('base64url'),
        ...fields,
        createdAt: now,
        lastSeen: now,
      };
      sessions.set(session.id, session);
      return session;
    },
    fromCookie(value) {
      if (value === undefined || value.length > 200) return undefined;
      const dot = value.indexOf('.');
      if (dot <= 0) return undefined;
      const id = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1));
      const wanted = Buffer.from(sign(id));
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return undefined;
      const session = sessions.get(id);
      const now = clock();
      if (session === undefined) return undefined;
      if (expired(session, now)) {
        sessions.delete(id);
        return undefined;
      }
      session.lastSeen = now;
      return session;
    },
    cookieValue(session) {
      return `${session.id}.${sign(session.id)}`;
    },
    delete(session) {
      sessions.delete(session.id);
    },
    get size() {
      return sessions.size;
    },
  };
}

/** The value of one cookie in a `Cookie` header (RFC 6265 section 5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A `Set-Cookie` value for the session cookie: HttpOnly, SameSite=Lax, Secure over TLS. */
export function sessionCookie(
  value: string,
  opts: { path: string; secure: boolean; maxAgeSeconds?: number },
): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    `Path=${opts.path}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(opts.secure ? ['Secure'] : []),
    ...(opts.maxAgeSeconds === undefined ? [] : [`Max-Age=${opts.maxAgeSeconds}`]),
  ].join('; ');
}
