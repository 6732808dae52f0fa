/**
 * Typed wrapper around WebRTC's AEC3 echo canceller (webrtc::EchoCanceller3, Chrome's: partitioned-block
 * frequency-domain adaptive filters, its own matched-filter delay estimator, a residual echo suppressor with a
 * reverb model), compiled with the C shim webrtc-aec3-shim.cc to a standalone WebAssembly module by
 * build-webrtc-aec3.sh.
 *
 * AEC3 works on 10 ms: `process(mic, ref)` takes any whole number of 10 ms blocks (240 samples at 24 kHz, so an
 * 80 ms frame is 8), and for each block hands AEC3 the reference (what the speakers played, same clock as the
 * mic) and then the mic. Inside, each stream is resampled to the rate AudioProcessing would process at (32 kHz
 * for 24 kHz), split into 16 kHz bands, the mic high-pass filtered (as AudioProcessing enforces with AEC3),
 * the echo removed, and resampled back.
 *
 * One instance per stream: each owns its WebAssembly memory, so instances never share state. Synchronous, so it
 * can be created inside an AudioWorkletGlobalScope from bytes posted to it (no fetch there). No Node APIs.
 */

interface Aec3Exports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  malloc(n: number): number;
  free(p: number): void;
  aec3_config_new(): number;
  aec3_config_free(cfg: number): void;
  aec3_config_set(cfg: number, name: number, value: number): number;
  aec3_config_get(cfg: number, name: number): number;
  aec3_config_validate(cfg: number): number;
  aec3_create(cfg: number, rate: number, highPass: number): number;
  aec3_destroy(h: number): void;
  aec3_render_ptr(h: number): number;
  aec3_capture_ptr(h: number): number;
  aec3_frame_samples(h: number): number;
  aec3_process_rate(h: number): number;
  aec3_analyze_render(h: number): void;
  aec3_process_capture(h: number, levelChange: number): void;
  aec3_set_external_delay(h: number, ms: number): void;
  aec3_metrics(h: number, out: number): void;
  aec3_set_field_trials(trials: number): number;
  aec3_failed_check_file(): number;
  aec3_failed_check_line(): number;
}

/**
 * EchoCanceller3Config fields by their C++ path (api/audio/echo_canceller3_config.h), those the shim exposes:
 * e.g. `filter.refined.length_blocks` (AEC3 blocks are 64 samples of the 16 kHz band: 4 ms; default 13 = 52 ms
 * of echo tail after the estimated delay), `filter.coarse.length_blocks`, `filter.refined_initial.length_blocks`,
 * `filter.coarse_initial.length_blocks`, `delay.use_external_delay_estimator`, `delay.default_delay`,
 * `ep_strength.default_len`, `suppressor.normal_tuning.mask_lf.enr_suppress`, … (see kKnobs in the shim).
 */
export type Aec3Config = Record<string, number | boolean>;

export interface WebrtcAec3Options {
  /** API sampling rate (both streams), a multiple of 100 Hz in 8–48 kHz; 24 kHz here */
  sampleRate?: number;
  /** config knobs; unknown names throw. Values AEC3's Validate() rejects are clamped (see `config`). */
  config?: Aec3Config;
  /** high-pass filter the mic before AEC3 (AudioProcessing enforces it with AEC3; default true) */
  highPass?: boolean;
  /**
   * WebRTC field trials, e.g. 'WebRTC-Aec3TransparentModeKillSwitch/Enabled/': echo_canceller3.cc adjusts
   * the config from dozens of these (the instance's module only: each instance owns its module's globals).
   */
  fieldTrials?: string;
}

export interface WebrtcAec3Metrics {
  /** AEC3's own echo return loss and enhancement estimates, dB; its delay estimate, ms */
  erlDb: number;
  erleDb: number;
  delayMs: number;
}

export type Aec3Wasm = WebAssembly.Module | BufferSource;

/** peak-to-peak amplitude of the noise added to both streams (see `dithered`) */
const DITHER = 1e-4;

