/**
 * Stand-in for NVIDIA's PersonaPlex server (`python -m moshi.server`), behaving as its code does
 * (moshi/moshi/server.py, with sphn 0.1.x for Ogg Opus):
 * - GET / answers 404 (no static UI); the WebSocket is accepted first, then the handler reads its query.
 * - `text_prompt` and `voice_prompt` are read with `request.query[…]`: a missing one raises KeyError, and a voice
 *   file not in the voice directory raises FileNotFoundError, both before the lock: the connection drops (1006)
 *   with no handshake. The real server raises KeyError on `seed` and ignores other keys; the stand-in drops the
 *   connection on any key but the two (stricter: Parley must send nothing else).
 * - The prompts are stored in state shared by every connection *before* the one-conversation lock, so a client
 *   that connects during another's prompt phase gives that conversation its persona (`stats.ranWith`).
 * - One conversation at a time; later clients wait silently. An empty prompt (length 0) fails inside the lock
 *   (iterating `None` tokens): close 1006, no handshake. A whitespace-only prompt does not fail there (it becomes
 *   "<system>  <system>") and runs with no persona.
 * - The prompt phase grows with the prompt (one step per token plus a 10 ms wait); client messages during it are
 *   read and thrown away. Then the 0x00 handshake, then at once the OpusHead and OpusTags pages as two messages.
 * - The client's stream is read as sphn reads it (sphn-stream.ts): its first page must carry the
 *   beginning-of-stream flag, CRCs must hold, granules and pre-skip are ignored (every decoded sample counts).
 *   The first bad page stops the reader; the server then closes the socket normally (1000).
 * - From the first input frame on (no warm-up), one output page per 1920 input samples, granules at 24 kHz,
 *   pre-skip 3840, with the step's 0x02 text piece just before it ('text-first'; Kyutai's own server sends the
 *   audio first: `order: 'audio-first'`). Pieces as the tokenizer makes them: a word start with a space, then
 *   continuation pieces and punctuation.
 * It speaks its words as tone bursts, or echoes what it hears. Its Opus and Ogg code is not Parley's
 * (sphn-stream.ts). Faults on request: dies mid-conversation, never handshakes, sends garbage, is slow, or hangs.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BUILTIN_VOICES } from '../../server/persona/persona.ts';
import { SphnStreamReader, SphnStreamWriter } from './sphn-stream.ts';

const FRAME = 1920;

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
  /**
   * 'text-first' (default): a step's text piece just before its audio page, as NVIDIA's server sends them;
   * 'audio-first': the page, then the piece, as Kyutai's moshi server does.
   */
  order?: 'text-first' | 'audio-first';
  fault?: Fault;
  voices?: string[];
  /** prompt phase per word of the text prompt, on top of `promptMs` (the real server steps once per token, then waits 10 ms) */
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
  /** connections dropped for an unknown query key, crashed on an empty prompt, or closed on a bad client stream */
  dropped: number;
  /** why each conversation's reader of the client stream stopped (sphn's reader ends on the first bad page) */
  streamErrors: string[];
}

const WORD_FRAMES = 4;
const GAP_FRAMES = 2;

