/** The web app reads client secrets as the credmon's providers do: one reader, in `credmon/`. */
export { readClientSecretFile } from '../client-secret.js';