export class WebrtcAec3 {
  readonly sampleRate: number;
  /** samples per 10 ms block */
  readonly blockSize: number;
  /** the rate AEC3 processes at (the API rate resampled up to 16, 32 or 48 kHz) */
  readonly processRate: number;
  /** the config AEC3 runs with, after Validate() (the knobs that were set) */
  readonly config: Record<string, number>;
  private readonly ex: Aec3Exports;
  private readonly h: number;
  private readonly renderPtr: number;
  private readonly capturePtr: number;
  private readonly metricsPtr: number;
  /** views of the module's 10 ms buffers, re-made only if its memory grew (the worklet must not allocate per block) */
  private viewsOf: ArrayBuffer | undefined;
  private renderView = new Float32Array(0);
  private captureView = new Float32Array(0);
  private metricsView = new Float64Array(0);
  private ditherState = 0x2545f491;
  private disposed = false;

  /** Instantiates the module synchronously (worklet scopes cannot await a fetch). */
  constructor(wasm: Aec3Wasm, options: WebrtcAec3Options = {}) {
    const rate = options.sampleRate ?? 24_000;
    if (!(Number.isInteger(rate) && rate % 100 === 0 && rate >= 8000 && rate <= 48_000)) throw new Error(`WebrtcAec3: sample rate ${rate} unsupported`);
    const module = wasm instanceof WebAssembly.Module ? wasm : new WebAssembly.Module(wasm);
    const instance = new WebAssembly.Instance(module, {
      env: { emscripten_notify_memory_growth: () => {} }, // views are re-read after every call that allocates
      // abort() (allocation failure, std::terminate) ends in proc_exit: surface it as an exception.
      wasi_snapshot_preview1: {
        proc_exit: (code: number) => {
          throw new Error(`WebrtcAec3: the module aborted (${code})`);
        },
      },
    });
    const ex = instance.exports as unknown as Aec3Exports;
    ex._initialize?.();
    this.ex = ex;
    this.sampleRate = rate;
    const cfg = ex.aec3_config_new();
    if (!cfg) throw new Error('WebrtcAec3: could not allocate a config');
    this.config = {};
    try {
      if (options.fieldTrials) this.withName(options.fieldTrials, (p) => ex.aec3_set_field_trials(p));
      const entries = Object.entries(options.config ?? {});
      for (const [name, v] of entries) {
        if (!this.withName(name, (p) => ex.aec3_config_set(cfg, p, typeof v === 'boolean' ? Number(v) : v))) throw new Error(`WebrtcAec3: unknown config knob ${name}`);
      }
      ex.aec3_config_validate(cfg);
      for (const [name] of entries) this.config[name] = this.withName(name, (p) => ex.aec3_config_get(cfg, p));
      this.h = ex.aec3_create(cfg, rate, options.highPass === false ? 0 : 1);
    } finally {
      ex.aec3_config_free(cfg);
    }
    if (!this.h) throw new Error('WebrtcAec3: AEC3 could not be created');
    this.blockSize = ex.aec3_frame_samples(this.h);
    this.processRate = ex.aec3_process_rate(this.h);
    this.renderPtr = ex.aec3_render_ptr(this.h);
    this.capturePtr = ex.aec3_capture_ptr(this.h);
    this.metricsPtr = ex.malloc(24);
  }

  private views(): void {
    const buf = this.ex.memory.buffer;
    if (buf === this.viewsOf) return;
    this.viewsOf = buf;
    this.renderView = new Float32Array(buf, this.renderPtr, this.blockSize);
    this.captureView = new Float32Array(buf, this.capturePtr, this.blockSize);
    this.metricsView = new Float64Array(buf, this.metricsPtr, 3);
  }

  /**
   * Copy one block in with a little noise (±DITHER: about −90 dBFS, a few int16 steps). Digital silence — the
   * reference whenever no NPC talks, a muted mic — sent AEC3 into a path 12× slower within seconds (measured:
   * 470 ms of CPU per second of audio after the speech stopped, against 35 while it played; in Chromium's
   * worklet 40 ms per 80 ms frame): its int16 band-splitting filter rounds what is left to zero and its float
   * smoothers decay into denormals, which WebAssembly cannot flush to zero. Noise below one int16 step did not help.
   * Non-finite samples are replaced by silence on the way in.
   */
  private dithered(from: Float32Array, at: number, into: Float32Array): void {
    let s = this.ditherState;
    for (let i = 0; i < into.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const v = from[at + i]!;
      // a NaN or infinity from a broken source would poison AEC3's state for good: it counts as silence
      into[i] = (v - v === 0 ? v : 0) + DITHER * ((s >>> 0) / 4294967296 - 0.5);
    }
    this.ditherState = s;
  }