export class StandInServer {
  readonly stats: StandInStats = {
    connections: 0, conversations: 0, swallowed: 0, framesIn: 0, framesOut: 0, textsOut: 0, maxConcurrent: 0, queries: [], rejected: [], ranWith: [], dropped: 0, streamErrors: [],
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
      order: opts.order ?? 'text-first',
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
    // server.py reads the query after accepting the WebSocket: request.query["text_prompt"] raises KeyError, so
    // does request["seed"], and a voice file not in the voice dir raises FileNotFoundError. All before the lock:
    // the handler fails and the socket drops (1006) with no handshake.
    if ([...q.keys()].some((k) => k !== 'text_prompt' && k !== 'voice_prompt')) {
      this.stats.dropped++;
      ws.terminate();
      return;
    }
    if (text_prompt === null || voice_prompt === null || !this.opts.voices.includes(voice_prompt)) {
      this.stats.rejected.push(voice_prompt ?? '(no voice_prompt)');
      ws.terminate();
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
      if (prompt.length === 0) {
        // text_prompt_tokens is None for an empty prompt, and the text-prompt step iterates it: the handler
        // raises inside the lock, close 1006, no handshake. (Whitespace alone is wrapped in <system> tags and runs.)
        this.stats.dropped++;
        ws.terminate();
        return;
      }
      const words = `<system> ${prompt.trim()} <system>`.split(/\s+/).length;
      // each prompt step ends with is_alive(): a client that has gone stops the prompt phase within a step
      const promptEnd = Date.now() + this.opts.promptMs + this.opts.promptMsPerWord * words;
      while (Date.now() < promptEnd && !closed && !this.dead) await sleep(Math.min(10, promptEnd - Date.now()));
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
      const reader = new SphnStreamReader();
      const writer = new SphnStreamWriter();
      const fault = this.opts.fault;
      let inPcm = new Float32Array(0);
      let step = 0;
      let busyUntil = 0;
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        reader.close();
        writer.close();
        resolve();
      };
      ws.on('close', stop);
      // send_loop: whatever the writer holds, one chunk (page) a message; right after the handshake that is the
      // OpusHead page and the OpusTags page, made when the writer was
      const flush = () => {
        for (let chunk = writer.read(); chunk; chunk = writer.read()) ws.send(Buffer.concat([Buffer.of(0x01), chunk]));
      };
      flush();
      const emit = (inFrame: Float32Array) => {
        if (stopped || this.dead || this.hung) return;
        const { pcm, piece } = this.generate(step++, inFrame);
        const text = () => {
          if (!piece) return;
          ws.send(Buffer.concat([Buffer.of(0x02), Buffer.from(piece, 'utf8')]));
          this.stats.textsOut++;
        };
        writer.appendPcm(pcm);
        if (this.opts.order === 'text-first') text();
        flush();
        if (this.opts.order === 'audio-first') text();
        this.stats.framesOut++;
        if (fault.kind === 'die' && step >= fault.afterFrames) this.kill();
        if (fault.kind === 'hang' && step >= fault.afterFrames) this.hung = true;
        if (fault.kind === 'garbage' && step >= fault.afterFrames) {
          const junk = {
            ogg: Buffer.from([0x01, ...Buffer.from('definitely not an ogg page, just noise')]),
            kind: Buffer.of(0x7f, 1, 2, 3),
            error: Buffer.from([0x05, ...Buffer.from('CUDA out of memory')]),
          };
          ws.send(junk[fault.what]);
        }
      };
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (stopped || this.hung) return;
        // server.py logs and skips text frames, empty messages and unknown kinds
        if (!isBinary || data.length === 0 || data[0] !== 0x01) return;
        reader.append(new Uint8Array(data.subarray(1)));
        const got = reader.readPcm();
        if (got.length) {
          const all = new Float32Array(inPcm.length + got.length);
          all.set(inPcm, 0);
          all.set(got, inPcm.length);
          inPcm = all;
        }
        // opus_loop: a model step per 1920 samples decoded, pre-skip or not
        while (inPcm.length >= FRAME) {
          const f = inPcm.slice(0, FRAME);
          inPcm = inPcm.slice(FRAME);
          this.stats.framesIn++;
          if (fault.kind === 'slow') {
            const now = Date.now();
            busyUntil = Math.max(now, busyUntil) + fault.frameMs;
            setTimeout(() => emit(f), busyUntil - now);
          } else {
            emit(f);
          }
        }
        if (reader.error) {
          // sphn's reader thread has ended: read_pcm() gives None, opus_loop fails on it, and the handler closes
          // the socket normally
          this.stats.streamErrors.push(reader.error);
          this.stats.dropped++;
          stop();
          ws.close(1000);
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
    const pcm = new Float32Array(FRAME);
    if (inWord < WORD_FRAMES) {
      const f = 300 + 100 * w;
      for (let i = 0; i < pcm.length; i++) pcm[i] = 0.3 * Math.sin((2 * Math.PI * f * (k * FRAME + i)) / 24_000);
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
