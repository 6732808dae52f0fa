/**
 * PersonaPlex in onnxruntime-node: the Moshi/PersonaPlex LMGen loop in TypeScript over the four graphs of a
 * mobius export. One instance holds the model; every session it hosts advances in one batched run per graph
 * per step: Mimi encoder once, temporal once with B sessions (per-row masks and positions), depformer once per
 * codebook with B sessions, Mimi decoder once. Hosted in a worker thread by WorkerPoolEngine, because
 * `session.run()` blocks.
 *
 * Prompt phase (NVIDIA/personaplex `step_system_prompts`): voice prompt, 6 silence frames, the persona text
 * wrapped as `<system> … <system>` one token per frame, 6 silence frames. Every stream is forced during the
 * prompt, so sampling cannot change the state: the prompt's temporal inputs are known in advance and run as
 * one prefill (chunks of `prefillChunk` frames), the depformer is skipped, and the result (token ring + KV)
 * is kept as a persona snapshot that later sessions of the same persona and voice start from.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { access } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { engineError, type DuplexEngine, type EngineError, type OpenOptions, type Persona, type SessionId, type StepInput, type StepOutput } from '../contract.ts';
import { FRAME_SAMPLES } from '../../../protocol/frame.ts';
import { silentLogger, type Logger } from '../../log.ts';
import {
  AUDIO_START,
  DEFAULT_CONTEXT_FRAMES,
  DEFAULT_SAMPLING,
  DEP_Q,
  INITIAL_TOKENS,
  MIMI_CODEBOOKS,
  NUM_STREAMS,
  PROMPT_SILENCE_FRAMES,
  SILENCE_TOKENS,
  SINE_TOKENS,
  TEXT_PAD,
  USER_STREAM,
} from './constants.ts';
import { detectKvLayout, graphFile, loadGraphs, sessionOptions, type Geometry, type KvType, type LoadedGraphs, type Provider } from './graphs.ts';
import { DeviceTopK } from './device-top-k.ts';
import { LmRing, allProvided, type Forced, type RingState } from './lm-ring.ts';
import { DEFAULT_MIMI_WINDOW, DecoderWindow, EncoderWindow, MimiBatch, encodeClip, lastFrameGraph } from './mimi-stream.ts';
import { Rng, sampleTopK, type SamplingParams } from './sampling.ts';
import { TemporalBatch, alloc, emptyKv, hostDownload, kvNames, type CompactKv, type Download, type KvArray } from './temporal-kv.ts';
import { Tokenizer } from '../../persona/tokenizer.ts';
import { wrapWithSystemTags } from '../../persona/prompt.ts';
import { readVoiceFrames, readWavPrompt, writeVoiceFrames, type VoiceFrames } from './voices.ts';
import { convertPtInThread } from './voice-thread.ts';
import { webgpuDownload } from './gpu-download.ts';
import { extendRopeTables, keepLast, probeRopeLayout, rebaseKeys, rebaseRotation, type RopeExtension, type RopeLayout } from './rope-tables.ts';

/** Default `rebaseSlackFrames`. */
const REBASE_SLACK = 512;
/**
 * Default `ropeRows` of a concat build: 1 hour at 12.5 Hz, so its sessions re-base about once an hour (the tables
 * cost 45,000 × 128 × 4 B = 23 MB). A GroupQueryAttention build's positions stay under its cache length instead.
 */
const CONCAT_ROPE_ROWS = 45_000;
import { halfArrayToFloat } from './half.ts';
import { StepBuffers, TickScratch, setInt64 } from './step-buffers.ts';
import { PrefillPacer, type PacerOptions } from './prefill-pacer.ts';
import type { LogitRow } from './top-k.ts';

