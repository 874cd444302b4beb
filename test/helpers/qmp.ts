/**
 * A small QMP client (qemu's JSON machine protocol, one JSON object per
 * line) for VM tests that hot-add and remove devices while the guest runs,
 * and the pump that serves a guest script's requests for it
 * (test/vm/guest/hotplug.mts prints them).
 */
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A command qemu answered with an error. */
export class QmpError extends Error {
  override name = "QmpError";
}

/** One command as a guest script asked for it, and how qemu answered. */
export interface QmpExchange {
  execute: string;
  arguments?: Record<string, unknown>;
  reply?: unknown;
  error?: string;
}

export class QmpClient {
  /** Asynchronous events qemu sent (DEVICE_DELETED, …), in order. */
  readonly events: { event: string; data?: unknown }[] = [];
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private buffer = "";
  private closed?: Error;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.receive(JSON.parse(line) as Record<string, any>);
      }
    });
    const fail = (e: Error) => {
      this.closed = e;
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new QmpError("QMP connection closed")));
  }

  private receive(msg: Record<string, any>): void {
    if ("event" in msg) this.events.push({ event: msg.event, data: msg.data });
    else if ("QMP" in msg) this.pending.shift()?.resolve(msg.QMP); // the greeting
    else if ("return" in msg) this.pending.shift()?.resolve(msg.return);
    else if ("error" in msg) this.pending.shift()?.reject(new QmpError(`${msg.error.class}: ${msg.error.desc}`));
  }

  private next(): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /**
   * Connects to qemu's QMP socket (`-qmp unix:PATH,server=on,wait=off`),
   * waiting for qemu to create it, and leaves capabilities negotiation.
   */
  static async connect(path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<QmpClient> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      opts.signal?.throwIfAborted();
      const socket = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(path);
        s.once("connect", () => resolve(s));
        s.once("error", () => resolve(undefined)); // not there yet (qemu still starting)
      });
      if (socket) {
        const client = new QmpClient(socket);
        await client.next(); // greeting
        await client.execute("qmp_capabilities");
        return client;
      }
      if (Date.now() > deadline) throw new QmpError(`no QMP socket at ${path}`);
      await sleep(100);
    }
  }

  /** Runs a command and resolves with its `return`; rejects with {@link QmpError}. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const answer = this.next();
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    return answer;
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Serves the `@@QMP {"execute":…,"arguments":…}@@` requests a guest script
 * prints, in order, on a QMP connection made when the first one arrives.
 * The guest gets no answer (its console is one-way): it waits for the
 * effect (a device in sysfs); the exchanges are kept for the test's
 * messages.
 */
export class QmpPump {
  readonly log: QmpExchange[] = [];
  private seen = 0;
  private text = "";
  private client?: Promise<QmpClient>;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly socketPath: string, private readonly signal?: AbortSignal) {}

  /** Feed it the guest's output as it arrives. */
  output(chunk: string): void {
    this.text += chunk;
    const re = /@@QMP (\{[^\n]*?\})@@/g;
    re.lastIndex = this.seen;
    for (let m = re.exec(this.text); m; m = re.exec(this.text)) {
      this.seen = re.lastIndex;
      const request = JSON.parse(m[1]!) as QmpExchange;
      const exchange: QmpExchange = { execute: request.execute, ...(request.arguments ? { arguments: request.arguments } : {}) };
      this.log.push(exchange);
      this.queue = this.queue.then(async () => {
        try {
          this.client ??= QmpClient.connect(this.socketPath, { signal: this.signal });
          exchange.reply = await (await this.client).execute(exchange.execute, exchange.arguments);
        } catch (e) {
          exchange.error = (e as Error).message;
        }
      });
    }
  }

  /** Waits for the requests in flight, then closes the connection. */
  async close(): Promise<void> {
    await this.queue;
    if (this.client) (await this.client.catch(() => undefined))?.close();
  }
}
