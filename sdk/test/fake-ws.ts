/** A WebSocket stand-in that records what the SDK sends and lets a test play the relay. */
export class FakeWebSocket {
  static all: FakeWebSocket[] = [];
  /** The most recently created socket. */
  static get last(): FakeWebSocket {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }

  readyState = 0;
  sent: any[] = [];
  closed = false;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;

  constructor(public url: string) {
    FakeWebSocket.all.push(this);
  }

  send(data: string) {
    if (this.readyState != 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data));
  }

  close() {
    this.closed = true;
    this.readyState = 3;
  }

  /** The relay accepts the connection. */
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The relay sends a message. */
  receive(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  /** The connection drops. */
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  /** Sent messages other than pings. */
  get messages() {
    return this.sent.filter((m) => m.type != 'ping');
  }

  /** The query parameters of the connection URL. */
  get params() {
    return Object.fromEntries(new URL(this.url).searchParams);
  }

  static reset() {
    FakeWebSocket.all = [];
  }
}
