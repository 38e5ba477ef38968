import { TokenwardenError } from '../../errors.js';

/**
 * The scope templates of the local issuer (`AUTHZ_TEMPLATE` with `{username}`, `AUTHZ_GROUP_TEMPLATE`
 * with `{groupname}`). HTCondor's LocalCredmon expands them with Python's `str.format`, so `{{` and `}}`
 * stand for literal braces there too; any other `{...}` makes its `format` raise for every token, which
 * the Python credmon logs as a failure per user at each pass. Here a template is checked once, at start,
 * and a placeholder other than the one the knob allows is refused there.
 */

const PART = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;

/** Throws CONFIG_INVALID naming `knob` when `template` has a placeholder other than `{<field>}` or a lone brace. */
export function checkTemplate(template: string, field: 'username' | 'groupname', knob: string): void {
  for (const m of template.matchAll(PART)) {
    const [all, name] = m;
    if (all === '{{' || all === '}}' || name === field) continue;
    const what = name === undefined ? `a lone "${all}"` : `the placeholder {${name}}`;
    throw new TokenwardenError('CONFIG_INVALID', `${knob}: ${what} in "${template}" cannot be expanded`, {
      hint: `the only placeholder is {${field}}; write {{ and }} for literal braces`,
    });
  }
}

/** The template with `{<field>}` replaced by `value` and `{{`/`}}` by single braces (checked templates only). */
export function expandTemplate(template: string, field: 'username' | 'groupname', value: string): string {
  return template.replace(PART, (all, name: string | undefined) => {
    if (all === '{{') return '{';
    if (all === '}}') return '}';
    return name === field ? value : all;
  });
}

/**
 * The `scope` claim: the user's template, then the group template once per group, as one
 * space-separated list (RFC 6749 section 3.3: no empty scope, single spaces), duplicates dropped.
 */
export function buildScope(
  user: string,
  authzTemplate: string,
  groupTemplate: string | undefined,
  groups: readonly string[],
): string {
  const parts = [expandTemplate(authzTemplate, 'username', user)];
  if (groupTemplate !== undefined) {
    for (const g of groups) parts.push(expandTemplate(groupTemplate, 'groupname', g));
  }
  const scopes = new Set<string>();
  for (const part of parts) for (const s of part.split(/\s+/)) if (s.length > 0) scopes.add(s);
  return [...scopes].join(' ');
}
