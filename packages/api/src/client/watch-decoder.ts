/**
 * Incremental decoder for the api-server's watch stream: newline-delimited JSON objects of the form
 * `{"type": ..., "object": {...}}` (kubectl-wire.md §6.1). Pure: bytes in, events out.
 *
 * Guarantees: an event split across any number of chunks, including inside a multi-byte UTF-8
 * character, is decoded once and whole; blank lines are skipped; a final event without a trailing
 * newline is decoded by `end()`. A line longer than `maxEventBytes` or that is not a valid event
 * throws a `TransportError` of kind `protocol`.
 * Non-guarantees: back-to-back objects with no newline between them are not split (the api-server
 * always writes one event per line).
 */
import { StringDecoder } from 'node:string_decoder'
import { TransportError } from './errors.js'
import type { WatchEvent, WatchEventType } from './types.js'

/** Default cap on one event's size: 3 MiB object limit with room for the envelope. */
export const maxWatchEventBytesDefault = 16 * 1024 * 1024

const eventTypes: ReadonlySet<string> = new Set<WatchEventType>([
  'ADDED',
  'MODIFIED',
  'DELETED',
  'BOOKMARK',
  'ERROR',
])

export class WatchDecoder<T> {
  private readonly text = new StringDecoder('utf8')
  private pending = ''
  private readonly maxEventBytes: number

  constructor(maxEventBytes: number = maxWatchEventBytesDefault) {
    this.maxEventBytes = maxEventBytes
  }

  /** Feeds one chunk; returns the events completed by it (possibly none). */
  push(chunk: Uint8Array | string): WatchEvent<T>[] {
    this.pending += typeof chunk === 'string' ? chunk : this.text.write(chunk)
    const events: WatchEvent<T>[] = []
    let newline = this.pending.indexOf('\n')
    while (newline !== -1) {
      const line = this.pending.slice(0, newline)
      this.pending = this.pending.slice(newline + 1)
      const event = parseLine<T>(line)
      if (event !== undefined) events.push(event)
      newline = this.pending.indexOf('\n')
    }
    // String length counts UTF-16 units, a lower bound of the byte size: good enough for a cap.
    if (this.pending.length > this.maxEventBytes) {
      throw new TransportError('protocol', `watch event exceeds ${this.maxEventBytes} bytes`)
    }
    return events
  }

  /** Flushes what is left at the end of the stream. */
  end(): WatchEvent<T>[] {
    const rest = this.pending + this.text.end()
    this.pending = ''
    const event = parseLine<T>(rest)
    return event === undefined ? [] : [event]
  }
}

function parseLine<T>(line: string): WatchEvent<T> | undefined {
  const trimmed = line.trim()
  if (trimmed === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch (err) {
    throw new TransportError('protocol', 'watch stream carried a line that is not JSON', { cause: err })
  }
  if (typeof value !== 'object' || value === null) {
    throw new TransportError('protocol', 'watch event is not a JSON object')
  }
  const { type, object } = value as { type?: unknown; object?: unknown }
  if (typeof type !== 'string' || !eventTypes.has(type)) {
    throw new TransportError('protocol', `watch event has an unknown type ${JSON.stringify(type)}`)
  }
  if (typeof object !== 'object' || object === null) {
    throw new TransportError('protocol', `watch event ${type} has no object`)
  }
  return value as WatchEvent<T>
}