export interface PersonaPlexOnnxOptions {
  /** folder of the mobius export: mimi_encoder/, temporal/, depformer/, mimi_decoder/ */
  modelDir: string;
  /** execution providers to try in order; CPU is always the last resort (default ['cpu']) */
  providers?: Provider[];
  deviceId?: number;
  /** SentencePiece model (default <modelDir>/tokenizer_spm_32k_3.model) */
  tokenizer?: string;
  /** folder of voice prompts: <ID>.voice.json (converted), <ID>.pt, or any .wav (default <modelDir>/voices) */
  voicesDir?: string;
  sampling?: Partial<typeof DEFAULT_SAMPLING>;
  /** sessions this engine steps in real time (default 32 on a GPU provider, 2 on the CPU) */
  capacity?: number;
  /** temporal context in frames (default 3000 = 240 s) */
  contextFrames?: number;
  /**
   * Rows of rotary table to keep positions under. Conversations have no time limit: a session is re-based
   * (rope-tables.ts) before its position reaches the table's end. Tables shorter than this, or than the context
   * plus twice the re-basing slack, are extended at load. Default: 45,000 for a concat build (re-basing about once
   * an hour), the export's table (8000 rows in mobius') for a GroupQueryAttention build.
   */
  ropeRows?: number;
  /**
   * Frames of slack for re-basing (default 512, at most the context): a GQA build's cache grows this far past the
   * window before the frames that left it are dropped; a concat build re-bases a session at a batch rebuild once
   * its position is this close to the end of the rotary table. A re-basing costs a host pass over the session's
   * keys on a rebuild (docs/personaplex-onnx.md §6): more slack, fewer of them, more KV memory for GQA builds.
   */
  rebaseSlackFrames?: number;
  /** frames of left context the rolling Mimi encoder/decoder re-run with whole-utterance Mimi graphs (default 8; unused by streaming ones) */
  mimiWindowFrames?: number;
  /** prompt frames per temporal prefill run at most (default 256); fewer while other sessions step */
  prefillChunk?: number;
  /** how prefill is paced around live ticks (tick budget 80 ms by default; see prefill-pacer.ts) */
  prefillPacing?: Omit<PacerOptions, 'maxChunk' | 'now'>;
  /** persona snapshots kept, least recently used dropped first (default 16) */
  snapshotLimit?: number;
  /**
   * Skip depformer substeps 9–16 when every session's user codebooks are provided (always, live): their
   * samples are overwritten by the user's tokens and nothing after them reads the depformer. Same outputs,
   * half the depformer runs. Default true.
   */
  skipProvidedSubsteps?: boolean;
  intraOpNumThreads?: number;
  prefetch?: boolean;
  /**
   * Where top-k selection runs. 'device': an ONNX TopK post-graph on the LM's provider (device-top-k.ts), so only
   * B × k values and ids per run come back and the host does the temperature softmax and one seeded draw per
   * row; 'host': the JS sampler over every logit (top-k.ts). Same tokens either way. 'auto' (default): 'device'
   * on a GPU provider (on WebGPU the logits then never leave the GPU; on CUDA the binding brings them to the host
   * and the post-graph takes them back, a few MB per tick over PCIe against several ms of JS sampling), 'host'
   * on the CPU, where ORT's TopK is slower than the host sampler.
   */
  selection?: 'auto' | 'host' | 'device';
  /**
   * Cut the Mimi decoder's newest frame on the provider (mimi-stream.ts `lastFrameGraph`) instead of bringing its
   * whole window to the host. Default: on WebGPU, where the window then stays on the device.
   */
  mimiTailOnDevice?: boolean;
  /** replaces the TopK post-graph (tests and the host bench only: a stand-in with the same I/O) */
  topKGraph?: (k: number, dtype: KvType) => Uint8Array;
  /** 'auto' reads the temporal graph (GroupQueryAttention → 'gqa') */
  kvLayout?: 'auto' | 'gqa' | 'concat';
  log?: Logger;
  /**
   * Called after each step with what every stepped session's model produced (tests compare it with
   * NVIDIA's reference LMGen; see tests/personaplex-onnx/reference/). Costs nothing when unset.
   */
  onTrace?: (rows: StepTrace[]) => void;
  onLoadProgress?: (p: { phase: string; fraction: number; detail?: string }) => void;
}

export interface StepTrace {
  session: SessionId;
  /** this frame's text logits (views into the step's output; copy to keep) */
  textLogits: Float32Array;
  /** depformer logits of each substep run, in order */
  audioLogits: Float32Array[];
  text: number;
  /** the 16 sampled audio tokens (substeps not run keep the initial token) */
  audio: Int32Array;
  /** the 17 tokens of the frame completed this step, or null while the delayed streams fill */
  finished: Int32Array | null;
}

interface Snapshot {
  ring: RingState;
  kv: CompactKv;
  tpos: number;
}

interface Session {
  id: SessionId;
  persona: Persona;
  rng: Rng;
  ring: LmRing;
  /** frames the temporal transformer has seen */
  tpos: number;
  /** the absolute frame at position 0 of the graph: it feeds position tpos - base (re-basing raises it) */
  base: number;
  /** own cache while outside the temporal batch */
  kv: CompactKv | null;
  enc: EncoderWindow;
  dec: DecoderWindow;
  /** set once the session cannot go on (context full) */
  failed?: EngineError;
  /** the engine tick that last stepped it (a session may appear once per batch) */
  steppedAt: number;
}

export class PersonaPlexOnnxEngine implements DuplexEngine {
  readonly name = 'personaplex-onnx';
  readonly label: string;
  readonly capacity: number;
  /** text tokens share a frame with the semantic token of the audio they describe */
  readonly textLeadFrames = 0;

  private sessions = new Map<SessionId, Session>();
  private nextId = 1;
  private readonly snapshots = new Map<string, Snapshot>();
  /** prefills under way, so concurrent opens of one persona share one */
  private readonly preparing = new Map<string, Promise<Snapshot>>();
  private readonly batch: TemporalBatch;
  private readonly textSampling: SamplingParams;
  private readonly audioSampling: SamplingParams;
  private readonly past: string[];
  private readonly present: string[];
  private readonly depPast: string[];
  private readonly depPresent: string[];
  private buffers: StepBuffers | undefined;
  private mimi: MimiBatch | undefined;
  /** per-tick scratch (the sessions stepped, their inputs, places and windows), reused */
  private readonly act = new TickScratch<Session>();
  private tick = 0;
  /** run feeds, rewritten in place every tick */
  private readonly temporalFeeds: Record<string, ort.Tensor> = {};
  private readonly depFeeds: Record<string, ort.Tensor> = {};
  /** paces prompt prefill around the ticks of sessions already stepping */
  readonly pacer: PrefillPacer;

