/**
 * The built bundle (dist/index.js) run as the runner runs it, against a real registry with
 * htpasswd Basic auth: inputs as INPUT_* variables, outputs through GITHUB_OUTPUT, the job
 * summary through GITHUB_STEP_SUMMARY.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getManifest, listTags, pushArtifact, pushImage, writeReferrersTagIndex } from '../support/oci-seed.js';
import { startDistribution, type RunningRegistry } from '../support/registries.js';
import { checkMarkdownStructure } from '../support/markdown.js';
import { runAction } from '../support/run-action.js';

let registry: RunningRegistry;
const PASSWORD = 'pusher-secret';

beforeAll(async () => {
  registry = await startDistribution({ auth: 'htpasswd', users: [{ username: 'pusher', password: PASSWORD }] });
});
afterAll(async () => registry?.stop());

describe('dist/index.js end to end', () => {
  it('promotes rc to 1.2.3 and latest, with outputs and a job summary, and never prints the password', async () => {
    const t = registry.target('acme/e2e');
    const image = await pushImage(t, 'rc', { seed: 'e2e' });
    const sig = await pushArtifact(t, image.descriptor, 'application/vnd.dev.sigstore.bundle.v0.3+json', {
      annotations: { note: '<b>x</b>' },
    });
    await writeReferrersTagIndex(t, image.digest, [sig.descriptor]);

    const run = await runAction(
      {
        source: `${registry.host}/acme/e2e:rc`,
        targets: '1.2.3\nlatest',
        username: 'pusher',
        password: PASSWORD,
        'plain-http': 'true',
      },
      // What the runner sets: @actions/github's context links the summary to the run.
      { GITHUB_REPOSITORY: 'acme/e2e', GITHUB_RUN_ID: '4242', GITHUB_SERVER_URL: 'https://github.com' },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.digest).toBe(image.digest);
    expect(run.outputs['media-type']).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(JSON.parse(run.outputs.targets!)).toEqual([
      { reference: `${registry.host}/acme/e2e:1.2.3`, digest: image.digest, status: 'created' },
      { reference: `${registry.host}/acme/e2e:latest`, digest: image.digest, status: 'created' },
    ]);
    // A plain retag reports the referrers it found (it only read them).
    const referrers = [
      {
        digest: sig.digest,
        mediaType: sig.mediaType,
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        subject: image.digest,
        annotations: { note: '<b>x</b>' },
      },
    ];
    expect(JSON.parse(run.outputs.referrers!)).toEqual(referrers);
    expect(run.outputs['referrers-looked-up']).toBe('true');
    expect(run.outputs['referrers-count']).toBe('1');
    expect(run.outputs['truncated-outputs']).toBe('[]');
    // Every list output is complete in a file under RUNNER_TEMP too.
    expect(JSON.parse(run.files['referrers-file']!)).toEqual(referrers);
    expect(JSON.parse(run.files['targets-file']!)).toEqual(JSON.parse(run.outputs.targets!));
    expect(JSON.parse(run.files['referrers-tags-file']!)).toEqual([]);
    expect(JSON.parse(run.files['stray-referrers-tags-file']!)).toEqual([]);
    expect(JSON.parse(run.outputs.capabilities!)).toEqual({
      [`${registry.host}/acme/e2e`]: {
        referrersApi: false,
        ociSubjectHeader: null,
        blobMount: null,
        referrersTagAliasesDigest: null,
      },
    });
    expect(JSON.parse(run.outputs['referrers-tags']!)).toEqual([]);
    expect(run.summary).toContain(`Source <code>${registry.host}/acme/e2e:rc</code> is <code>${image.digest}</code>`);
    expect(run.summary).toContain(`| <code>${registry.host}/acme/e2e:latest</code> | created | no such tag |`);
    expect(run.summary).toContain('### Referrers (1)');
    expect(run.summary).toContain('Written by [this workflow run](https://github.com/acme/e2e/actions/runs/4242).');
    checkMarkdownStructure(run.summary);
    // Every request this run made, counted: GET rc, the referrers probe, the tag list, the
    // referrers tag, and a HEAD and a PUT per target tag (plus what the Basic auth costs).
    expect(run.summary).toMatch(/### Requests\n\n\d+ request\(s\) in all\./);
    expect(run.summary).toContain(`| <code>${registry.host}</code> |`);
    expect(run.stdout).toContain(`::add-mask::${PASSWORD}`);
    const logs = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const text of [logs, run.stderr, JSON.stringify(run.outputs), run.summary]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(Buffer.from(`pusher:${PASSWORD}`).toString('base64'));
    }
    expect((await getManifest(t, 'latest'))!.digest).toBe(image.digest);

    const rerun = await runAction({
      source: `${registry.host}/acme/e2e:rc`,
      targets: '1.2.3,latest',
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
    });
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.outputs.targets!).map((x: { status: string }) => x.status)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    expect(JSON.parse(rerun.outputs.referrers!)).toEqual(referrers);
    expect(rerun.summary).toContain('### Referrers (1)');
    expect(rerun.summary).toContain('| <code>' + `${registry.host}/acme/e2e` + '</code> | no (referrers tag schema) |');
  });

  it("keeps its outputs within GitHub's limits: the complete list in a file, the inline one shortened and flagged", async () => {
    const t = registry.target('acme/many');
    const image = await pushImage(t, 'rc', { seed: 'e2e-many' });
    // 120 referrers with 4,000-character annotations: about 1 MB as GitHub counts the
    // `referrers` output (UTF-16), twice the action's budget for all its outputs together.
    const sigs = [];
    for (let i = 0; i < 120; i++) {
      sigs.push(
        await pushArtifact(t, image.descriptor, 'application/vnd.dev.sigstore.bundle.v0.3+json', {
          payload: `signature ${i}`,
          annotations: { 'org.example.note': `${i} ${'n'.repeat(4000)}` },
        }),
      );
    }
    await writeReferrersTagIndex(
      t,
      image.digest,
      sigs.map((x) => x.descriptor),
    );

    const run = await runAction({
      source: `${registry.host}/acme/many:rc`,
      targets: 'big',
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
    });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const all = JSON.parse(run.files['referrers-file']!) as { digest: string }[];
    expect(all.map((r) => r.digest).sort()).toEqual(sigs.map((x) => x.digest).sort());
    expect(run.outputs['referrers-count']).toBe('120');
    expect(run.outputs['truncated-outputs']).toBe('["referrers"]');
    const inline = JSON.parse(run.outputs.referrers!) as { digest: string }[];
    expect(inline.length).toBeGreaterThan(0);
    expect(inline.length).toBeLessThan(120);
    expect(inline).toEqual(all.slice(0, inline.length));
    // Every output together, as GitHub counts (UTF-16: 2 bytes a character), within the budget.
    const weight = Object.values(run.outputs).reduce((a, v) => a + 2 * v.length, 0);
    expect(weight).toBeLessThanOrEqual(500_000);
    expect(run.stdout).toMatch(
      new RegExp(
        `^::warning::The referrers output lists the first ${inline.length} of 120 entries: .* The referrers-file output names a file with all of them`,
        'm',
      ),
    );
    expect(run.summary).toContain('### Referrers (120)');
    expect(Buffer.byteLength(run.summary)).toBeLessThan(1024 * 1024);
  });

  it('looks nothing up with discover-referrers false, and the outputs say so', async () => {
    const t = registry.target('acme/bare');
    const image = await pushImage(t, 'rc', { seed: 'e2e-bare' });
    const sig = await pushArtifact(t, image.descriptor, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    await writeReferrersTagIndex(t, image.digest, [sig.descriptor]);
    const run = await runAction({
      source: `${registry.host}/acme/bare:rc`,
      targets: '1.0',
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
      'discover-referrers': 'false',
    });
    expect(run.code).toBe(0);
    expect(run.outputs['referrers-looked-up']).toBe('false');
    expect(run.outputs.referrers).toBe('[]');
    expect(run.outputs['referrers-count']).toBe('0');
    expect(JSON.parse(run.outputs.capabilities!)).toEqual({
      [`${registry.host}/acme/bare`]: {
        referrersApi: null,
        ociSubjectHeader: null,
        blobMount: null,
        referrersTagAliasesDigest: null,
      },
    });
    expect(run.summary).toContain('### Referrers (not looked up)');
  });

  it('says so when the runner gives outputs or a summary it cannot write, never as an unexpected error', async () => {
    const t = registry.target('acme/files');
    await pushImage(t, 'rc', { seed: 'e2e-files' });
    const inputs = {
      source: `${registry.host}/acme/files:rc`,
      targets: '1.0',
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
    };
    const dir = await mkdtemp(join(tmpdir(), 'e2e-files-'));
    try {
      // A directory where the runner's files should be: writing to it fails with EISDIR.
      const summary = await runAction(inputs, { GITHUB_STEP_SUMMARY: dir });
      expect(summary.code).toBe(0);
      expect(summary.stdout).toContain(`::warning::Could not write the job summary to ${dir} (EISDIR)`);
      const outputs = await runAction(inputs, { GITHUB_OUTPUT: dir });
      expect(outputs.code).toBe(1);
      expect(outputs.stdout).toContain(
        `::error::Could not write the step outputs to ${dir} (EISDIR); the promotion itself is done`,
      );
      for (const run of [summary, outputs]) expect(run.stdout).not.toContain('Unexpected error');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('promotes into another repository with its referrers and reports the referrers tag it wrote', async () => {
    const t = registry.target('staging/e2e');
    const image = await pushImage(t, 'rc', { seed: 'e2e-cross' });
    const sig = await pushArtifact(t, image.descriptor, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    await writeReferrersTagIndex(t, image.digest, [sig.descriptor]);
    const run = await runAction({
      source: `${registry.host}/staging/e2e:rc`,
      targets: `${registry.host}/prod/e2e:1.0\n${registry.host}/prod/e2e:latest`,
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs['referrers-tags']!)).toEqual([
      `${registry.host}/prod/e2e:sha256-${image.digest.slice(7)}`,
    ]);
    expect(JSON.parse(run.outputs.capabilities!)).toEqual({
      [`${registry.host}/staging/e2e`]: {
        referrersApi: false,
        ociSubjectHeader: null,
        blobMount: null,
        referrersTagAliasesDigest: null,
      },
      [`${registry.host}/prod/e2e`]: {
        referrersApi: false,
        ociSubjectHeader: false,
        blobMount: true,
        referrersTagAliasesDigest: null,
      },
    });
    expect(run.summary).toContain('### Copied');
    expect(run.summary).toContain('### Referrers tags written');
    const index = await getManifest(registry.target('prod/e2e'), `sha256-${image.digest.slice(7)}`);
    expect((index!.json as { manifests: { digest: string }[] }).manifests.map((d) => d.digest)).toEqual([sig.digest]);
  });

  it.each([
    ['the trace input', { trace: 'true' }, {}],
    ["the runner's debug mode", {}, { RUNNER_DEBUG: '1' }],
  ])('with %s, writes the request trace under RUNNER_TEMP and logs its critical path', async (_how, input, env) => {
    const t = registry.target('staging/e2e-trace');
    await pushImage(t, 'rc', { seed: 'e2e-trace' });
    const temp = await mkdtemp(join(tmpdir(), 'trace-e2e-'));
    try {
      const run = await runAction(
        {
          source: `${registry.host}/staging/e2e-trace:rc`,
          targets: `${registry.host}/prod/e2e-trace:${Object.keys(env).length ? 'debug' : 'input'}`,
          username: 'pusher',
          password: PASSWORD,
          'plain-http': 'true',
          ...input,
        },
        { RUNNER_TEMP: temp, ...env },
      );
      expect(run.code).toBe(0);
      const file = run.outputs['trace-file']!;
      expect(file.startsWith(temp)).toBe(true);
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain(PASSWORD);
      const trace = JSON.parse(text) as {
        firstRequestMs: number;
        requests: { method: string; path: string; phase: string }[];
        criticalPath: { roundTrips: number; byPhase: Record<string, number> };
      };
      expect(trace.firstRequestMs).toBeGreaterThan(0);
      expect(trace.requests[0]).toMatchObject({ method: 'GET', path: '/v2/staging/e2e-trace/manifests/rc' });
      expect(trace.requests.map((r) => r.phase)).toEqual(expect.arrayContaining(['resolve', 'copy', 'tag']));
      expect(trace.criticalPath.roundTrips).toBeGreaterThan(2);
      // The first reads start together, so the path may begin with any of them; it ends with the tag.
      expect(run.stdout).toMatch(
        new RegExp(`Critical path: ${trace.criticalPath.roundTrips} round trip\\(s\\) in a row \\([^)]*tag \\d+\\)`),
      );
      expect(run.stdout).toContain(`Written to ${file} (output trace-file)`);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  });

  it('records no trace unless asked', async () => {
    const t = registry.target('staging/e2e-notrace');
    await pushImage(t, 'rc', { seed: 'e2e-notrace' });
    const run = await runAction({
      source: `${registry.host}/staging/e2e-notrace:rc`,
      targets: 'v1',
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
    });
    expect(run.code).toBe(0);
    expect(run.outputs['trace-file']).toBeUndefined();
    expect(run.stdout).not.toContain('Critical path');
  });

  it('takes credentials from the Docker config file', async () => {
    const t = registry.target('acme/config');
    await pushImage(t, 'rc', { seed: 'config' });
    const dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
    try {
      await writeFile(
        join(dir, 'config.json'),
        JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`pusher:${PASSWORD}`).toString('base64') } } }),
      );
      const run = await runAction(
        { source: `${registry.host}/acme/config:rc`, targets: 'v1', 'plain-http': 'true' },
        { DOCKER_CONFIG: dir },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`::add-mask::${PASSWORD}`);
      expect(await listTags(t)).toContain('v1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, Record<string, string>, string]>([
    [
      'a bad target tag',
      { targets: '1.2.3, bad tag!' },
      "Invalid target 'bad tag!': a tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
    ],
    [
      'an unknown referrers-api value',
      { targets: '1', 'referrers-api': 'sometimes' },
      "Invalid referrers-api 'sometimes': expected auto, true or false",
    ],
    [
      'a malformed source',
      { source: 'ghcr.io/ACME/app:rc', targets: '1' },
      "Invalid source 'ghcr.io/ACME/app:rc': the repository path component 'ACME' must be lowercase",
    ],
    [
      'a password without a user name',
      { username: '', targets: '1' },
      'Input password is set but username is empty: give both or neither',
    ],
  ])('fails on %s with one error line, before any request', async (_what, inputs, message) => {
    const logBefore = (await registry.requests()).length;
    const run = await runAction({
      source: `${registry.host}/acme/e2e:rc`,
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
      ...inputs,
    });
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
    expect(run.stdout).not.toMatch(/^\s+at /m);
    expect((await registry.requests()).length).toBe(logBefore);
  });

  it('fails clearly on a wrong password and on a missing tag', async () => {
    const wrong = await runAction({
      source: `${registry.host}/acme/e2e:rc`,
      targets: 'x',
      username: 'pusher',
      password: 'not-the-password',
      'plain-http': 'true',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(
      `::error::authentication failed: ${registry.host} refused the password for user 'pusher'`,
    );
    expect(
      wrong.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain('not-the-password');

    const missing = await runAction({
      source: `${registry.host}/acme/e2e:nope`,
      targets: 'x',
      username: 'pusher',
      password: PASSWORD,
      'plain-http': 'true',
    });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      `::error::get manifest ${registry.host}/acme/e2e:nope failed: ${registry.host} answered HTTP 404 (not found) MANIFEST_UNKNOWN`,
    );
  });

  it('reports a source blob that does not match its digest as one error line, not as an unexpected error', async () => {
    const other = await startDistribution();
    try {
      const t = registry.target('acme/corrupt');
      const image = await pushImage(t, 'rc', { seed: 'e2e-corrupt' });
      const layer = (JSON.parse(Buffer.from(image.bytes).toString()) as { layers: { digest: string }[] }).layers[0]!
        .digest;
      const hex = layer.slice('sha256:'.length);
      const file = join(
        registry.dir,
        'data',
        'docker',
        'registry',
        'v2',
        'blobs',
        'sha256',
        hex.slice(0, 2),
        hex,
        'data',
      );
      const bytes = await readFile(file);
      bytes[0] = bytes[0]! ^ 0xff;
      await writeFile(file, bytes);
      const run = await runAction({
        source: `${registry.host}/acme/corrupt:rc`,
        targets: `${other.host}/mirror/corrupt:1.0`,
        username: 'pusher',
        password: PASSWORD,
        'plain-http': 'true',
      });
      expect(run.code).toBe(1);
      const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
      expect(errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^::error::On the source ${registry.host}/acme/corrupt: the blob .*${layer} does not match its digest`,
          ),
        ),
      ]);
      expect(await listTags(other.target('mirror/corrupt'))).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('names the host when nothing listens there', async () => {
    const run = await runAction({ source: '127.0.0.1:1/acme/app:rc', targets: 'x', 'plain-http': 'true' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::error::GET request to 127.0.0.1:1 failed: connection refused');
  });
});
