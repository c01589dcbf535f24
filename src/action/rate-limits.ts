import type { HostTraffic } from '../registry/http/traffic.js';

/**
 * Warnings for registries whose announced rate limit (Docker Hub's `ratelimit-remaining`) ran
 * low during the run: at most a tenth of the limit, or fewer than 10 requests, left.
 */
export function rateLimitWarnings(traffic: Record<string, HostTraffic>): string[] {
  const warnings: string[] = [];
  for (const [host, t] of Object.entries(traffic)) {
    const r = t.rateLimit;
    if (!r || (r.remaining > r.limit / 10 && r.remaining >= 10)) continue;
    const window = r.windowSeconds !== undefined ? ` per ${formatWindow(r.windowSeconds)}` : '';
    warnings.push(
      `${host} rate limit is running low: ${r.remaining} of ${r.limit} requests${window} left after this run (authenticate, or promote less often)`,
    );
  }
  return warnings;
}

function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
