/**
 * PersonaPlex through its official server protocol: each NPC session is a WebSocket conversation with one of a
 * pool of PersonaPlex (or Moshi-protocol, e.g. vLLM-Omni duplex) servers. The engine's capacity is the pool's.
 *
 * Why not hosted by WorkerPoolEngine like the in-process engines: its worker handles one request at a time, and an
 * open here waits seconds (the server's prompt phase) or longer (queued behind another conversation), which would
 * hold up every step of that worker past its deadline. The network side is all asynchronous I/O, so it stays on
 * the caller's thread, and the real CPU work (Opus and Ogg, per session per frame) runs in codec worker threads.
 */
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { EngineFailure, engineError, type DuplexEngine, type OpenOptions, type OpenProgress, type Persona, type SessionId, type StepInput, type StepOutput } from '../contract.ts';
import { InlineCodecHost, WorkerCodecHost, type CodecHost } from './codec-host.ts';
import { ChatSession, OpenError } from './chat-session.ts';
import { silentLogger, type Logger } from '../../log.ts';
import type { PersonaPlexHostConfig } from './config.ts';
import { ServerPool, type PoolTiming, type PooledServer, type ServerStatus } from './server-pool.ts';
import type { UpstreamOptions } from './stream-codec.ts';
import { voicePromptName } from './voice.ts';
import { promptPhase, wrapWithSystemTags } from '../../persona/prompt.ts';
import { estimateTokens } from '../../persona/tokens.ts';
import { LocalSeatLeases, type SeatLease, type SeatLeases } from '../../cluster/seat-leases.ts';

export interface PersonaPlexServerOptions {
  servers: PersonaPlexHostConfig[];
  /**
   * Frames by which a text piece leads the audio of its word. Default 0: the server's LMGen returns each step's
   * text token and audio frame for the same time position (the acoustic delay is undone before output), and the
   * model is trained with a word's text token at the frame where the word starts; the piece rides on that frame.
   */
  textLeadFrames?: number;
  /**
   * The order in which the server sends a step's text piece and audio page: 'before-audio' (default; NVIDIA's
   * server) or 'after-audio' (Kyutai's moshi server, which sends the page first). With 'after-audio' each
   * output frame waits for the next page, so a piece still rides on its own frame (80 ms more latency).
   */
  textOrder?: 'before-audio' | 'after-audio';
  /**
   * waiting for the handshake beyond the prompt phase itself (connect, queueing, a slow first step). The prompt
   * phase is added per prompt: the official server runs one model step per prompt step and waits 10 ms after
   * each, so a long prompt needs proportionally longer (a fixed limit would time out and retry forever).
   */
  handshakeTimeoutMs?: number;
  /** added to the handshake limit per prompt step (default: twice the estimated step time plus the server's 10 ms pause) */
  handshakeMsPerStep?: number;
  /** waiting for a managed server that is still loading, before giving up on an open */
  loadingWaitMs?: number;
  /** frames queued before playback starts (each adds 80 ms of latency, absorbs 80 ms of network jitter) */
  jitterFrames?: number;
  /** frames queued beyond which the oldest are dropped */
  maxBufferedFrames?: number;
  /** a session whose server is this many frames behind real time fails (slow or hung server) */
  maxLagFrames?: number;
  /** the official server (aiohttp) refuses request lines over 8190 bytes; the prompt travels in the URL */
  maxRequestLineBytes?: number;
  /** prompt-phase steps per second and voice-prompt frames, only to shape open progress */
  promptEstimate?: { stepsPerSecond: number; voiceFrames: number };
  timing?: Partial<PoolTiming>;
  /** 'worker' (default): Opus/Ogg in worker threads; 'inline': on this thread */
  codec?: 'worker' | 'inline';
  codecWorkers?: number;
  opus?: UpstreamOptions;
  /**
   * Who may use which server seat. Default: this process alone (LocalSeatLeases). In cluster mode, Redis leases
   * (server/cluster/seat-leases.ts): a seat is used by one game-server process at a time.
   */
  leases?: SeatLeases;
  log?: Logger;
}

/** Default time allowed per prompt step: the step at half the estimated speed, plus the server's 10 ms pause. */
export function handshakeMsPerStep(stepsPerSecond: number): number {
  return 2_000 / stepsPerSecond + 10;
}

/** Handshake limit for a prompt of `steps` model steps. */
export function handshakeLimitMs(baseMs: number, steps: number, msPerStep: number): number {
  return Math.round(baseMs + steps * msPerStep);
}

interface Open {
  chat: ChatSession;
  server: PooledServer;
  lease: SeatLease;
}

export class PersonaPlexServerEngine implements DuplexEngine {
  readonly name = 'personaplex-server';
  readonly label: string;
  readonly capacity: number;
  readonly textLeadFrames: number;
  private readonly pool: ServerPool;
  private readonly codec: CodecHost;
  private sessions = new Map<SessionId, Open>();
  private nextId = 1;
  private readonly leases: SeatLeases;
  private readonly o: Required<Omit<PersonaPlexServerOptions, 'servers' | 'timing' | 'opus' | 'log' | 'codecWorkers' | 'leases'>> & {
    opus: UpstreamOptions;
  };
  private readonly log: Logger;
  private disposed = false;

