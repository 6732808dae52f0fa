/**
 * One NPC conversation with a PersonaPlex (or Moshi-protocol) server: a WebSocket to /api/chat carrying the
 * prompts in its query. Nothing is sent before the server's handshake byte (the official server reads and
 * discards messages during its prompt phase). After it, each step sends that frame's Ogg page and plays
 * whatever output has arrived, through a playback queue; `step` never waits on the network.
 */
import WebSocket from 'ws';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { EngineFailure, engineError, type EngineError, type EngineErrorKind, type OpenProgress, type StepOutput } from '../contract.ts';
import type { CodecHost, CodecSession } from './codec-host.ts';
import { PlaybackQueue } from './playback-queue.ts';
import type { CodecOptions } from './stream-codec.ts';
import { audioMessage, parseServerMessage, ProtocolError } from './wire.ts';

export interface ChatSessionOptions {
  /** ws(s)://host:port/api/chat?text_prompt=…&voice_prompt=… */
  url: string;
  codec: CodecHost;
  /** the session's codec: Opus settings upstream, the server's text/audio order downstream */
  opus?: CodecOptions;
  handshakeTimeoutMs: number;
  /** rough expected prompt-phase length, only to shape the progress fraction */
  expectedPromptMs: number;
  jitterTarget: number;
  jitterMax: number;
  /** sent minus received frames beyond which the server counts as too slow (or hung) */
  maxLagFrames: number;
  /** bytes queued on the socket beyond which the server counts as not reading */
  maxBufferedBytes: number;
  insecureTls?: boolean;
  /** called once when the session fails after its handshake, with the typed reason */
  onFailure?: (error: EngineError) => void;
}

/**
 * Why open() failed. 'connect': the server could not be reached (try another); 'handshake': it took the
 * connection but never handshook or broke the protocol; 'rejected': it refused this conversation (HTTP error, or
 * closed before the handshake, as the official server does for a voice file it lacks) — about the request, not
 * the server's health. 'aborted': cancelled, or failed on this side.
 */
export type OpenStage = 'connect' | 'handshake' | 'rejected' | 'aborted';

const KIND_OF_STAGE: Record<OpenStage, EngineErrorKind> = { connect: 'unreachable', handshake: 'timeout', rejected: 'rejected', aborted: 'failed' };

export class OpenError extends EngineFailure {
  override name = 'OpenError';
  constructor(
    message: string,
    readonly stage: OpenStage,
  ) {
    super(KIND_OF_STAGE[stage], message);
  }
}

export class ChatSession {
  private ws: WebSocket | null = null;
  private codec: CodecSession | null = null;
  private readonly playback: PlaybackQueue;
  private sent = 0;
  private received = 0;
  private failure: EngineError | null = null;
  private closing = false;

  constructor(private readonly opts: ChatSessionOptions) {
    this.playback = new PlaybackQueue(opts.jitterTarget, opts.jitterMax);
  }

  /** frames sent that have not come back yet */
  get lag(): number {
    return this.sent - this.received;
  }

