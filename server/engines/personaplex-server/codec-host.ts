/**
 * Where the per-session Opus/Ogg work runs. Encoding and decoding cost a fraction of a millisecond per session
 * per frame, which adds up on the room's event loop with many sessions, so by default it runs in worker threads
 * (`WorkerCodecHost`); `InlineCodecHost` runs the same code in-thread (tests, benches, single-session tools).
 * Either way a session's calls are handled in order and its results come back in order.
 */
import { silentLogger, type Logger } from '../../log.ts';
import { WorkerHost } from '../worker/host.ts';
import { DownstreamDecoder, UpstreamEncoder, type CodecOptions, type DecodedFrame } from './stream-codec.ts';

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
  open(events: CodecEvents, options?: CodecOptions): CodecSession;
  /** Resolves once every codec thread answers (booted, wasm loaded), so a first session's frames do not queue behind it. */
  ready(): Promise<void>;
  dispose(): Promise<void>;
}

export class InlineCodecHost implements CodecHost {
  open(events: CodecEvents, options: CodecOptions = {}): CodecSession {
    const up = new UpstreamEncoder(options);
    const down = new DownstreamDecoder(options);
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

  async ready(): Promise<void> {}

  async dispose(): Promise<void> {}
}

/** Main thread → codec worker: one request per call, each answered in order. */
export type CodecRequest =
  | { op: 'open'; id: number; options: CodecOptions }
  | { op: 'encode'; id: number; pcm: Float32Array }
  | { op: 'audio'; id: number; bytes: Uint8Array }
  | { op: 'text'; id: number; piece: string }
  | { op: 'close'; id: number }
  /** answered once the worker has loaded its codec */
  | { op: 'ping'; id: 0 };

/** Codec worker → main thread: encode answers with pages, audio with the frames it completed. */
export type CodecReply = Uint8Array[] | DecodedFrame[] | undefined;

const CODEC_WORKER = new URL('./codec-worker.ts', import.meta.url);

class CodecThread {
  readonly host: WorkerHost<CodecRequest>;
  readonly sessions = new Map<number, CodecEvents>();

  constructor(log: Logger) {
    this.host = new WorkerHost<CodecRequest>({
      module: CODEC_WORKER,
      name: 'codec worker',
      log,
      respawn: 'eager',
      // a worker that cannot start at all does not spin
      backoff: { initialMs: 1000, maxMs: 30_000 },
      keepAlive: 'never',
      // its sessions cannot go on without their codec state
      onDeath: (why) => {
        for (const ev of this.sessions.values()) ev.error(`codec worker failed: ${why}`);
        this.sessions.clear();
      },
    });
  }
}

export class WorkerCodecHost implements CodecHost {
  private threads: CodecThread[] = [];
  private nextId = 1;
  private disposed = false;

  constructor(size = 1, log: Logger = silentLogger) {
    for (let i = 0; i < Math.max(1, size); i++) this.threads.push(new CodecThread(log.child({ codecWorker: i })));
  }

  open(events: CodecEvents, options: CodecOptions = {}): CodecSession {
    if (this.disposed) throw new Error('codec host disposed');
    const alive = this.threads.filter((t) => t.host.alive);
    if (alive.length === 0) throw new Error('no codec worker is running (all are restarting)');
    let thread = alive[0]!;
    for (const t of alive) if (t.sessions.size < thread.sessions.size) thread = t;
    const id = this.nextId++;
    thread.sessions.set(id, events);
    const live = () => thread.sessions.has(id);
    // Requests go out at once, in call order; replies come back in the same order.
    const send = (req: CodecRequest, transfer?: ArrayBuffer[]) =>
      thread.host.requestNow<CodecReply>(req, { transfer }).catch((err: Error) => {
        // a crash is reported to every session by onDeath; this is the session's own failure (corrupt data)
        if (thread.sessions.delete(id) && thread.host.alive) events.error(err.message);
        return undefined;
      });
    void send({ op: 'open', id, options });
    return {
      encode: (frame) => {
        if (!live()) return;
        const pcm = new Float32Array(frame); // the caller keeps its buffer
        void send({ op: 'encode', id, pcm }, [pcm.buffer]).then((pages) => {
          if (live() && pages) events.pages(pages as Uint8Array[]);
        });
      },
      audio: (bytes) => {
        if (!live()) return;
        void send({ op: 'audio', id, bytes }).then((frames) => {
          if (live() && frames && frames.length) events.frames(frames as DecodedFrame[]);
        });
      },
      text: (piece) => {
        if (live()) void send({ op: 'text', id, piece });
      },
      close: () => {
        if (!live()) return;
        thread.sessions.delete(id);
        void send({ op: 'close', id });
      },
    };
  }

  async ready(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.host.request({ op: 'ping', id: 0 })));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(this.threads.map((t) => t.host.dispose()));
    this.threads = [];
  }
}