  /** A trap inside the module: say where its failed check was, when known. */
  private explain(e: unknown): unknown {
    if (!(e instanceof WebAssembly.RuntimeError)) return e;
    const line = this.ex.aec3_failed_check_line();
    if (!line) return e;
    const p = this.ex.aec3_failed_check_file();
    const bytes = new Uint8Array(this.ex.memory.buffer, p, 256);
    let file = '';
    for (let i = 0; i < bytes.length && bytes[i]; i++) file += String.fromCharCode(bytes[i]!);
    return new Error(`WebrtcAec3: a check failed in AEC3 at ${file || '(file unknown)'}:${line}`, { cause: e });
  }

  private withName(name: string, f: (ptr: number) => number): number {
    const p = this.ex.malloc(name.length + 1);
    const b = new Uint8Array(this.ex.memory.buffer, p, name.length + 1);
    for (let i = 0; i < name.length; i++) b[i] = name.charCodeAt(i) & 0x7f;
    b[name.length] = 0;
    try {
      return f(p);
    } finally {
      this.ex.free(p);
    }
  }

  /** Hand AEC3 what the speakers played: whole 10 ms blocks, continuing the reference stream. */
  analyzeRender(ref: Float32Array): void {
    this.check(ref.length);
    const n = this.blockSize;
    for (let b = 0; b < ref.length; b += n) {
      this.views();
      this.dithered(ref, b, this.renderView);
      try {
        this.ex.aec3_analyze_render(this.h);
      } catch (e) {
        throw this.explain(e);
      }
    }
  }

  /**
   * Remove the echo from the mic: whole 10 ms blocks, written to `out` (may be `mic`). `echoPathChanged` tells
   * AEC3 the capture gain changed (e.g. the input volume), for the first block.
   */
  processCapture(mic: Float32Array, out: Float32Array = mic, echoPathChanged = false): Float32Array {
    this.check(mic.length);
    if (out.length < mic.length) throw new Error('WebrtcAec3: out shorter than mic');
    const n = this.blockSize;
    for (let b = 0; b < mic.length; b += n) {
      this.views();
      this.dithered(mic, b, this.captureView);
      try {
        this.ex.aec3_process_capture(this.h, echoPathChanged && b === 0 ? 1 : 0);
      } catch (e) {
        throw this.explain(e);
      }
      this.views();
      out.set(this.captureView, b);
    }
    return out;
  }

  /**
   * Both streams, block by block (the reference of each 10 ms block first, then the mic): `mic` minus the echo
   * of `ref`, into `out` (may be `mic`). Lengths: equal, whole blocks.
   */
  process(mic: Float32Array, ref: Float32Array, out: Float32Array = new Float32Array(mic.length)): Float32Array {
    if (ref.length !== mic.length) throw new Error(`WebrtcAec3: mic (${mic.length}) and ref (${ref.length}) differ in length`);
    const n = this.blockSize;
    for (let b = 0; b < mic.length; b += n) {
      this.analyzeRender(ref.subarray(b, b + n));
      this.processCapture(mic.subarray(b, b + n), out.subarray(b, b + n));
    }
    return out;
  }

  /** With `delay.use_external_delay_estimator`: the bulk delay of the echo behind the reference, ms. */
  setExternalDelay(ms: number): void {
    this.ex.aec3_set_external_delay(this.h, Math.max(0, Math.round(ms)));
  }

  metrics(): WebrtcAec3Metrics {
    this.ex.aec3_metrics(this.h, this.metricsPtr);
    this.views();
    const m = this.metricsView;
    return { erlDb: m[0]!, erleDb: m[1]!, delayMs: m[2]! };
  }

  /** Bytes of WebAssembly memory this instance holds (it grows, never shrinks). */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  private check(len: number): void {
    if (this.disposed) throw new Error('WebrtcAec3: used after dispose');
    if (len % this.blockSize !== 0) throw new Error(`WebrtcAec3: ${len} samples is not a whole number of ${this.blockSize}-sample blocks`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ex.aec3_destroy(this.h);
    this.ex.free(this.metricsPtr);
  }
}