  private constructor(
    private readonly opts: PersonaPlexOnnxOptions,
    private readonly graphs: LoadedGraphs,
    private readonly tokenizer: Tokenizer,
    readonly layout: 'gqa' | 'concat',
    private readonly download: Download,
    private readonly releaseDownload: () => Promise<void>,
  ) {
    const g = graphs.geometry;
    this.capacity = opts.capacity ?? (graphs.provider === 'cpu' ? 2 : 32);
    this.label = `PersonaPlex 7B (onnxruntime-node, ${graphs.provider})`;
    const s = { ...DEFAULT_SAMPLING, ...opts.sampling };
    this.textSampling = { temperature: s.textTemperature, topK: s.textTopK };
    this.audioSampling = { temperature: s.audioTemperature, topK: s.audioTopK };
    this.pacer = new PrefillPacer({ ...opts.prefillPacing, maxChunk: Math.max(1, opts.prefillChunk ?? 256) });
    this.batch = new TemporalBatch(g, layout, this.contextFrames);
    ({ past: this.past, present: this.present } = kvNames(g.temporalLayers));
    ({ past: this.depPast, present: this.depPresent } = kvNames(g.depLayers));
  }

  static async create(opts: PersonaPlexOnnxOptions): Promise<PersonaPlexOnnxEngine> {
    const log = opts.log ?? silentLogger;
    let rope: RopeExtension | undefined;
    const graphs = await loadGraphs({
      modelDir: opts.modelDir,
      providers: opts.providers,
      deviceId: opts.deviceId,
      intraOpNumThreads: opts.intraOpNumThreads,
      prefetch: opts.prefetch,
      // The logits stay on a WebGPU device for the device-side top-k, unless a trace must read them.
      gpuLogits: !opts.onTrace && opts.selection !== 'host',
      gpuStepOutputs: opts.mimiTailOnDevice !== false,
      onProgress: opts.onLoadProgress,
      log,
      prepare: async (name, file) => {
        if (name !== 'temporal') return file;
        const ctx = opts.contextFrames ?? DEFAULT_CONTEXT_FRAMES;
        // GroupQueryAttention covers local_window_size frames including the current one; the reference covers
        // context - 1 (tests/personaplex-onnx/reference/window.test.ts), so the window is set to that.
        const least = ctx + 2 * Math.min(opts.rebaseSlackFrames ?? REBASE_SLACK, ctx);
        rope = await extendRopeTables(file, (gqa) => Math.max(opts.ropeRows ?? (gqa ? 0 : CONCAT_ROPE_ROWS), least), ctx - 1);
        if (rope.original !== null && rope.positions !== rope.original) log.info({ from: rope.original, to: rope.positions }, 'rotary tables extended');
        if (rope.gqaWindow && rope.gqaWindow.from !== rope.gqaWindow.to) log.info({ from: rope.gqaWindow.from, to: rope.gqaWindow.to }, 'GroupQueryAttention local_window_size set to the reference window');
        return rope.file;
      },
    });
    let engine: PersonaPlexOnnxEngine | undefined;
    try {
      const tokenizer = await Tokenizer.load(opts.tokenizer ?? path.join(opts.modelDir, 'tokenizer_spm_32k_3.model'));
      const layout = !opts.kvLayout || opts.kvLayout === 'auto' ? await detectKvLayout(opts.modelDir) : opts.kvLayout;
      let download = hostDownload;
      let release = async (): Promise<void> => undefined;
      if (graphs.provider === 'webgpu') ({ download, release } = await webgpuDownload(graphs.geometry.temporalKvType));
      log.info(
        { modelDir: opts.modelDir, provider: graphs.provider, temporal: `${graphs.geometry.temporalLayers}×${graphs.geometry.temporalHeads}×${graphs.geometry.temporalHeadDim} ${graphs.geometry.temporalKvType}`, kvLayout: layout },
        'model loaded',
      );
      engine = new PersonaPlexOnnxEngine(opts, graphs, tokenizer, layout, download, release);
      engine.positionLimit = rope?.positions ?? Infinity;
      if (rope?.freq) {
        const probe = await probeRopeLayout(graphs.sessions.temporal, graphs.geometry, rope.freq, download);
        engine.ropeLayout = probe.layout;
        engine.ropeFreq = rope.freq;
        if (probe.layout) log.info({ layout: probe.layout }, 'cached keys are rotated: sessions are re-based, no time limit');
        else log.warn({ error: probe.error }, 'cached keys do not follow the rotary tables: sessions cannot be re-based and end at the table end');
      }
      const selection = opts.selection ?? 'auto';
      if (selection === 'device' || (selection === 'auto' && graphs.provider !== 'cpu')) {
        const so = sessionOptions(graphs.provider, opts);
        const g = graphs.geometry;
        const kOf = (p: { temperature: number; topK: number }, V: number) => (p.temperature <= 0 ? 1 : p.topK > 0 && p.topK < V ? p.topK : V);
        const kt = kOf(engine.textSampling, g.textVocab);
        const ka = kOf(engine.audioSampling, g.audioVocab);
        const text = await DeviceTopK.open(kt, g.textLogitsType, so, opts.topKGraph?.(kt, g.textLogitsType));
        engine.selectors = { text, audio: text }; // held at once, so a failure opening the next is cleaned up
        engine.selectors.audio = await DeviceTopK.open(ka, g.audioLogitsType, so, opts.topKGraph?.(ka, g.audioLogitsType));
        engine.selectionMode = 'device';
      }
      if (opts.mimiTailOnDevice ?? graphs.provider === 'webgpu') engine.mimiTail = await ort.InferenceSession.create(lastFrameGraph(), sessionOptions(graphs.provider, opts));
      log.info({ selection: engine.selection, mimiTail: engine.mimiTail ? 'device' : 'host' }, 'post-processing of the step outputs');
      return engine;
    } catch (err) {
      // the engine, once made, releases the post-graphs it opened as well as the graphs
      if (engine) await engine.dispose().catch(() => undefined);
      else await graphs.dispose();
      throw err;
    }
  }

