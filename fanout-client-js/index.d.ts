// Types of fanout-client (hand-written; the code is fanout-client.js). The protocol it speaks is
// docs/protocol.md in the fanout repository.

/** What to receive: the protocol's generic subscribe. Absent or empty means everything allowed. */
export interface Subscription {
  /** Topics to receive; absent or empty: every topic your credentials allow. */
  topics?: readonly string[];
  /** Attribute name to allowed values; an attribute absent (or `[]`) is not constrained. */
  filters?: Readonly<Record<string, readonly string[]>>;
}

/**
 * A server's own words for the generic fields, sent instead of them (the example server's:
 * `{topics: 'merchants', filters: {method: 'methods'}}`). Without aliases only `topics` and
 * `filters` are sent, which every fanout server understands.
 */
export interface Aliases {
  topics?: string;
  filters?: Readonly<Record<string, string>>;
}

/** One event, delivered once, in order within its partition (per topic; protocol.md). */
export interface FanoutEvent<T = unknown> {
  /** `<epoch>:<seq>`; treat as opaque. */
  id: string;
  /** The publisher's JSON object, as published. */
  data: T;
}

export type ResetReason = 'fresh' | 'not-recovered' | 'server-resync';

export interface ResetInfo {
  /**
   * `fresh`: the answer to a subscribe without a resume point; `not-recovered`: a resume the
   * server could not serve exactly; `server-resync`: the server lost events. A snapshot follows.
   */
  reason: ResetReason;
}

export interface SubscribedInfo {
  recovered: boolean;
  missed: number;
  /** Whether this subscribe asked to resume (carried a lastEventId). */
  resumed: boolean;
}

/** An `error` frame: a message the server refused; the connection stays open. */
export interface ProtocolError {
  code: string;
  message: string;
}

export interface ReconnectingDetail {
  delayMs: number;
  attempt: number;
  /** The close code (1006 when the connection failed or the handshake was refused). */
  code: number;
  /** The close reason, or the server's reason for a refusal that may heal (with `status`). */
  reason: string;
  /** Present when the server refused the handshake and waiting may heal it (503, 429, 408). */
  status?: number;
}

/** The server refused the handshake for a reason waiting will not heal (401, 403...). */
export interface RefusedDetail {
  status: number;
  /** The server's reason, such as `origin not allowed` or `token expired`. */
  reason: string;
}

/** The server ended the connection for good (4003: credentials expired). */
export interface EndedDetail {
  code: number;
  reason: string;
}

/** Arguments of `onState`: narrow on the first to read the second. */
export type StateChange =
  | [state: 'connecting', detail: undefined]
  | [state: 'open', detail: undefined]
  | [state: 'reconnecting', detail: ReconnectingDetail]
  | [state: 'stopped', detail: RefusedDetail | EndedDetail | undefined];

export type ConnectionState = StateChange[0];

/** What a WebSocket constructor must offer: the browser's, or for example `require('ws')`. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type FetchLike = (url: string, init?: any) => Promise<{ json(): Promise<unknown> }>;

export interface FanoutClientOptions<T = unknown> extends Subscription {
  /**
   * The endpoint, `ws://` or `wss://`. Default in a page: its origin + `/ws`, with the page's
   * `?token=` passed on. Required outside a browser.
   */
  url?: string;
  /**
   * `'websocket'` (the default) or `'sse'`: Server-Sent Events at an `http(s)://…/events` URL
   * with an `EventSource`, the same callbacks and resume rule.
   */
  transport?: 'websocket' | 'sse';
  /** Send the server's own words instead of `topics` and `filters` (see {@link Aliases}). */
  aliases?: Aliases;
  /** Reconnect delays: equal jitter over `initialMs` doubling to `maxMs` (500 and 30000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Where to ask why a handshake failed: by default `url` over http(s) with `/check` appended to
   * its path (query kept, cookies sent); with `'sse'`, the stream's own URL. `false`: never ask,
   * retry every failure.
   */
  checkUrl?: string | false;
  /** The WebSocket constructor; default the global one (in Node 20, pass `require('ws')`). */
  WebSocket?: WebSocketConstructor;
  /** The EventSource constructor for `'sse'`; default the global one. */
  EventSource?: new (url: string, init?: { withCredentials?: boolean }) => any;
  /** The fetch function for the check; default the global one. */
  fetch?: FetchLike;
  onEvent?(event: FanoutEvent<T>): void;
  /** Drop your state: the events that follow rebuild it. */
  onReset?(info: ResetInfo): void;
  onSubscribed?(info: SubscribedInfo): void;
  /** The server dropped `count` events because this client fell behind. */
  onDropped?(count: number): void;
  onError?(error: ProtocolError): void;
  /** `false`: the server lost its event bus, events will arrive late; `true`: it is back. */
  onBus?(up: boolean): void;
  onState?(...change: StateChange): void;
}

export declare class FanoutClient<T = unknown> {
  /**
   * Checks the options at once: an unknown option (such as the old `merchants` or `methods`), a
   * wrong type or a transport other than `'websocket'` or `'sse'` throws a `TypeError` that says what to
   * write instead.
   */
  constructor(options?: FanoutClientOptions<T>);
  readonly url: string;
  readonly transport: 'websocket' | 'sse';
  /** Where the client asks why a handshake failed, or null when it does not. */
  readonly checkUrl: string | null;
  /** Connects, and reconnects until `stop()` or a refusal that waiting will not heal. */
  start(): void;
  /** Closes the connection and stops reconnecting; `onState('stopped')`. */
  stop(): void;
  /** New filters: forgets the resume point, so the server answers with a fresh snapshot. */
  subscribe(subscription: Subscription): void;
}
