import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A configuration laid out as an HTCondor package installs it: /etc/condor/condor_config (the stock
 * file: paths, LOCAL_CONFIG_FILE, LOCAL_CONFIG_DIR = config.d, a security template) and config.d with a
 * site's files, among them a 40-oauth-credmon.conf as HTCondor's examples/config/condor one with the
 * local issuer turned on. `root` stands for /; the returned paths are real files under it.
 */
export async function stockCondorConfig(root: string, extra: Record<string, string> = {}) {
  const etc = join(root, 'etc', 'condor');
  const configD = join(etc, 'config.d');
  await mkdir(configD, { recursive: true });
  const condorConfig = join(etc, 'condor_config');
  await writeFile(
    condorConfig,
    `######################################################################
##  condor_config: the global configuration file, as installed by the package.
##  Local changes go into $(LOCAL_CONFIG_DIR) or $(LOCAL_CONFIG_FILE).
######################################################################

##  Where have you installed the bin, sbin and lib directories?
RELEASE_DIR = /usr

##  Where is the local condor directory for each host?
LOCAL_DIR = /var

##  Where is the machine-specific local config file for each host?
LOCAL_CONFIG_FILE = ${etc}/condor_config.local
##  If your local config file is not present, is it an error?
REQUIRE_LOCAL_CONFIG_FILE = false

##  The directory where the package and the site put configuration snippets.
LOCAL_CONFIG_DIR = ${configD}

## Use a host-based security policy by default.
use SECURITY : HOST_BASED
## To expand your condor pool beyond a single host, set ALLOW_WRITE to match all of the hosts
#ALLOW_WRITE = *.cs.wisc.edu

##--------------------------------------------------------------------
## Values set by the package
##--------------------------------------------------------------------
RUN     = $(LOCAL_DIR)/run/condor
LOG     = $(LOCAL_DIR)/log/condor
LOCK    = $(LOCAL_DIR)/lock/condor
SPOOL   = $(LOCAL_DIR)/lib/condor/spool
EXECUTE = $(LOCAL_DIR)/lib/condor/execute
BIN     = $(RELEASE_DIR)/bin
LIB     = $(RELEASE_DIR)/lib64/condor
INCLUDE = $(RELEASE_DIR)/include/condor
SBIN    = $(RELEASE_DIR)/sbin
LIBEXEC = $(RELEASE_DIR)/libexec/condor
SHARE   = $(RELEASE_DIR)/share/condor
PROCD_ADDRESS = $(RUN)/procd_pipe
JAVA_CLASSPATH_DEFAULT = $(SHARE) .
SSH_TO_JOB_SSHD_CONFIG_TEMPLATE =  /etc/condor/condor_ssh_to_job_sshd_config_template
`,
  );
  const files: Record<string, string> = {
    '00-htcondor-9.0.config': `# Settings for a new pool, as the package ships them.
use security:recommended_v9_0
ALLOW_ADMINISTRATOR = $(CONDOR_HOST) $(FULL_HOSTNAME)
`,
    '01-central-manager.config': 'use role : get_htcondor_central_manager\n',
    '40-oauth-credmon.conf': `#####################################################################################
# Setting up the credmon: the MANDATORY line
use feature : OAUTH

# The local issuer: submitters always get a scitokens credential.
LOCAL_CREDMON_PROVIDER_NAMES = scitokens

# The audience of locally issued tokens (mandatory for scitoken:2.0 tokens).
LOCAL_CREDMON_TOKEN_AUDIENCE = https://example.com https://anotherserver.edu

# SEC_DEFAULT_ENCRYPTION = REQUIRED
# LOCAL_CREDMON_PRIVATE_KEY = /etc/condor/scitokens-private.pem
# LOCAL_CREDMON_ISSUER = https://$(FULL_HOSTNAME)
# LOCAL_CREDMON_KEY_ID = local
# LOCAL_CREDMON_TOKEN_LIFETIME = 1200
# LOCAL_CREDMON_AUTHZ_TEMPLATE = read:/user/{username} write:/user/{username}
# LOCAL_CREDMON_TOKEN_USE_JSON = true
# LOCAL_CREDMON_TOKEN_VERSION = scitoken:2.0
# CREDMON_OAUTH_LOG = $(LOG)/CredMonOAuthLog
`,
    '40-oauth-tokens.conf': `# An OAuth2 token provider users log in to through the credmon's web app.
BOX_CLIENT_ID = credmon-box
BOX_CLIENT_SECRET_FILE = /etc/condor/.secrets/box
BOX_RETURN_URL_SUFFIX = /return/box
BOX_AUTHORIZATION_URL = https://account.box.com/api/oauth2/authorize
BOX_TOKEN_URL = https://api.box.com/oauth2/token
BOX_USER_URL = https://api.box.com/2.0/users/me
`,
    '99-local.conf.rpmsave': 'SEC_CREDENTIAL_DIRECTORY_OAUTH = /old/and/ignored\n',
    '50-editor-backup.conf~': 'SEC_CREDENTIAL_DIRECTORY_OAUTH = /also/ignored\n',
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(configD, name), text);
  return { etc, configD, condorConfig };
}