  get geometry(): Geometry {
    return this.graphs.geometry;
  }

  get provider(): Provider {
    return this.graphs.provider;
  }

  /** top-k post-graphs on the provider, when selection runs there */
  private selectors: { text: DeviceTopK; audio: DeviceTopK } | undefined;
  /** lastFrameGraph's session, when the Mimi decoder's newest frame is cut on the provider */
  private mimiTail: ort.InferenceSession | undefined;

  /** where top-k selection runs ('device': TopK post-graphs on the provider) */
  get selection(): 'host' | 'device' {
    return this.selectionMode;
  }

  private selectionMode: 'host' | 'device' = 'host';

  /** positions the temporal graph can take (its rotary tables' rows; Infinity when it computes RoPE) */
  positionLimit = Infinity;
  /** how the export's cached keys are rotated (probed at load), or null when sessions cannot be re-based */
  ropeLayout: RopeLayout | null = null;
  private ropeFreq: Float64Array | undefined;
  /** re-basings done (tests and metrics) */
  rebases = 0;

  private get slack() {
    return Math.min(this.opts.rebaseSlackFrames ?? REBASE_SLACK, this.contextFrames);
  }

  /**
   * Whether a session must be re-based before its next step ('now': its next position would leave the table, or
   * a GQA cache reached the window plus the slack), or may be at a batch rebuild that happens anyway ('soon').
   */
  private rebaseDue(s: Session, when: 'now' | 'soon'): boolean {
    if (!this.ropeLayout) return false;
    const pos = s.tpos - s.base;
    const keep = this.contextFrames - 2;
    if (this.layout === 'gqa') return when === 'now' ? pos >= Math.min(this.positionLimit, keep + this.slack) : pos > keep;
    return pos >= this.positionLimit - (when === 'now' ? 0 : this.slack);
  }

  /**
   * Re-bases a session's compact cache: keeps the frames still in the window (the reference attends to context - 1
   * frames, the current one included: context - 2 past ones), rotates their keys back so that the oldest sits at
   * position 0, and raises the session's base by the same shift. Returns a new cache (snapshots share the old).
   */
  private rebase(s: Session, kv: CompactKv): CompactKv {
    const g = this.graphs.geometry;
    const pos = s.tpos - s.base;
    const keep = Math.min(kv.len, this.contextFrames - 2);
    const shift = pos - keep;
    if (shift <= 0) return kv;
    const rot = rebaseRotation(this.ropeFreq!, pos - keep, keep, shift);
    const H = g.temporalHeads;
    const D = g.temporalHeadDim;
    const data = kv.data.map((t, i) => (i % 2 === 0 ? rebaseKeys(t, H, kv.len, D, rot, this.ropeLayout!) : keepLast(t, H, kv.len, D, keep)));
    s.base += shift;
    this.rebases++;
    return { len: keep, data };
  }

  private get contextFrames() {
    return this.opts.contextFrames ?? DEFAULT_CONTEXT_FRAMES;
  }

  private get window() {
    return this.opts.mimiWindowFrames ?? DEFAULT_MIMI_WINDOW;
  }

  // -------------------------------------------------------------------------------------------------------
  // Opening: the prompt phase, or a snapshot of it.

  /** The text tokens of a persona's prompt, wrapped in system tags. */
  promptTokens(persona: Persona): number[] {
    const text = persona.textPrompt.trim();
    return text ? this.tokenizer.encode(wrapWithSystemTags(text)) : [];
  }

  /**
   * Prepares the persona snapshot (voice + prompt prefill) without opening a session, e.g. at start for the
   * cast a scene will need, so that each persona's first NPC starts at once. Prefill is paced around live
   * ticks like any other (§1 of docs/personaplex-onnx.md).
   */
  async prepare(persona: Persona, options?: OpenOptions): Promise<void> {
    await this.snapshotFor(persona, options);
  }

  /** The cached snapshot, or the one being built for the same persona and voice, or a new prefill. */
  private async snapshotFor(persona: Persona, options?: OpenOptions): Promise<Snapshot> {
    const tokens = this.promptTokens(persona);
    const key = `${voiceKey(persona)}\n${tokens.join(',')}`;
    const snap = this.snapshots.get(key);
    if (snap) {
      this.snapshots.delete(key); // refresh its place in the LRU order
      this.snapshots.set(key, snap);
      options?.onProgress?.({ phase: 'persona snapshot', fraction: 1 });
      return snap;
    }
    let pending = this.preparing.get(key);
    if (!pending) {
      pending = this.runPrompt(persona, tokens, options)
        .then((made) => {
          this.snapshots.set(key, made);
          while (this.snapshots.size > (this.opts.snapshotLimit ?? 16)) this.snapshots.delete(this.snapshots.keys().next().value!);
          return made;
        })
        .finally(() => this.preparing.delete(key));
      this.preparing.set(key, pending);
    }
    return pending;
  }

