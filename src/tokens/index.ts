export { audienceOf, type DecodedToken, decodeToken, scopeOf, splitList } from './decode.js';
export {
  type DiscoveredToken,
  type DiscoverySource,
  type DiscoveryStep,
  defaultBearerTokenPath,
  discoverBearerToken,
  discoverySteps,
  stripC99Whitespace,
} from './discovery.js';
export { formatDuration, nowSeconds, secondsLeft, type TimeClaims, totalLifetime } from './lifetime.js';
