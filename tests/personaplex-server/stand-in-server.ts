/**
 * Stand-in for NVIDIA's PersonaPlex server (`python -m moshi.server`), behaving as its code does
 * (moshi/moshi/server.py): GET / answers 404 (no static UI), `/api/chat` takes `text_prompt` and `voice_prompt`
 * from the query and drops the connection on any other key (the real one raises KeyError on `seed`), stores the
 * prompts in state shared by every connection *before* it takes its one-conversation lock (so a client that
 * connects during another's prompt phase gives that conversation its persona), crashes inside the lock on an
 * empty prompt (close 1006), refuses an audio stream whose first page lacks the beginning-of-stream flag, a
 * missing voice file closes the socket without a handshake, one conversation at a time (later clients wait
 * silently), a prompt phase that grows with the prompt during which client messages are read and discarded, then
 * the 0x00 handshake; from there, one output frame per 1920 input samples, each sent as its own Ogg page (sphn-style
 * stream: OpusHead/OpusTags first, pre-skip 3840) with the step's 0x02 text piece just before it. It speaks its
 * words as tone bursts, or echoes what it hears. Faults on request: dies mid-conversation, never handshakes,
 * sends garbage, is slow, or hangs.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BUILTIN_VOICES } from '../../server/persona/persona.ts';
import { DownstreamDecoder, UpstreamEncoder } from '../../server/engines/personaplex-server/stream-codec.ts';

export type Fault =
  | { kind: 'none' }
  /** the whole server goes away (sockets cut, port closed) after this many output frames */
  | { kind: 'die'; afterFrames: number }
  | { kind: 'never-handshake' }
  /**
   * after this many output frames, a message that is not valid: 'ogg' bytes that are no Ogg page, an unknown
   * 'kind', or a protocol 0x05 'error' (as a Moshi-protocol server may send; the official one never does)
   */
  | { kind: 'garbage'; afterFrames: number; what: 'ogg' | 'kind' | 'error' }
  /** each output frame takes this long to produce (over 80 ms is slower than real time) */
  | { kind: 'slow'; frameMs: number }
  /** after this many output frames: no more output, and GET / stops answering (a wedged event loop) */
  | { kind: 'hang'; afterFrames: number };

export interface StandInOptions {
  port?: number;
  promptMs?: number;
  mode?: 'speak' | 'echo';
  /**
   * words spoken in 'speak' mode, each a tone burst; repeated. A word is sent as its text pieces on consecutive
   * frames from the burst's first, as the real server sends one text token per step with '▁' turned into a space:
   * '|' splits a word into pieces, so 'Re|actor|,' sends ' Re', 'actor', ',' (a continuation and punctuation).
   * At most 4 pieces a word (the burst's frames).
   */
  words?: string[];
  /** input frames that produce no output at the start (default 0: the official server answers from the first input frame) */
  warmupFrames?: number;
  fault?: Fault;
  voices?: string[];
  /** prompt phase per word of the text prompt, on top of `promptMs` (the real server steps once per token) */
  promptMsPerWord?: number;
}

export interface StandInStats {
  connections: number;
  conversations: number;
  /** client messages received before the handshake, discarded */
  swallowed: number;
  framesIn: number;
  framesOut: number;
  textsOut: number;
  /** most conversations past the handshake at once (the official server: 1) */
  maxConcurrent: number;
  queries: { text_prompt: string | null; voice_prompt: string | null }[];
  rejected: string[];
  /** the text prompt each conversation actually ran with (from the shared state, as the real server does) */
  ranWith: string[];
  /** connections dropped for an unknown query key, or crashed on an empty prompt */
  dropped: number;
}

const WORD_FRAMES = 4;
const GAP_FRAMES = 2;