  private constructor(opts: PersonaPlexServerOptions) {
    this.log = opts.log ?? silentLogger;
    this.pool = new ServerPool(opts.servers, opts.timing, this.log);
    this.leases = opts.leases ?? new LocalSeatLeases();
    this.capacity = this.pool.capacity;
    this.textLeadFrames = opts.textLeadFrames ?? 0;
    if (!Number.isInteger(this.textLeadFrames) || this.textLeadFrames < 0) throw new Error('textLeadFrames must be a whole number ≥ 0');
    const textOrder = opts.textOrder ?? 'before-audio';
    if (textOrder !== 'before-audio' && textOrder !== 'after-audio') throw new Error("textOrder must be 'before-audio' or 'after-audio'");
    this.o = {
      textLeadFrames: this.textLeadFrames,
      textOrder,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 60_000,
      loadingWaitMs: opts.loadingWaitMs ?? 10 * 60_000,
      jitterFrames: opts.jitterFrames ?? 2,
      maxBufferedFrames: opts.maxBufferedFrames ?? 8,
      maxLagFrames: opts.maxLagFrames ?? 25,
      maxRequestLineBytes: opts.maxRequestLineBytes ?? 8190,
      promptEstimate: opts.promptEstimate ?? { stepsPerSecond: 40, voiceFrames: 60 },
      handshakeMsPerStep: opts.handshakeMsPerStep ?? handshakeMsPerStep(opts.promptEstimate?.stepsPerSecond ?? 40),
      codec: opts.codec ?? 'worker',
      opus: opts.opus ?? {},
    };
    this.codec = this.o.codec === 'inline' ? new InlineCodecHost() : new WorkerCodecHost(opts.codecWorkers ?? 1, this.log);
    const n = this.pool.servers.length;
    this.label = `PersonaPlex-7B on ${n} server${n === 1 ? '' : 's'} (${this.capacity} conversation${this.capacity === 1 ? '' : 's'})`;
  }

  /** Builds the engine and probes every server once (managed servers keep loading in the background). */
  static async start(opts: PersonaPlexServerOptions): Promise<PersonaPlexServerEngine> {
    const engine = new PersonaPlexServerEngine(opts);
    try {
      // the codec threads boot while the servers are probed; a session opened right after start must not have
      // its first frames queue behind a booting thread
      await Promise.all([engine.pool.start(), engine.codec.ready()]);
    } catch (err) {
      await engine.dispose();
      throw err;
    }
    return engine;
  }

  /** Per server: state, load, why it is down, loading progress. For HUDs, logs and metrics. */
  status(): ServerStatus[] {
    return this.pool.status();
  }