  /** Connects and waits for the handshake. Rejects with OpenError; never leaves a socket open on failure. */
  start(onProgress?: (p: OpenProgress) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let connected = false;
      let settled = false;
      const ws = new WebSocket(this.opts.url, { perMessageDeflate: false, rejectUnauthorized: !this.opts.insecureTls });
      ws.binaryType = 'nodebuffer';
      this.ws = ws;
      const progress = setInterval(() => {
        if (!connected) return;
        // The prompt phase length is only estimated; the fraction creeps towards 0.95 and jumps to 1 on handshake.
        const t = (Date.now() - started) / Math.max(1, this.opts.expectedPromptMs);
        onProgress?.({ phase: 'prompt', fraction: Math.min(0.95, 0.05 + 0.9 * (1 - Math.exp(-2 * t))) });
      }, 250);
      const timeout = setTimeout(
        () => fail(new OpenError(`no handshake within ${this.opts.handshakeTimeoutMs} ms (server busy with another conversation, or hung)`, 'handshake')),
        this.opts.handshakeTimeoutMs,
      );
      const onAbort = () => fail(new OpenError('open cancelled', 'aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearInterval(progress);
        clearTimeout(timeout);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: OpenError) => {
        if (settled) return;
        settled = true;
        cleanup();
        this.failure = engineError(err.kind, err.message);
        this.closing = true;
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(err);
      };
      if (signal?.aborted) return onAbort();

      onProgress?.({ phase: 'connecting', fraction: 0 });
      ws.on('open', () => {
        connected = true;
        onProgress?.({ phase: 'prompt', fraction: 0.05 });
      });
      ws.on('unexpected-response', (_req, res) =>
        fail(new OpenError(`server answered HTTP ${res.statusCode} instead of a WebSocket (is the URL a PersonaPlex server?)`, 'rejected')),
      );
      ws.on('error', (err) => fail(new OpenError(`${connected ? 'connection lost' : 'cannot connect'}: ${err.message}`, connected ? 'handshake' : 'connect')));
      ws.on('close', (code, reason) =>
        fail(
          new OpenError(
            `server closed the connection before its handshake (code ${code}${reason.length ? `, ${reason}` : ''}; ` +
              `a voice_prompt file missing on the server does this — see its log)`,
            'rejected',
          ),
        ),
      );
      ws.on('message', (data: Buffer, isBinary) => {
        if (settled) return;
        let kind: string;
        try {
          if (!isBinary) throw new ProtocolError('text frame from server (binary expected)');
          kind = parseServerMessage(data).kind;
        } catch (err) {
          return fail(new OpenError(`bad message before handshake: ${(err as Error).message}`, 'handshake'));
        }
        if (kind === 'ignored') return;
        if (kind !== 'handshake') return fail(new OpenError(`server sent ${kind} before its handshake`, 'handshake'));
        try {
          this.attach(ws);
        } catch (err) {
          return fail(new OpenError(`cannot start the audio codec: ${(err as Error).message}`, 'aborted'));
        }
        settled = true;
        cleanup();
        onProgress?.({ phase: 'prompt', fraction: 1 });
        resolve();
      });
    });
  }

  private attach(ws: WebSocket) {
    this.codec = this.opts.codec.open(
      {
        pages: (pages) => {
          if (this.failure || ws.readyState !== WebSocket.OPEN) return;
          for (const page of pages) ws.send(audioMessage(page));
        },
        frames: (frames) => {
          for (const f of frames) this.playback.push(f);
          this.received += frames.length;
        },
        error: (message) => this.fail('failed', `bad audio from server: ${message}`),
      },
      this.opts.opus,
    );
    ws.removeAllListeners('message');
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    ws.on('message', (data: Buffer, isBinary) => {
      if (this.failure) return;
      try {
        if (!isBinary) throw new ProtocolError('text frame from server (binary expected)');
        const msg = parseServerMessage(data);
        if (msg.kind === 'audio') this.codec!.audio(new Uint8Array(msg.data));
        else if (msg.kind === 'text') this.codec!.text(msg.text);
        else if (msg.kind === 'error') this.fail('failed', `server error: ${msg.text}`);
        else if (msg.kind === 'handshake') throw new ProtocolError('second handshake');
      } catch (err) {
        this.fail('failed', `protocol error: ${(err as Error).message}`);
      }
    });
    ws.on('error', (err) => this.fail('unreachable', `connection error: ${err.message}`));
    ws.on('close', (code, reason) => {
      if (!this.closing) this.fail('crashed', `server ended the conversation (code ${code}${reason.length ? `, ${reason}` : ''})`);
    });
  }

  /** One tick: send this frame, play what has arrived. Always returns at once. */
  step(input: Float32Array): StepOutput {
    const silence = () => new Float32Array(FRAME_SAMPLES);
    if (this.failure) return { session: 0, output: silence(), error: this.failure };
    if (input.length !== FRAME_SAMPLES) return { session: 0, output: silence(), error: engineError('rejected', `input frame of ${input.length} samples, expected ${FRAME_SAMPLES}`) };
    if (this.ws && this.ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.fail('timeout', `server stopped reading (${this.ws.bufferedAmount} bytes queued)`);
    } else if (this.lag > this.opts.maxLagFrames) {
      this.fail('timeout', `server fell ${this.lag} frames (${(this.lag * 0.08).toFixed(1)} s) behind real time: too slow, or hung`);
    }
    if (this.failure) return { session: 0, output: silence(), error: this.failure };
    this.codec!.encode(input);
    this.sent++;
    const f = this.playback.pop();
    return f ? { session: 0, output: f.pcm, ...(f.text !== undefined ? { text: f.text } : {}) } : { session: 0, output: silence() };
  }

  /**
   * Marks the session failed (every later step reports it) and hangs up. 'timeout' means the server stalled
   * (too slow, or not reading); the engine benches such a server.
   */
  fail(kind: EngineErrorKind, message: string) {
    if (this.failure) return;
    this.failure = engineError(kind, message);
    this.hangUp();
    this.opts.onFailure?.(this.failure);
  }

  close() {
    this.failure ??= engineError('rejected', 'session closed');
    this.hangUp();
  }

  private hangUp() {
    this.closing = true;
    this.codec?.close();
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000);
      // a server that never completes the closing handshake is cut off
      setTimeout(() => ws.terminate(), 2000).unref();
    } else if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
    }
  }
}
