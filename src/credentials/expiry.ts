/**
 * When a token from a token response expires (epoch seconds): the `exp` of the access token when it is
 * a JWT that says, else now + `expires_in` (RFC 6749 section 5.1), else unknown. Pure.
 */
export function expiryOf(
  response: { expiresIn?: number | undefined },
  claims: { exp?: number | undefined } | undefined,
  now: number,
): number | undefined {
  return claims?.exp ?? (response.expiresIn === undefined ? undefined : now + response.expiresIn);
}
