import { InvalidHeaderError } from './failures.js';

/** Where a header came from, to name in the error when it is not a URL. */
export interface HeaderContext {
  /** The URL that answered: relative references resolve against it (RFC 3986 section 5). */
  base: string;
  method: string;
  /** What the request was for: `start blob upload ghcr.io/acme/app@sha256:…`. */
  operation?: string;
}

/**
 * A URL a registry sent in a header (a redirect or upload `Location`, a `Link`), resolved
 * against the URL of the request that returned it, as RFC 3986 says: a relative upload
 * Location `<uuid>?_state=…` lands next to the upload path, not below `/v2/`. One that does
 * not parse is the registry's fault and is reported as such, never as a TypeError.
 */
export function resolveHeaderUrl(header: string, value: string, context: HeaderContext): URL {
  try {
    return new URL(value, context.base);
  } catch {
    throw new InvalidHeaderError({
      header,
      value,
      method: context.method,
      host: new URL(context.base).host,
      ...(context.operation && { operation: context.operation }),
    });
  }
}

/** RFC 8288 `Link: <url>; rel="next"`, resolved against the URL that answered. */
export function parseNextLink(
  header: string | undefined,
  base: string,
  context: Omit<HeaderContext, 'base'> = { method: 'GET' },
): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!))
      return resolveHeaderUrl('Link', m[1]!, { ...context, base }).href;
  }
  return undefined;
}