export class StandInServer {
  readonly stats: StandInStats = {
    connections: 0, conversations: 0, swallowed: 0, framesIn: 0, framesOut: 0, textsOut: 0, maxConcurrent: 0, queries: [], rejected: [], ranWith: [], dropped: 0,
  };
  /** server.py keeps the prompts on the server object, written by every connection before the lock */
  private shared = { text: '', voice: '' };
  private http: http.Server;
  private wss: WebSocketServer;
  private sockets = new Set<Socket>();
  private lock: Promise<void> = Promise.resolve();
  private active = 0;
  private hung = false;
  dead = false;
  readonly opts: Required<Omit<StandInOptions, 'port'>>;

  private constructor(opts: StandInOptions) {
    this.opts = {
      promptMs: opts.promptMs ?? 200,
      mode: opts.mode ?? 'speak',
      words: opts.words ?? ['Reactor', 'core', 'is', 'failing'],
      warmupFrames: opts.warmupFrames ?? 0,
      fault: opts.fault ?? { kind: 'none' },
      voices: opts.voices ?? BUILTIN_VOICES.map((v) => `${v}.pt`),
      promptMsPerWord: opts.promptMsPerWord ?? 2,
    };
    this.http = http.createServer((req, res) => {
      if (this.hung) return; // never answers
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    });
    this.http.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.http.on('upgrade', (req, socket, head) => {
      if (this.hung) return;
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/api/chat') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.chat(ws, url.searchParams));
    });
  }

  static async start(opts: StandInOptions = {}): Promise<StandInServer> {
    const s = new StandInServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.http.once('error', reject);
      s.http.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    return s;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async chat(ws: WebSocket, q: URLSearchParams) {
    this.stats.connections++;
    const text_prompt = q.get('text_prompt');
    const voice_prompt = q.get('voice_prompt');
    this.stats.queries.push({ text_prompt, voice_prompt });
    let handshaken = false;
    let closed = false;
    ws.on('close', () => (closed = true));
    ws.on('error', () => undefined);
    // Until the handshake, whatever the client sends is read and thrown away (is_alive() in server.py).
    const early = () => {
      if (!handshaken) this.stats.swallowed++;
    };
    ws.on('message', early);
    // server.py: request.query["text_prompt"] raises KeyError; a voice file not in the voice dir raises
    // FileNotFoundError. Either way the socket closes with no handshake.
    if ([...q.keys()].some((k) => k !== 'text_prompt' && k !== 'voice_prompt')) {
      this.stats.dropped++;
      ws.terminate();
      return;
    }
    if (text_prompt === null || voice_prompt === null || !this.opts.voices.includes(voice_prompt)) {
      this.stats.rejected.push(voice_prompt ?? '(no voice_prompt)');
      ws.close(1011);
      return;
    }
    this.shared = { text: text_prompt, voice: voice_prompt };
    // One conversation at a time: wait for the lock without a word.
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.lock;
    this.lock = before.then(() => mine);
    await before;
    try {
      if (closed || this.dead) return;
      // the prompt phase reads the shared state, not this connection's own query
      const prompt = this.shared.text;
      if (prompt.trim() === '') {
        this.stats.dropped++;
        ws.terminate(); // the handler raises inside the lock: close 1006, no handshake
        return;
      }
      await sleep(this.opts.promptMs + this.opts.promptMsPerWord * prompt.split(/\s+/).length);
      if (closed || this.dead) return;
      // a client that connected during the prompt phase has replaced the persona this conversation runs with
      this.stats.ranWith.push(this.shared.text);
      if (this.opts.fault.kind === 'never-handshake') {
        await new Promise<void>((r) => ws.once('close', () => r()));
        return;
      }
      handshaken = true;
      ws.off('message', early);
      ws.send(Uint8Array.of(0x00));
      this.stats.conversations++;
      this.active++;
      this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.active);
      await this.converse(ws);
    } finally {
      if (handshaken) this.active--;
      release();
    }
  }

