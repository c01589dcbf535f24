import type { PlanNode, RepositoryPlan } from '../engine/plan.js';
import type { PromotionResult } from '../engine/promote.js';
import type { HostTraffic } from '../registry/http/traffic.js';

/** Escapes a string for markdown (table cells, list items); registry-supplied text must not become markup. */
export function escapeCell(value: string): string {
  return value.replace(/[&<>|`*_[\]\\#~]/g, (c) => ENTITIES[c] ?? `&#${c.charCodeAt(0)};`).replace(/\r?\n|\r/g, ' ');
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

function code(value: string): string {
  return `<code>${escapeCell(value)}</code>`;
}

/** `sha256:0ac8d7ff97e1`: enough to tell digests apart on a page that gives the full one elsewhere. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest.slice(0, 19) : digest.slice(0, colon + 13);
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/**
 * Lines of one tree at most: GitHub refuses a step summary over 1 MiB, and 10,000 referrers
 * at about 200 bytes a line would pass that.
 */
export const MAX_TREE_LINES = 1000;

/** What the whole summary may weigh: GitHub's limit is 1 MiB per step. */
export const SUMMARY_BUDGET_BYTES = 1_000_000;

/** The first `limit` lines, and how many were left out. */
function capped(lines: string[], what: string, limit: number): string {
  if (lines.length <= limit) return lines.join('\n');
  return [...lines.slice(0, limit), `- … and ${lines.length - limit} more ${what} (left out of the summary)`].join(
    '\n',
  );
}

export interface SummaryExtras {
  /** Requests and rate limits per host, as the client counted them. */
  traffic?: Record<string, HostTraffic>;
  /** Warnings the action added (rate limits running low). */
  warnings?: string[];
  /** This workflow run's page (from @actions/github's context), linked at the end. */
  runUrl?: string;
}

const ACTION_WORDS: Record<PlanNode['action'], [done: string, planned: string]> = {
  copy: ['copied', 'copy'],
  mount: ['mounted', 'mount'],
  present: ['already there', 'already there'],
  merge: ['merged into', 'merge into'],
  create: ['created', 'create'],
};

const KIND_WORDS: Record<PlanNode['kind'], string> = {
  index: 'index',
  manifest: 'manifest',
  blob: 'blob',
  referrer: 'referrer',
  'referrers-tag': 'referrers tag',
  'cosign-tag': 'cosign tag',
};

function nodeLine(n: PlanNode, dryRun: boolean, promoted?: string): string {
  const [done, planned] = ACTION_WORDS[n.action];
  const what = [
    KIND_WORDS[n.kind],
    n.tag !== undefined ? code(n.tag) : '',
    n.artifactType ? code(n.artifactType) : '',
    n.kind === 'referrers-tag' ? '' : code(n.digest === promoted ? shortDigest(n.digest) : n.digest),
    n.size !== undefined && n.kind !== 'referrers-tag' ? formatBytes(n.size) : '',
  ]
    .filter(Boolean)
    .join(' ');
  const where = n.listedBy ? `, listed by the ${n.listedBy}` : '';
  const condition = n.condition ? ` (${escapeCell(n.condition)})` : '';
  return `${what}: **${dryRun ? planned : done}**${where}${condition}`;
}

/**
 * The plan of one target repository as a nested list: children under the manifest that names
 * them, referrers under their subject. The promoted digest, given in full above, is shortened.
 */
export function renderPlanTree(
  plan: RepositoryPlan,
  { dryRun, limit = MAX_TREE_LINES, promoted }: { dryRun: boolean; limit?: number; promoted?: string },
): string {
  const children = new Map<string | undefined, PlanNode[]>();
  const digests = new Set(plan.nodes.filter((n) => n.kind !== 'referrers-tag').map((n) => n.digest));
  for (const n of plan.nodes) {
    // A node whose parent is not in this plan (a child of a manifest that was already there) sits at the top.
    const parent = n.parent !== undefined && digests.has(n.parent) ? n.parent : undefined;
    const siblings = children.get(parent);
    if (siblings) siblings.push(n);
    else children.set(parent, [n]);
  }
  const lines: string[] = [];
  const seen = new Set<PlanNode>();
  const walk = (parent: string | undefined, depth: number) => {
    for (const n of children.get(parent) ?? []) {
      if (seen.has(n)) continue;
      seen.add(n);
      lines.push(`${'  '.repeat(depth)}- ${nodeLine(n, dryRun, promoted)}`);
      if (n.kind !== 'referrers-tag' && n.kind !== 'cosign-tag') walk(n.digest, depth + 1);
    }
  };
  walk(undefined, 0);
  return capped(lines, 'nodes', limit);
}

function planCounts(plan: RepositoryPlan, dryRun: boolean): string {
  const count = (kinds: PlanNode['kind'][], action: PlanNode['action']) =>
    plan.nodes.filter((n) => kinds.includes(n.kind) && n.action === action);
  const manifests: PlanNode['kind'][] = ['index', 'manifest', 'referrer', 'cosign-tag'];
  const parts = [
    `${count(manifests, 'copy').length} manifest(s) ${dryRun ? 'to copy' : 'copied'}, ${count(manifests, 'present').length} already there`,
    `${count(['blob'], 'copy').length} blob(s) ${dryRun ? 'to upload' : 'uploaded'} (${formatBytes(
      count(['blob'], 'copy').reduce((a, n) => a + (n.size ?? 0), 0),
    )}), ${count(['blob'], 'mount').length} ${dryRun ? 'to mount' : 'mounted'}, ${count(['blob'], 'present').length} already there`,
  ];
  const tags = plan.nodes.filter((n) => n.kind === 'referrers-tag' && n.action !== 'present').length;
  if (tags > 0) parts.push(`${tags} referrers tag(s) ${dryRun ? 'to write' : 'written'}`);
  return parts.join('; ');
}

function referrersTree(result: PromotionResult, limit: number): string {
  const bySubject = new Map<string, PromotionResult['referrers']>();
  for (const r of result.referrers) {
    const list = bySubject.get(r.subject);
    if (list) list.push(r);
    else bySubject.set(r.subject, [r]);
  }
  // Where each referrer lives on each target repository, as the plans say.
  const placement = new Map<string, string[]>();
  for (const plan of result.plan) {
    for (const n of plan.nodes) {
      if (n.kind !== 'referrer') continue;
      const how = n.listedBy ?? 'referrers API or referrers tag';
      const at = `${escapeCell(plan.repository)}: ${how}`;
      const list = placement.get(n.digest);
      if (list) list.push(at);
      else placement.set(n.digest, [at]);
    }
  }
  const lines: string[] = [`- ${code(shortDigest(result.digest))} (the promoted manifest)`];
  const subjects = new Set(result.referrers.map((r) => r.digest));
  const walk = (subject: string, depth: number) => {
    for (const r of bySubject.get(subject) ?? []) {
      const where = placement.get(r.digest);
      lines.push(
        `${'  '.repeat(depth)}- ${r.artifactType ? code(r.artifactType) : 'no artifact type'} ${code(r.digest)} ${formatBytes(r.size)}${
          where ? ` → ${where.join('; ')}` : ''
        }`,
      );
      if (subjects.has(r.digest)) walk(r.digest, depth + 1);
    }
  };
  walk(result.digest, 1);
  // Per-platform referrers hang off the index's children.
  for (const subject of bySubject.keys()) {
    if (subject === result.digest || subjects.has(subject)) continue;
    lines.push(`- ${code(subject)} (a child of the promoted index)`);
    walk(subject, 1);
  }
  return capped(lines, 'lines; the `referrers-file` output lists every referrer', limit);
}

function trafficTable(traffic: Record<string, HostTraffic>): string {
  const hosts = Object.entries(traffic);
  const total = hosts.reduce((a, [, t]) => a + t.total, 0);
  const rows = hosts.map(([host, t]) => [
    code(host),
    `${t.total} (${Object.entries(t.requests)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ')})`,
    formatBytes(t.bytesUp),
    formatBytes(t.bytesDown),
    t.rateLimit
      ? `${t.rateLimit.remaining} of ${t.rateLimit.limit} left${t.rateLimit.windowSeconds !== undefined ? ` per ${t.rateLimit.windowSeconds} s` : ''}`
      : '',
  ]);
  return `${total} request(s) in all.\n\n${table(['Host', 'Requests', 'Sent', 'Received', 'Rate limit'], rows)}`;
}

/**
 * The job summary as markdown: the digest; each target and its status; per target repository the
 * plan (dry run) or what happened, node by node; the referrers graph; the registries'
 * capabilities; requests and bytes per host with their rate limits; and the warnings.
 */
export function renderSummary(result: PromotionResult, extras: SummaryExtras = {}): string {
  // Trees shrink until the whole fits GitHub's limit, however many targets and referrers.
  for (let limit = MAX_TREE_LINES; ; limit = Math.floor(limit / 2)) {
    const md = render(result, extras, limit);
    if (Buffer.byteLength(md) <= SUMMARY_BUDGET_BYTES || limit < 1) return md;
  }
}

function render(result: PromotionResult, extras: SummaryExtras, limit: number): string {
  const dry = result.dryRun;
  const out: string[] = [];
  out.push(`## OCI promotion${dry ? ' (dry run: nothing was written)' : ''}`);
  out.push(
    `Source ${code(result.source)} is ${code(result.digest)} (${code(result.mediaType)}, ${formatBytes(result.size)}).`,
  );
  out.push('### Targets');
  // The digest was given in full just above: the table stays narrow enough for GitHub's
  // ~1,000 px column, and the full digests a rollback needs are in the details below it.
  out.push(
    table(
      ['Target', dry ? 'Would be' : 'Status', 'Before'],
      result.targets.map((t) => [
        code(t.reference),
        t.digest === result.digest ? t.status : `${t.status} (${code(shortDigest(t.digest))})`,
        t.previous ? code(shortDigest(t.previous)) : t.status === 'created' ? 'no such tag' : '',
      ]),
    ),
  );
  const fullDigests = [
    ...result.targets
      .filter((t) => t.digest !== result.digest)
      .map((t) => `- ${code(t.reference)} now names ${code(t.digest)}`),
    ...result.targets.filter((t) => t.previous).map((t) => `- ${code(t.reference)} named ${code(t.previous!)} before`),
  ];
  if (fullDigests.length > 0) {
    out.push(`<details><summary>Full digests (to roll back)</summary>\n\n${fullDigests.join('\n')}\n\n</details>`);
  }
  for (const plan of result.plan) {
    out.push(`### ${dry ? 'Plan for' : 'Copied into'} ${code(plan.repository)}`);
    out.push(`${planCounts(plan, dry)}.`);
    out.push(
      `<details><summary>Every node (${plan.nodes.length})</summary>\n\n${renderPlanTree(plan, { dryRun: dry, limit, promoted: result.digest })}\n\n</details>`,
    );
  }
  out.push(`### Referrers (${result.referrersLookedUp ? result.referrers.length : 'not looked up'})`);
  if (!result.referrersLookedUp) {
    out.push(
      '`discover-referrers` is false and nothing else needed them: neither the referrers nor the referrers API were looked up.',
    );
  } else if (result.referrers.length === 0) {
    out.push('None found.');
  } else {
    out.push(referrersTree(result, limit));
  }
  const caps = Object.entries(result.capabilities);
  if (caps.length > 0) {
    out.push('### Registries');
    const seen = (v: boolean | undefined, yes = 'yes', no = 'no') => (v === undefined ? 'not observed' : v ? yes : no);
    out.push(
      table(
        ['Repository', 'Referrers API', 'OCI-Subject on push', 'Blob mount'],
        caps.map(([repo, c]) => [
          code(repo),
          seen(
            c.referrersApi,
            'yes',
            c.referrersTagAliasesDigest
              ? escapeCell('no (and sha256-<hex> resolves to the subject)')
              : 'no (referrers tag schema)',
          ),
          seen(c.ociSubjectHeader),
          seen(c.blobMount),
        ]),
      ),
    );
  }
  if (extras.traffic && Object.keys(extras.traffic).length > 0) {
    out.push('### Requests');
    out.push(trafficTable(extras.traffic));
  }
  if (result.strayReferrersTags.length > 0) {
    out.push('### Stray referrers tags');
    out.push(
      'These repositories have the referrers API, so a `sha256-<hex>` tag there is a leftover of a client that did not check.',
    );
    out.push(
      table(
        ['Tag', 'Outcome'],
        result.strayReferrersTags
          .slice(0, limit)
          .map((t) => [code(t.reference), `${t.outcome}${t.reason ? `: ${escapeCell(t.reason.slice(0, 500))}` : ''}`]),
      ),
    );
    if (result.strayReferrersTags.length > limit) {
      out.push(
        `… and ${result.strayReferrersTags.length - limit} more (the \`stray-referrers-tags-file\` output lists every one).`,
      );
    }
  }
  if (result.referrersTags.length > 0) {
    out.push(`### Referrers tags ${dry ? 'to write' : 'written'}`);
    out.push(
      capped(
        result.referrersTags.map((t) => `- ${code(t)}`),
        'tags; the `referrers-tags-file` output lists every one',
        limit,
      ),
    );
  }
  const warnings = [...result.warnings, ...(extras.warnings ?? [])];
  if (warnings.length > 0) {
    out.push('### Warnings');
    out.push(
      capped(
        warnings.map((w) => `- ${escapeCell(w.slice(0, 1000))}`),
        'warnings; the log has every one',
        limit,
      ),
    );
  }
  if (extras.runUrl && /^https?:\/\/[^\s()<>]+$/.test(extras.runUrl)) {
    out.push(`Written by [this workflow run](${extras.runUrl}).`);
  }
  return out.join('\n\n') + '\n';
}
