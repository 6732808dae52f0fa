/**
 * Where the per-session Opus/Ogg work runs. Encoding and decoding cost a fraction of a millisecond per session
 * per frame, which adds up on the room's event loop with many sessions, so by default it runs in worker threads
 * (`WorkerCodecHost`); `InlineCodecHost` runs the same code in-thread (tests, benches, single-session tools).
 * Either way a session's calls are handled in order and its results come back in order.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { DownstreamDecoder, UpstreamEncoder, type DecodedFrame, type UpstreamOptions } from './stream-codec.ts';

export interface CodecEvents {
  /** Ogg pages to send, in order (header pages come with the first frame) */
  pages(pages: Uint8Array[]): void;
  /** decoded 80 ms output frames, in order */
  frames(frames: DecodedFrame[]): void;
  /** the session's codec failed (corrupt server data, a crashed worker); nothing more will come */
  error(message: string): void;
}

export interface CodecSession {
  encode(frame: Float32Array): void;
  audio(bytes: Uint8Array): void;
  text(piece: string): void;
  close(): void;
}

export interface CodecHost {
  open(events: CodecEvents, options?: UpstreamOptions): CodecSession;
  dispose(): Promise<void>;
}

export class InlineCodecHost implements CodecHost {
  open(events: CodecEvents, options: UpstreamOptions = {}): CodecSession {
    const up = new UpstreamEncoder(options);
    const down = new DownstreamDecoder();
    let failed = false;
    const guard = (fn: () => void) => {
      if (failed) return;
      try {
        fn();
      } catch (err) {
        failed = true;
        events.error((err as Error).message);
      }
    };
    return {
      encode: (frame) => guard(() => events.pages(up.encode(frame))),
      audio: (bytes) =>
        guard(() => {
          const frames = down.pushAudio(bytes);
          if (frames.length) events.frames(frames);
        }),
      text: (piece) => guard(() => down.pushText(piece)),
      close: () => {
        failed = true;
      },
    };
  }

  async dispose(): Promise<void> {}
}

/** Main thread → codec worker. */
export type CodecRequest =
  | { op: 'open'; id: number; options: UpstreamOptions }
  | { op: 'encode'; id: number; pcm: Float32Array }
  | { op: 'audio'; id: number; bytes: Uint8Array }
  | { op: 'text'; id: number; piece: string }
  | { op: 'close'; id: number };

/** Codec worker → main thread. */
export type CodecReply =
  | { id: number; pages: Uint8Array[] }
  | { id: number; frames: DecodedFrame[] }
  | { id: number; error: string };

const BOOTSTRAP = new URL('./codec-worker.mjs', import.meta.url);

class CodecThread {
  readonly worker: Worker;
  readonly sessions = new Map<number, CodecEvents>();
  dead = false;

  constructor(onDeath: (t: CodecThread, why: string) => void) {
    this.worker = new Worker(fileURLToPath(BOOTSTRAP));
    this.worker.unref(); // never keeps the process alive on its own
    this.worker.on('message', (r: CodecReply) => {
      const ev = this.sessions.get(r.id);
      if (!ev) return;
      if ('pages' in r) ev.pages(r.pages);
      else if ('frames' in r) ev.frames(r.frames);
      else {
        this.sessions.delete(r.id);
        ev.error(r.error);
      }
    });
    const die = (why: string) => {
      if (this.dead) return;
      this.dead = true;
      for (const ev of this.sessions.values()) ev.error(`codec worker failed: ${why}`);
      this.sessions.clear();
      void this.worker.terminate();
      onDeath(this, why);
    };
    this.worker.on('error', (err) => die(err.message));
    this.worker.on('exit', (code) => die(`exited with code ${code}`));
  }

  post(req: CodecRequest, transfer: ArrayBuffer[] = []) {
    if (!this.dead) this.worker.postMessage(req, transfer);
  }
}

export class WorkerCodecHost implements CodecHost {
  private threads: CodecThread[] = [];
  private nextId = 1;
  private disposed = false;

  constructor(
    private readonly size = 1,
    private readonly log: (line: string) => void = (l) => console.warn(l),
  ) {
    for (let i = 0; i < Math.max(1, size); i++) this.threads.push(this.spawn());
  }

  private spawn(): CodecThread {
    return new CodecThread((dead, why) => {
      if (this.disposed) return;
      this.log(`[personaplex-server] codec worker failed (${why}); replacing it`);
      // after a pause, so a worker that cannot start at all does not spin
      setTimeout(() => {
        const i = this.threads.indexOf(dead);
        if (i >= 0 && !this.disposed) this.threads[i] = this.spawn();
      }, 1000).unref();
    });
  }

  open(events: CodecEvents, options: UpstreamOptions = {}): CodecSession {
    if (this.disposed) throw new Error('codec host disposed');
    const alive = this.threads.filter((t) => !t.dead);
    if (alive.length === 0) throw new Error('no codec worker is running (all are restarting)');
    let thread = alive[0]!;
    for (const t of alive) if (t.sessions.size < thread.sessions.size) thread = t;
    const id = this.nextId++;
    thread.sessions.set(id, events);
    thread.post({ op: 'open', id, options });
    const live = () => thread.sessions.has(id);
    return {
      encode: (frame) => {
        if (!live()) return;
        const pcm = new Float32Array(frame); // the caller keeps its buffer
        thread.post({ op: 'encode', id, pcm }, [pcm.buffer]);
      },
      audio: (bytes) => live() && thread.post({ op: 'audio', id, bytes }),
      text: (piece) => live() && thread.post({ op: 'text', id, piece }),
      close: () => {
        if (!live()) return;
        thread.sessions.delete(id);
        thread.post({ op: 'close', id });
      },
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    this.threads = [];
  }
}