  async open(persona: Persona, options?: OpenOptions): Promise<SessionId> {
    const snap = await this.snapshotFor(persona, options);
    options?.signal?.throwIfAborted();
    const id = this.nextId++;
    this.sessions.set(id, {
      id,
      persona,
      rng: new Rng(persona.seed ?? randomInt(0, 2 ** 31)),
      ring: LmRing.from(snap.ring),
      tpos: snap.tpos,
      base: 0,
      kv: snap.kv,
      enc: new EncoderWindow(this.window),
      dec: new DecoderWindow(this.window),
      steppedAt: 0,
    });
    return id;
  }

  /** The forced steps of the prompt phase, in the reference order, as temporal input columns. */
  async promptColumns(persona: Persona, tokens: number[]): Promise<{ ring: LmRing; columns: Int32Array[]; phases: string[] }> {
    const ring = new LmRing();
    const columns: Int32Array[] = [];
    const phases: string[] = [];
    const step = (forced: Forced, phase: string, column?: ArrayLike<number>) => {
      const p = ring.prepare(forced);
      if (!p) return false;
      if (!allProvided(p)) throw new Error('internal: a prompt step left a stream unforced');
      columns.push(column ? Int32Array.from(column) : p.input);
      phases.push(phase);
      ring.commit(TEXT_PAD, null);
      return true;
    };
    const voice = await this.voicePrompt(persona);
    if (voice.kind === 'frames') {
      // PersonaPlex step_embeddings: the ring advances with placeholder tokens, the transformer reads the
      // saved frame, and the saved token ring replaces the ring at the end.
      const dummy: Forced = { user: INITIAL_TOKENS.slice(1, 1 + MIMI_CODEBOOKS), agent: INITIAL_TOKENS.slice(1 + MIMI_CODEBOOKS), text: TEXT_PAD };
      for (const frame of voice.frames.frames) while (!step(dummy, 'voice prompt', frame));
      ring.loadCache(voice.frames.cache);
    } else {
      for (const codes of voice.codes) step({ agent: codes, text: TEXT_PAD, user: SINE_TOKENS }, 'voice prompt');
    }
    const silence: Forced = { agent: SILENCE_TOKENS, text: TEXT_PAD, user: SINE_TOKENS };
    for (let i = 0; i < PROMPT_SILENCE_FRAMES; i++) step(silence, 'silence');
    for (const t of tokens) step({ agent: SILENCE_TOKENS, text: t, user: SINE_TOKENS }, 'text prompt');
    for (let i = 0; i < PROMPT_SILENCE_FRAMES; i++) step(silence, 'silence');
    return { ring, columns, phases };
  }

  private async runPrompt(persona: Persona, tokens: number[], options?: OpenOptions): Promise<Snapshot> {
    const { ring, columns, phases } = await this.promptColumns(persona, tokens);
    // The first live frame must still see the whole prompt: the reference attends to context - 1 frames.
    if (columns.length > this.contextFrames - 2) throw new Error(`prompt of ${columns.length} frames does not fit the ${this.contextFrames}-frame context`);
    let kv = emptyKv(this.graphs.geometry);
    for (let at = 0; at < columns.length; ) {
      // While other sessions step, each run waits for the end of a step and fits the tick's slack.
      const chunk = await this.pacer.slot();
      options?.signal?.throwIfAborted();
      const part = columns.slice(at, at + chunk);
      const t0 = performance.now();
      kv = await this.prefill(kv, at, part);
      this.pacer.prefillRan(part.length, performance.now() - t0);
      at += part.length;
      options?.onProgress?.({ phase: phases[at - 1]!, fraction: at / columns.length });
    }
    return { ring: ring.snapshot(), kv, tpos: columns.length };
  }

