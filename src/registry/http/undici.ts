/**
 * The parts of undici the transport uses, taken from undici's own modules. Its index also builds
 * fetch, WebSocket, the caches, the mocks and the proxy agents, which a run that sends its
 * requests through one Agent never needs; evaluating them would cost every run start-up time
 * before its first request. (What `@actions/core` brings in through `@actions/http-client` is
 * loaded once the first requests are on their way; see src/action/main.ts.)
 */
import type { Agent as UndiciAgent, Dispatcher, errors as UndiciErrors } from 'undici';
import AgentModule from 'undici/lib/dispatcher/agent.js';
import requestModule from 'undici/lib/api/api-request.js';
import errorsModule from 'undici/lib/core/errors.js';

export const Agent = AgentModule as typeof UndiciAgent;
export const errors = errorsModule as typeof UndiciErrors;

type RequestFn = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/** `dispatcher.request(options)`: undici's index attaches it to every dispatcher; here it is called as it is. */
export function request(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return (requestModule as RequestFn).call(dispatcher, options);
}
