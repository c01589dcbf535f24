/** How the engine reports progress; the action maps it onto @actions/core, tests onto arrays. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
}

export const SILENT_LOGGER: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
};