  private converse(ws: WebSocket): Promise<void> {
    return new Promise((resolve) => {
      const input = new DownstreamDecoder();
      const output = new UpstreamEncoder({ preSkip48k: 3840 });
      const fault = this.opts.fault;
      let step = 0;
      let produced = 0;
      let busyUntil = 0;
      let stopped = false;
      let sawFirstPage = false;
      const stop = () => {
        stopped = true;
        resolve();
      };
      ws.on('close', stop);
      const emit = (inFrame: Float32Array) => {
        if (stopped || this.dead || this.hung) return;
        const k = step++;
        if (k < this.opts.warmupFrames) return;
        const { pcm, piece } = this.generate(k - this.opts.warmupFrames, inFrame);
        if (piece) {
          ws.send(Buffer.concat([Buffer.of(0x02), Buffer.from(piece, 'utf8')]));
          this.stats.textsOut++;
        }
        for (const page of output.encode(pcm)) ws.send(Buffer.concat([Buffer.of(0x01), page]));
        produced++;
        this.stats.framesOut++;
        if (fault.kind === 'die' && produced >= fault.afterFrames) this.kill();
        if (fault.kind === 'hang' && produced >= fault.afterFrames) this.hung = true;
        if (fault.kind === 'garbage' && produced >= fault.afterFrames) {
          const junk = {
            ogg: Buffer.from([0x01, ...Buffer.from('definitely not an ogg page, just noise')]),
            kind: Buffer.of(0x7f, 1, 2, 3),
            error: Buffer.from([0x05, ...Buffer.from('CUDA out of memory')]),
          };
          ws.send(junk[fault.what]);
        }
      };
      ws.on('message', (data: Buffer) => {
        if (stopped || this.hung) return;
        if (data.length === 0 || data[0] !== 0x01) return; // server.py logs "unknown message kind" and carries on
        // sphn's reader needs the stream to begin with a beginning-of-stream page (header_type bit 0x02)
        if (!sawFirstPage) {
          sawFirstPage = true;
          const page = data.subarray(1);
          if (page.length < 6 || page.toString('latin1', 0, 4) !== 'OggS' || (page[5]! & 0x02) === 0) {
            this.stats.dropped++;
            ws.close(1011);
            return;
          }
        }
        let frames;
        try {
          frames = input.pushAudio(new Uint8Array(data.subarray(1)));
        } catch {
          ws.close(1011);
          return;
        }
        for (const f of frames) {
          this.stats.framesIn++;
          if (fault.kind === 'slow') {
            const now = Date.now();
            busyUntil = Math.max(now, busyUntil) + fault.frameMs;
            setTimeout(() => emit(f.pcm), busyUntil - now);
          } else {
            emit(f.pcm);
          }
        }
      });
    });
  }

  /** Step k of the reply: the word pieces in 'speak' mode (text just before its first frame), or the echo. */
  private generate(k: number, heard: Float32Array): { pcm: Float32Array; piece?: string } {
    if (this.opts.mode === 'echo') return { pcm: heard };
    const period = WORD_FRAMES + GAP_FRAMES;
    const w = Math.floor(k / period) % this.opts.words.length;
    const inWord = k % period;
    const pcm = new Float32Array(1920);
    if (inWord < WORD_FRAMES) {
      const f = 300 + 100 * w;
      for (let i = 0; i < pcm.length; i++) pcm[i] = 0.3 * Math.sin((2 * Math.PI * f * (k * 1920 + i)) / 24_000);
    }
    const pieces = this.opts.words[w]!.split('|');
    const piece = inWord < pieces.length && inWord < WORD_FRAMES ? (inWord === 0 ? ` ${pieces[0]}` : pieces[inWord]) : undefined;
    return { pcm, piece: piece || undefined };
  }

  /** Sudden death: every socket cut, the port closed. */
  kill() {
    if (this.dead) return;
    this.dead = true;
    for (const ws of this.wss.clients) ws.terminate();
    for (const s of this.sockets) s.destroy();
    this.http.close();
  }

  async close() {
    this.kill();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
