/**
 * Written by the real oidc-gen 4.2.6 (Debian 12) through the device flow against a throwaway local
 * oidc-provider that no longer exists; encryption password "secret". Kept verbatim as an interop fixture.
 */
export const OIDC_GEN_4_2_6_FILE = `473
R2YFaTPPI7Vr8MWPObZb0yI8ux/0hWUg
SMSNoyC3RL9X6fSTthDKOw==
24:16:16:32:1:2:67108864:2
5q8XOizqTzDMekiaN+Pr7tqp7DSC6yzPZCb29eWm9qEQYkvrLdJm2pFs+OTA0Mv+rVJbNtK36osqEyc43iH7o2bMKgWmZnBsflWUyGD7ASruJOWX65xWnghwr1fvXCG8bZmj3plNCTILG0j0W50ApwbAhPIXB8LEjacC84SvX6MUEH8p+8MnNyds/uDpPK5eRqe5bkdrWUvSIAkz3IZ7YA9z8vh4OuDl394lB1BRlhKFk4ul6F5+ZLe6wl1pYtIn8ku2z0NfWJwqhqtErLKjKjMx9hsxIe3gPu0C2MavyXd2RZxneot+o51jnnl28Q3cqCyzJuQDrV0vUpuvylh+mrAdq/gSQtnVA4FCCw2kwpAOT/cRz0n9vTlWxTQ/FZ2xeryaZYuN3rJ1swtkXKg4Ysy4xVRSz5lpKkB6ZJw6trAbu9jCLznhI3NsKxj4/mPsF+GlOzAXlm4epAMqU7nhUW1H/BN8vqqHNgxSPngnHvjOi6ox46C07uL2db7828RrM/ShsdZVGktdRajmAvf34lh4qIjIpUzkbndaOpSvyXpxRdd2ky929Hl8r3zK9xTV5sC2FK2r3WvaDuEYang8hgGc1usUpMqcA+uCz3cVE6nD7JCF+4Renlk=
vBHvwrZ1AHfPvss9TfqdZEhq51B9MeLQZuA3F86gwEc=
Generated using version: 4.2.6`;

/** The encryption password of OIDC_GEN_4_2_6_FILE. */
export const OIDC_GEN_4_2_6_PASSWORD = 'secret';
