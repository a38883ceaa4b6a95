/**
 * The logging surface the core needs: a subset of pino's, so `main.ts` can pass a pino child logger and
 * tests can pass a recorder. Messages are constant strings; data goes in the first argument.
 */
export interface RaftLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

const noop = (): void => {}

export const silentLogger: RaftLogger = { debug: noop, info: noop, warn: noop, error: noop }
