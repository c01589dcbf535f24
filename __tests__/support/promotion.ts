/** What the promotion tests share: clients closed after the file's tests, and requests by reference text. */
import { afterAll } from '@jest/globals';
import type { PromotionRequest } from '../../src/engine/promote.js';
import { parseReference } from '../../src/oci/reference.js';
import type { Credential } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';

/** Returns a maker of plain-HTTP clients, each closed once the calling test file is done. */
export function clientsClosedAfterAll(): (
  credentials?: (registry: string) => Credential | undefined,
) => RegistryClient {
  const clients: RegistryClient[] = [];
  afterAll(async () => Promise.all(clients.map((c) => c.close())));
  return (credentials) => {
    const c = new RegistryClient({
      plainHttp: true,
      ...(credentials && { credentials: async (r: string) => credentials(r) }),
    });
    clients.push(c);
    return c;
  };
}

/** A request copying referrers, not a dry run, unless `extra` says otherwise. */
export function promotionRequest(
  source: string,
  targets: string[],
  extra: Partial<PromotionRequest> = {},
): PromotionRequest {
  return {
    source: parseReference(source),
    targets: targets.map((t) => parseReference(t)),
    copyReferrers: true,
    dryRun: false,
    ...extra,
  };
}
