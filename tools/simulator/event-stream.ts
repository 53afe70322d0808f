/**
 * The ARI event WebSocket (GET /ari/events?app=a,b): which socket owns which Stasis app,
 * ApplicationReplaced on takeover (trace e3), drops without close frame (trace e1) and refusal windows.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

interface Conn {
  ws: WebSocket;
  apps: string[];
  id: number;
}

export class EventStream {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly owners = new Map<string, Conn>();
  private readonly conns = new Set<Conn>();
  private refuseUntil = 0;
  private nextId = 1;
  /** Apps in the order they first connected. */
  readonly appOrder: string[] = [];

  constructor(
    private readonly hooks: {
      onAppsConnected(apps: string[]): void;
      /** Called when an app loses its active socket or gets one. */
      onChange(): void;
      /** Event sent to a socket being replaced. */
      makeApplicationReplaced(app: string): Record<string, unknown>;
    },
  ) {}

  isActive(app: string): boolean {
    return this.owners.has(app);
  }

  activeApps(): string[] {
    return this.appOrder.filter((a) => this.owners.has(a));
  }

  refusing(): boolean {
    return Date.now() < this.refuseUntil;
  }

  refuseFor(ms: number): void {
    this.refuseUntil = Date.now() + ms;
  }

  /** Upgrade after the HTTP layer checked auth and parameters. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, apps: string[]): void {
    if (this.refusing()) {
      socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Conn = { ws, apps, id: this.nextId++ };
      this.conns.add(conn);
      for (const app of apps) {
        const old = this.owners.get(app);
        if (old && old !== conn && old.ws.readyState === old.ws.OPEN) {
          old.ws.send(JSON.stringify(this.hooks.makeApplicationReplaced(app)));
        }
        this.owners.set(app, conn);
        if (!this.appOrder.includes(app)) this.appOrder.push(app);
      }
      ws.on('close', () => this.release(conn));
      ws.on('error', () => this.release(conn));
      ws.on('message', () => undefined);
      this.hooks.onAppsConnected(apps);
      this.hooks.onChange();
    });
  }

  private release(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    for (const app of conn.apps) if (this.owners.get(app) === conn) this.owners.delete(app);
    this.hooks.onChange();
  }

  /** Returns true when the event went out on a socket. */
  send(app: string, event: Record<string, unknown>): boolean {
    const conn = this.owners.get(app);
    if (!conn || conn.ws.readyState !== conn.ws.OPEN) return false;
    conn.ws.send(JSON.stringify(event));
    return true;
  }

  /** Drop every socket without a close frame (TCP destroyed), like `_ws.terminate()` / a network cut. */
  dropAll(): void {
    for (const conn of [...this.conns]) {
      conn.ws.terminate();
      this.release(conn);
    }
  }

  connectionCount(): number {
    return this.conns.size;
  }

  close(): void {
    this.dropAll();
    this.wss.close();
  }
}