  /** Per server URL: seats leased by any game-server process now (this one alone without a cluster). */
  async seatsLeased(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const s of this.pool.servers) out.set(s.chatUrl.href, await this.leases.leased(s.chatUrl.href, s.capacity));
    return out;
  }

  private chatUrl(server: PooledServer, persona: Persona): URL {
    const url = new URL(server.chatUrl);
    url.searchParams.set('text_prompt', persona.textPrompt.trim());
    url.searchParams.set('voice_prompt', voicePromptName(persona.voice));
    // `seed` is not sent: the official server reads it from the wrong place and fails the request.
    const line = url.pathname.length + url.search.length;
    if (line > this.o.maxRequestLineBytes) {
      throw new EngineFailure(
        'rejected',
        `the compiled prompt is too long for the server's request line (${line} bytes URL-encoded, limit ${this.o.maxRequestLineBytes}); shorten the character sheet`,
      );
    }
    return url;
  }

  async open(persona: Persona, options: OpenOptions = {}): Promise<SessionId> {
    if (this.disposed) throw new Error('engine disposed');
    if (!persona || typeof persona.textPrompt !== 'string') throw new Error('persona has no text prompt');
    // the official server fails inside its conversation lock on an empty prompt (close 1006): refuse it here
    if (persona.textPrompt.trim() === '') throw new EngineFailure('rejected', 'the compiled text prompt is empty; give the character sheet a persona');
    voicePromptName(persona.voice); // a bad voice fails here, before any server is touched
    const { signal } = options;
    let report = options.onProgress;
    const waitUntil = Date.now() + this.o.loadingWaitMs;
    const tried: string[] = [];
    // servers whose every seat another process leases now: skipped for this open
    const leasedElsewhere = new Set<PooledServer>();
    for (;;) {
      if (signal?.aborted) throw new Error('open cancelled');
      const server = this.pool.pick(leasedElsewhere);
      if (server) {
        const id = await this.tryServer(server, persona, report, signal, tried, leasedElsewhere);
        if (id !== null) return id;
        continue; // that server could not be reached (benched) or is leased elsewhere; try the next
      }
      const loading = this.pool.loading();
      if (loading && Date.now() < waitUntil) {
        // A managed server is still loading: show its progress in the first half of the bar.
        const p = loading.state === 'starting' ? loading.process?.progress : undefined;
        options.onProgress?.({ phase: `server loading: ${p?.phase ?? 'restarting'}`, fraction: 0.5 * (p?.fraction ?? 0) });
        const outer = options.onProgress;
        report = outer && ((q: OpenProgress) => outer({ phase: q.phase, fraction: 0.5 + 0.5 * q.fraction }));
        await this.pool.waitForChange(1000, signal);
        continue;
      }
      // every server up but full (here or leased by another process) is 'busy' (try later); none up is 'unreachable'
      const kind = this.pool.status().some((s) => s.state === 'up') ? 'busy' : 'unreachable';
      if (leasedElsewhere.size) tried.push(`${[...leasedElsewhere].map((s) => s.httpBase.host).join(', ')}: every seat leased by another game server`);
      throw new EngineFailure(kind, `no PersonaPlex server can take a conversation now (${this.describe()})${tried.length ? `; tried: ${tried.join('; ')}` : ''}`);
    }
  }

  private describe(): string {
    return this.pool
      .status()
      .map((s) => `${new URL(s.url).host} ${s.state}${s.state === 'up' ? ` ${s.active}/${s.capacity} busy` : s.reason ? ` (${s.reason})` : ''}`)
      .join(', ');
  }

  /** One attempt on one server: the session id, or null when the server was unreachable (benched; try another). */
  private async tryServer(
    server: PooledServer,
    persona: Persona,
    onProgress: OpenOptions['onProgress'],
    signal: AbortSignal | undefined,
    tried: string[],
    leasedElsewhere: Set<PooledServer>,
  ): Promise<SessionId | null> {
    const url = this.chatUrl(server, persona);
    // no tokenizer here: the estimate errs high, which only slows the progress bar's creep and lengthens the limit
    const tokens = estimateTokens(wrapWithSystemTags(persona.textPrompt));
    const est = this.o.promptEstimate;
    const steps = promptPhase(est.voiceFrames, tokens).total;
    // counted here first, so no other open of this process picks the seat while the lease is asked for
    this.pool.reserve(server);
    let lease: SeatLease | null;
    try {
      lease = await this.leases.acquire(server.chatUrl.href, server.capacity);
    } catch (err) {
      this.pool.release(server);
      throw new EngineFailure('unreachable', `could not lease a seat on ${server.httpBase.host}: ${(err as Error).message}`);
    }
    if (!lease) {
      this.pool.release(server);
      leasedElsewhere.add(server);
      return null;
    }
    const held = lease;
    const chat = new ChatSession({
      url: url.href,
      codec: this.codec,
      opus: { ...this.o.opus, textOrder: this.o.textOrder },
      handshakeTimeoutMs: handshakeLimitMs(this.o.handshakeTimeoutMs, steps, this.o.handshakeMsPerStep),
      expectedPromptMs: (steps / est.stepsPerSecond) * 1000,
      jitterTarget: this.o.jitterFrames,
      jitterMax: this.o.maxBufferedFrames,
      maxLagFrames: this.o.maxLagFrames,
      maxBufferedBytes: 512 * 1024,
      insecureTls: server.config.insecureTls,
      onFailure: (error) => {
        server.tenants.delete(chat);
        this.pool.release(server);
        void held.release();
        // A stalled or silent server is benched; one that said why (an error message, a clean close) is not.
        if (error.kind === 'timeout') this.pool.strike(server, error.message);
      },
    });
    // another process may take the seat once the lease is lost: stop using it at once
    held.onLost(() => chat.fail('crashed', `lost the lease on ${server.httpBase.host}'s seat ${held.seat} (Redis unreachable or too slow)`));
    try {
      await chat.start(onProgress, signal);
    } catch (err) {
      this.pool.release(server);
      void held.release();
      const e = err as OpenError;
      const where = server.httpBase.host;
      if (e.stage === 'connect') {
        this.pool.strike(server, e.message);
        tried.push(`${where}: ${e.message}`);
        return null;
      }
      if (e.stage === 'handshake') this.pool.strike(server, e.message);
      throw new EngineFailure(e.kind, `PersonaPlex server ${where}: ${e.message}`);
    }
    this.pool.succeeded(server);
    if (this.disposed) {
      chat.close();
      this.pool.release(server);
      void held.release();
      throw new Error('engine disposed');
    }
    server.tenants.add(chat);
    const id = this.nextId++;
    this.sessions.set(id, { chat, server, lease: held });
    return id;
  }

  async step(batch: StepInput[]): Promise<StepOutput[]> {
    return batch.map(({ session, input }) => {
      const s = this.sessions.get(session);
      if (!s) return { session, output: new Float32Array(FRAME_SAMPLES), error: engineError('rejected', `unknown session ${session}`) };
      return { ...s.chat.step(input), session };
    });
  }

  async close(session: SessionId): Promise<void> {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    if (s.server.tenants.delete(s.chat)) this.pool.release(s.server);
    s.chat.close();
    await s.lease.release();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of [...this.sessions.keys()]) await this.close(id);
    await this.pool.dispose();
    await this.codec.dispose();
  }
}