  /** One temporal run of a single session over S known columns; returns its grown cache. */
  private async prefill(kv: CompactKv, tpos: number, columns: Int32Array[]): Promise<CompactKv> {
    const g = this.graphs.geometry;
    const S = columns.length;
    const frame = new BigInt64Array(NUM_STREAMS * S);
    columns.forEach((c, s) => c.forEach((tok, k) => (frame[k * S + s] = BigInt(tok))));
    const feeds: Record<string, ort.Tensor> = {
      input_frame: new ort.Tensor('int64', frame, [1, NUM_STREAMS, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(kv.len + S).fill(1n), [1, kv.len + S]),
    };
    if (g.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, s) => BigInt(tpos + s)), [1, S]);
    this.past.forEach((name, i) => (feeds[name] = new ort.Tensor(g.temporalKvType, kv.data[i]!, [1, g.temporalHeads, kv.len, g.temporalHeadDim])));
    const fetches = Object.fromEntries(this.present.map((n) => [n, null]));
    // Only the KV: a prompt's logits are never read (every stream is forced), so they are not fetched.
    const r = await this.graphs.sessions.temporal.run(feeds, fetches as never);
    const data: KvArray[] = [];
    for (const name of this.present) data.push(await this.download(r[name]!));
    for (const t of Object.values(r)) if (t.location === 'gpu-buffer') t.dispose();
    return { len: kv.len + S, data };
  }

  private async voicePrompt(persona: Persona): Promise<{ kind: 'frames'; frames: VoiceFrames } | { kind: 'codes'; codes: Int32Array[] }> {
    const dir = this.opts.voicesDir ?? path.join(this.opts.modelDir, 'voices');
    if (persona.voice.kind === 'wav') {
      const pcm = await readWavPrompt(persona.voice.path);
      return { kind: 'codes', codes: await encodeClip(this.graphs.sessions.mimi_encoder, pcm) };
    }
    const id = persona.voice.id;
    const converted = path.join(dir, `${id}.voice.json`);
    if (await exists(converted)) return { kind: 'frames', frames: await readVoiceFrames(converted) };
    const pt = path.join(dir, `${id}.pt`);
    if (await exists(pt)) {
      // Convert once and keep the result beside the .pt when the folder is writable.
      // In a side thread: the tables (about 1 GB as float32) and the search never touch the step thread.
      const frames = await convertPtInThread(pt, await graphFile(this.opts.modelDir, 'temporal'));
      await writeVoiceFrames(converted, frames).catch((err) => this.log.warn({ file: converted, err: (err as Error).message }, 'could not cache converted voice'));
      return { kind: 'frames', frames };
    }
    const wav = path.join(dir, `${id}.wav`);
    if (await exists(wav)) return this.voicePrompt({ ...persona, voice: { kind: 'wav', path: wav } });
    throw new Error(`voice ${id} not found in ${dir} (looked for ${id}.voice.json, ${id}.pt, ${id}.wav)`);
  }

  private get log(): Logger {
    return this.opts.log ?? silentLogger;
  }

  // -------------------------------------------------------------------------------------------------------
  // Stepping: one frame for every session, one batched run per graph.

  async step(batch: StepInput[]): Promise<StepOutput[]> {
    const started = performance.now();
    try {
      return await this.stepBatch(batch);
    } finally {
      this.pacer.stepEnded(performance.now() - started);
    }
  }

  private async stepBatch(batch: StepInput[]): Promise<StepOutput[]> {
    // The returned array and its result objects are handed out; everything else below is reused scratch.
    const out: StepOutput[] = new Array(batch.length);
    const tick = ++this.tick;
    const act = this.act;
    act.reserve(batch.length);
    let n = 0;
    for (let idx = 0; idx < batch.length; idx++) {
      const item = batch[idx]!;
      const s = this.sessions.get(item.session);
      if (!s) out[idx] = rejected(item.session, engineError('rejected', `unknown session ${item.session}`));
      else if (s.steppedAt === tick) out[idx] = rejected(item.session, engineError('rejected', 'session stepped twice in one batch'));
      else if (s.failed) out[idx] = rejected(item.session, s.failed);
      else if (!(item.input instanceof Float32Array) || item.input.length !== FRAME_SAMPLES) {
        out[idx] = rejected(item.session, engineError('rejected', `input frame must be ${FRAME_SAMPLES} float samples`));
      } else {
        s.steppedAt = tick;
        act.sessions[n] = s;
        act.inputs[n] = item.input;
        act.idx[n] = idx;
        n++;
      }
    }
    if (n === 0) return out;
    try {
      await this.stepLive(n, batch, out);
    } catch (err) {
      // A failed run leaves the batch tensors in an unknown state: drop them with the sessions they held.
      const failure = engineError('failed', `personaplex-onnx step failed: ${(err as Error).message}`);
      for (const key of this.batch.rows) {
        const s = this.sessions.get(key);
        if (s && !s.kv) s.failed = failure;
      }
      this.batch.clear();
      for (let j = 0; j < n; j++) out[act.idx[j]!] = rejected(batch[act.idx[j]!]!.session, failure);
    } finally {
      act.release(n);
    }
    return out;
  }

  /** Steps act.sessions[0 .. n) and writes each one's result into `out` at its place in the batch. */
  private async stepLive(n: number, batch: StepInput[], out: StepOutput[]): Promise<void> {
    const g = this.graphs.geometry;
    const sess = this.graphs.sessions;
    const act = this.act;
    // Sessions are re-based as they go (syncBatch), so none ends. Only an export whose cached keys cannot be
    // re-based (ropeLayout null) still stops a session at the end of its rotary table, or of a GQA build's window;
    // the others are compacted to the front of the scratch arrays, in order.
    let B = 0;
    for (let j = 0; j < n; j++) {
      const s = act.sessions[j]!;
      if (!this.ropeLayout) {
        // GroupQueryAttention covers local_window_size frames including the current one (set to context - 1 at
        // load); without re-basing its cache, the positions past the window would need an ever-growing cache.
        if (this.layout === 'gqa' && s.tpos >= this.contextFrames - 1) s.failed = engineError('failed', `context full (${this.contextFrames - 1} frames; this export's keys cannot be re-based); reopen the session`);
        if (!s.failed && s.tpos - s.base >= this.positionLimit) s.failed = engineError('failed', `position limit (${this.positionLimit} frames, the rotary table; this export's keys cannot be re-based); reopen the session`);
      }
      if (s.failed) {
        out[act.idx[j]!] = rejected(batch[act.idx[j]!]!.session, s.failed);
        continue;
      }
      act.sessions[B] = s;
      act.inputs[B] = act.inputs[j]!;
      act.idx[B] = act.idx[j]!;
      B++;
    }
    if (B === 0) return;
    const active = act.sessions;
    if (!this.buffers || this.buffers.capacity < B) this.buffers = new StepBuffers(g, Math.max(B, this.capacity));
    if (!this.mimi || this.mimi.capacity < B) this.mimi = new MimiBatch(Math.max(B, this.capacity), this.window, this.mimiTail);
    const buf = this.buffers;
    const bt = buf.forBatch(B);

    // 1. Mimi encoder: the user's frame → 8 codes per session.
    for (let b = 0; b < B; b++) {
      const s = active[b]!;
      s.enc.push(act.inputs[b]!);
      act.enc[b] = s.enc;
      act.dec[b] = s.dec;
    }
    await this.mimi.encode(sess.mimi_encoder, act.enc, B, buf.userCodes);

    // 2. The ring gives each session's temporal input column (into the row's fixed arrays).
    for (let b = 0; b < B; b++) {
      const s = active[b]!;
      const p = s.ring.prepare(buf.forced[b], buf.prepared[b]);
      if (!p) throw new Error('internal: a live session had no input column (prompt phase missing)');
      const input = p.input;
      for (let k = 0; k < NUM_STREAMS; k++) setInt64(buf.frame32, b * NUM_STREAMS + k, input[k]!);
    }
    const prepared = buf.prepared;

    // 3. Temporal, batched (positions after syncBatch: it may re-base a session).
    await this.syncBatch(active, B);
    for (let b = 0; b < B; b++) setInt64(buf.positions32, b, active[b]!.tpos - active[b]!.base);
    const feeds = this.temporalFeeds;
    feeds.input_frame = bt.frame;
    feeds.attention_mask = this.batch.mask();
    if (g.hasPositionIds) feeds.position_ids = bt.positions;
    for (let i = 0; i < this.past.length; i++) feeds[this.past[i]!] = this.batch.tensors[i]!;
    const t = await sess.temporal.run(feeds);
    this.batch.advanceFrom(t, this.present);
    for (let b = 0; b < B; b++) active[b]!.tpos++;
    const V = g.textVocab;

    // 4. Text sampling, then the depformer codebook by codebook.
    const sel = this.selectors;
    const textSel = sel ? await sel.text.run(t.text_logits!) : undefined;
    if (t.text_logits!.location === 'gpu-buffer') t.text_logits!.dispose();
    // fp32 or fp16 bits: the host sampler reads either without a conversion pass (not read on the device path).
    const textLogits = textSel && !this.opts.onTrace ? undefined : (t.text_logits!.data as LogitRow);
    for (let b = 0; b < B; b++) {
      const rng = active[b]!.rng;
      const sampled = textSel ? sel!.text.draw(textSel, b, this.textSampling.temperature, rng) : sampleTopK(textLogits!, b * V, V, this.textSampling, rng);
      const p = prepared[b]!;
      buf.textSampled[b] = sampled;
      buf.textNext[b] = p.provided[0] ? p.target[0]! : sampled;
    }
    const depLogits: LogitRow[] | undefined = this.opts.onTrace ? [] : undefined;
    await this.depformer(t.hidden!, B, depLogits);

    // 5. Commit to the rings; decode the agent codebooks of the finished frame.
    const finished = buf.finishedOut;
    for (let b = 0; b < B; b++) {
      const s = active[b]!;
      const f = s.ring.commit(buf.textSampled[b]!, buf.audio[b]!, buf.finished[b]);
      finished[b] = f;
      if (f) s.dec.push(f, 1);
      else s.dec.push(SILENCE_TOKENS);
    }
    const wave = act.wave;
    await this.mimi.decode(sess.mimi_decoder, act.dec, B, wave);
    if (this.opts.onTrace) {
      const asFloat = (l: LogitRow) => (l instanceof Uint16Array ? halfArrayToFloat(l) : l);
      const text32 = asFloat(textLogits!);
      const dep32 = depLogits!.map(asFloat);
      this.opts.onTrace(
        active.slice(0, B).map((s, b) => ({
          session: s.id,
          textLogits: text32.subarray(b * V, (b + 1) * V),
          audioLogits: dep32.map((l) => l.subarray(b * g.audioVocab, (b + 1) * g.audioVocab)),
          text: buf.textSampled[b]!,
          audio: buf.audio[b]!.slice(),
          finished: finished[b] ? finished[b]!.slice() : null,
        })),
      );
    }
    for (let b = 0; b < B; b++) {
      const tok = finished[b]?.[0];
      // As the reference server: every text token but EPAD (0) and PAD (3) goes out as its piece, BOS/EOS
      // included; protocol/pieces.ts keeps control and byte-fallback pieces out of captions and visemes.
      const piece = tok !== undefined && tok !== 0 && tok !== 3 && tok < V ? this.tokenizer.piece(tok) : undefined;
      const idx = act.idx[b]!;
      out[idx] = piece ? { session: batch[idx]!.session, output: wave[b]!, text: piece } : { session: batch[idx]!.session, output: wave[b]! };
    }
  }

  /** The depformer substeps for rows 0 .. B of act.sessions; each row's 16 sampled audio tokens land in buffers.audio. */
  private async depformer(hidden: ort.Tensor, B: number, trace?: LogitRow[]): Promise<void> {
    const g = this.graphs.geometry;
    const buf = this.buffers!;
    const active = this.act.sessions;
    const bt = buf.forBatch(B);
    const prepared = buf.prepared;
    let userProvided = true;
    for (let b = 0; b < B; b++) {
      buf.audio[b]!.fill(AUDIO_START);
      setInt64(buf.prev32, b, buf.textNext[b]!);
      const pr = prepared[b]!.provided;
      for (let k = USER_STREAM; k < NUM_STREAMS; k++) if (!pr[k]) userProvided = false;
    }
    const steps = this.opts.skipProvidedSubsteps !== false && userProvided ? MIMI_CODEBOOKS : DEP_Q;
    const feeds = this.depFeeds;
    feeds.hidden = hidden.dims[1] === 1 ? hidden : sliceLast(hidden);
    feeds.prev_token = bt.prev;
    for (let i = 0; i < this.depPast.length; i++) feeds[this.depPast[i]!] = bt.depPast[i]!;
    const sel = this.selectors;
    for (let cb = 0; cb < steps; cb++) {
      feeds.substep_index = buf.substep[cb]!;
      const r = await this.graphs.sessions.depformer.run(feeds);
      const picked = sel ? await sel.audio.run(r.logits!) : undefined;
      if (r.logits!.location === 'gpu-buffer') r.logits!.dispose();
      const logits = picked && !trace ? undefined : (r.logits!.data as LogitRow);
      trace?.push(logits!);
      for (let b = 0; b < B; b++) {
        const rng = active[b]!.rng;
        const tok = picked ? sel!.audio.draw(picked, b, this.audioSampling.temperature, rng) : sampleTopK(logits!, b * g.audioVocab, g.audioVocab, this.audioSampling, rng);
        buf.audio[b]![cb] = tok;
        const p = prepared[b]!;
        setInt64(buf.prev32, b, p.provided[1 + cb] ? p.target[1 + cb]! : tok);
      }
      for (let i = 0; i < this.depPast.length; i++) {
        // WebGPU keeps present.* on the device: free the previous substep's once this run has read them.
        const used = feeds[this.depPast[i]!]!;
        if (used.location === 'gpu-buffer') used.dispose();
        feeds[this.depPast[i]!] = r[this.depPresent[i]!]!;
      }
    }
    for (const name of this.depPast) if (feeds[name]!.location === 'gpu-buffer') feeds[name]!.dispose();
    if (hidden.location === 'gpu-buffer') hidden.dispose(); // WebGPU: the temporal hidden never left the device
    feeds.hidden = undefined as never; // drop references to this tick's outputs
    for (const name of this.depPast) feeds[name] = undefined as never;
  }

  /** Makes the temporal batch hold exactly sessions[0 .. B), in this order. */
  private async syncBatch(sessions: readonly Session[], B: number) {
    let compact = this.layout === 'concat' && this.batch.rows.length > 0 && this.batch.waste > this.batch.rows.length * 256;
    for (let b = 0; b < B && !compact; b++) compact = this.rebaseDue(sessions[b]!, 'now');
    if (!compact && this.batch.rows.length === B) {
      let same = true;
      for (let b = 0; b < B && same; b++) same = this.batch.rows[b] === sessions[b]!.id;
      if (same) return;
    }
    // Take the rows' caches out of the batch (one download per tensor, not per row), then rebuild it from
    // the compact caches. Rows of closed sessions are dropped.
    const rows = sessions.slice(0, B);
    const held = this.batch.rows.map((key) => this.sessions.get(key)).map((s) => (s && !s.kv ? s : undefined));
    if (held.some(Boolean)) {
      const caches = await this.batch.extractAll(this.download, held.map(Boolean));
      held.forEach((s, row) => s && (s.kv = caches[row]!));
    }
    // The rebuild copies every cache on the host anyway: re-base whoever is due soon in the same pass.
    for (const s of rows) if (this.rebaseDue(s, 'soon')) s.kv = this.rebase(s, s.kv!);
    this.batch.build(
      rows.map((s) => s.id),
      rows.map((s) => s.kv!),
    );
    for (const s of rows) s.kv = null;
  }

  async close(session: SessionId): Promise<void> {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    // Its row stays in the batch tensors until the next step rebuilds them without it.
  }

  /** Number of persona snapshots held (for tests and metrics). */
  get snapshotCount() {
    return this.snapshots.size;
  }

  async dispose(): Promise<void> {
    this.sessions.clear();
    this.batch.clear();
    this.snapshots.clear();
    await this.releaseDownload().catch(() => undefined);
    if (this.selectors) {
      const { text, audio } = this.selectors;
      this.selectors = undefined;
      await Promise.all([text.release(), audio !== text ? audio.release() : undefined]).catch(() => undefined);
    }
    await this.mimiTail?.release().catch(() => undefined);
    await this.graphs.dispose();
  }
}

/** A session's result when it is not stepped: a silent frame and the reason. */
function rejected(session: SessionId, error: EngineError): StepOutput {
  return { session, output: new Float32Array(FRAME_SAMPLES), error };
}

function voiceKey(p: Persona): string {
  return p.voice.kind === 'builtin' ? `builtin:${p.voice.id}` : `wav:${p.voice.path}`;
}

async function exists(f: string) {
  try {
    await access(f);
    return true;
  } catch {
    return false;
  }
}

/** [B, S, H] → [B, 1, H] (the last position), for a hidden output of more than one frame. */
function sliceLast(t: ort.Tensor): ort.Tensor {
  const [B, S, H] = t.dims as [number, number, number];
  const src = t.data as KvArray;
  const out = t.type === 'float16' ? new Uint16Array(B * H) : new Float32Array(B * H);
  for (let b = 0; b < B; b++) out.set(src.subarray((b * S + S - 1) * H, (b * S + S) * H) as never, b * H);
  return new ort.Tensor(t.type as 'float32', out as Float32Array, [B, 1, H]);
}
