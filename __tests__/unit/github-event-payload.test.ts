/**
 * @actions/github reads the workflow's event payload (GITHUB_EVENT_PATH) when it is loaded. A
 * payload that is not JSON is the environment's doing, not a bug of the action: the run says
 * so, naming the file, instead of printing "Unexpected error". This file loads the module once,
 * with such a payload, so it has a module registry of its own.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../../src/oci/user-facing-error.js';
import { parseReference } from '../../src/oci/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'oci-promote-event-'));
const eventPath = join(dir, 'event.json');
writeFileSync(eventPath, 'this is not JSON');
const saved = process.env['GITHUB_EVENT_PATH'];
process.env['GITHUB_EVENT_PATH'] = eventPath;

afterAll(() => {
  if (saved === undefined) delete process.env['GITHUB_EVENT_PATH'];
  else process.env['GITHUB_EVENT_PATH'] = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('a workflow event payload that is not JSON', () => {
  it("fails ghcr.io's default credentials with an error that names the payload file", async () => {
    const { CredentialChain } = await import('../../src/action/credentials.js');
    const { runIdentity } = await import('../../src/action/github-context.js');
    const chain = new CredentialChain({
      inputs: { source: parseReference('ghcr.io/acme/app:rc'), githubToken: 'ghs_token' },
      dockerConfig: async () => undefined,
      identity: runIdentity,
    });

    const err = await chain.resolve('ghcr.io').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(UserFacingError);
    expect((err as Error).message).toContain(`GITHUB_EVENT_PATH ${eventPath}`);
  });
});
