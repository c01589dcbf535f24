/**
 * @actions/core loaded once the first request is on its way: until then what is to be masked or
 * logged waits, in order, and nothing reaches the log (stdout, where the runner reads commands
 * and lines) before the masks that came before it.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { EOL } from 'node:os';
import { inputFromEnvironment, LazyCore, runnerDebug } from '../../src/action/lazy-core.js';

const written: string[] = [];
const spy = () =>
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
afterEach(() => {
  jest.restoreAllMocks();
  written.length = 0;
});

describe('LazyCore', () => {
  it('writes nothing before it is loaded, then the masks and lines in the order they came', async () => {
    spy();
    const lazy = new LazyCore();
    lazy.setSecret('s3cret-one');
    lazy.startGroup('Promote a to b');
    lazy.setSecret('s3cret-two');
    lazy.logger.info('after the second mask');
    lazy.endGroup();
    expect(written).toEqual([]);

    await lazy.load();
    expect(written).toEqual([
      `::add-mask::s3cret-one${EOL}`,
      `::group::Promote a to b${EOL}`,
      `::add-mask::s3cret-two${EOL}`,
      `after the second mask${EOL}`,
      `::endgroup::${EOL}`,
    ]);
    // Once loaded, straight through.
    lazy.logger.warning('now');
    expect(written[written.length - 1]).toBe(`::warning::now${EOL}`);
  });

  it('loads by itself soon after a line is logged, when no request brought it in', async () => {
    spy();
    const lazy = new LazyCore();
    lazy.logger.info('Retrying GET registry.example.com/v2/ after connection refused');
    expect(written).toEqual([]);
    // Nobody calls load(): the logged line does.
    for (let i = 0; i < 40 && written.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(written).toEqual([`Retrying GET registry.example.com/v2/ after connection refused${EOL}`]);
  });
});

describe('the inputs before @actions/core is loaded', () => {
  it('reads INPUT_<NAME> as @actions/core does: spaces as _, upper case, trimmed, empty when unset', () => {
    process.env['INPUT_COPY-REFERRERS'] = '  false \n';
    process.env['INPUT_TWO_WORDS'] = 'x';
    delete process.env['INPUT_UNSET'];
    expect(inputFromEnvironment('copy-referrers')).toBe('false');
    expect(inputFromEnvironment('two words')).toBe('x');
    expect(inputFromEnvironment('unset')).toBe('');
    delete process.env['INPUT_COPY-REFERRERS'];
    delete process.env['INPUT_TWO_WORDS'];
  });

  it('takes the runner debug logging from RUNNER_DEBUG=1', () => {
    const before = process.env['RUNNER_DEBUG'];
    process.env['RUNNER_DEBUG'] = '1';
    expect(runnerDebug()).toBe(true);
    process.env['RUNNER_DEBUG'] = '0';
    expect(runnerDebug()).toBe(false);
    if (before === undefined) delete process.env['RUNNER_DEBUG'];
    else process.env['RUNNER_DEBUG'] = before;
  });
});
