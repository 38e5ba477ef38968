import { TokenwardenError } from '../errors.js';
import { type Command, stringOpt } from './command.js';

/** HTCondor's default local provider name (`LOCAL_CREDMON_PROVIDER_NAME`). */
const DEFAULT_PROVIDER = 'scitokens';
/** A credential name as the CredD accepts it: a provider, then optionally `_<handle>`. */
const PROVIDER = /^[A-Za-z0-9-]+(_[A-Za-z0-9+=_.-]+)?$/;

export const command: Command = {
  name: 'credential-producer',
  summary: "Print the credential request HTCondor's SEC_CREDENTIAL_PRODUCER runs at condor_submit.",
  usage: 'credential-producer [--provider NAME]',
  details: `condor_submit runs SEC_CREDENTIAL_PRODUCER (no arguments, 20 s at most) and sends what it prints
to the CredD; empty output is an error. This prints "LOCAL:<provider>" (no newline): from that the CredD
stores no Kerberos credential but creates <user>/<provider>.top in SEC_CREDENTIAL_DIRECTORY_OAUTH, and the
credential monitor (tokenwarden credmon, or HTCondor's local credmon) then mints <provider>.use for the
user's jobs. Nothing secret is printed or needed: the .top only has to exist.

HTCondor runs the knob's value as one program path, with no arguments, so point it at a small
executable script on the access point, e.g. /usr/local/libexec/tokenwarden-credential-producer:
    #!/bin/sh
    exec /usr/bin/tokenwarden credential-producer --provider scitokens
and set
    SEC_CREDENTIAL_PRODUCER = /usr/local/libexec/tokenwarden-credential-producer`,
  options: {
    provider: {
      type: 'string',
      valueName: 'NAME',
      description: `the local provider whose .top the CredD creates (default ${DEFAULT_PROVIDER})`,
    },
  },
  async run(args, io) {
    const provider = stringOpt(args, 'provider') ?? DEFAULT_PROVIDER;
    if (!PROVIDER.test(provider) || provider.length > 128)
      throw new TokenwardenError(
        'USAGE',
        `--provider ${JSON.stringify(provider.slice(0, 130))} is not a credential name: letters, digits and - (then optionally _HANDLE)`,
      );
    // No trailing newline: the CredD takes every byte after "LOCAL:" as the service name.
    io.out(`LOCAL:${provider}`);
    return {};
  },
};
