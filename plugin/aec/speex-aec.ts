/**
 * Typed wrapper around speexdsp's echo canceller (MDF adaptive filter with its own double-talk handling) and
 * preprocessor (residual echo suppression, run `suppressPasses` times), compiled to a standalone WebAssembly
 * module by build-speexdsp.sh.
 * One instance per stream: each owns its WebAssembly memory, so instances never share state. Synchronous, so it
 * can be created inside an AudioWorkletGlobalScope from bytes posted to it (no fetch there).
 */

// Control requests (speex/speex_echo.h, speex/speex_preprocess.h).
const SPEEX_ECHO_SET_SAMPLING_RATE = 24;
const PRE_SET_DENOISE = 0;
const PRE_SET_AGC = 2;
const PRE_SET_VAD = 4;
const PRE_SET_DEREVERB = 8;
const PRE_SET_ECHO_SUPPRESS = 20;
const PRE_SET_ECHO_SUPPRESS_ACTIVE = 22;
const PRE_SET_ECHO_STATE = 24;
const PRE_SET_NOISE_SUPPRESS = 18;

interface SpeexExports {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  malloc(n: number): number;
  free(p: number): void;
  speex_echo_state_init(frame: number, filter: number): number;
  speex_echo_state_destroy(st: number): void;
  speex_echo_state_reset(st: number): void;
  speex_echo_cancellation(st: number, rec: number, play: number, out: number): void;
  speex_echo_ctl(st: number, req: number, ptr: number): number;
  speex_preprocess_state_init(frame: number, rate: number): number;
  speex_preprocess_state_destroy(st: number): void;
  speex_preprocess_run(st: number, x: number): number;
  speex_preprocess_ctl(st: number, req: number, ptr: number): number;
}

export interface SpeexAecOptions {
  sampleRate: number;
  /** samples per call (speex works best with 10–20 ms) */
  frameSize: number;
  /** adaptive filter length in samples: the echo tail it can model */
  filterLength: number;
  /** residual echo suppression, dB (negative): while only the far end talks, and while both do */
  suppressDb?: number;
  suppressActiveDb?: number;
  /** speex's noise suppression, dB (negative; default −1, next to none: the browser's own runs before us) */
  noiseSuppressDb?: number;
  /** how many times faster than speex's defaults its step-size statistics track (1–4; see setSpeed) */
  speed?: number;
  /**
   * Residual echo suppression passes (1–3, default 1). Each pass is a speex preprocessor reading the same
   * residual echo estimate (the canceller's echo estimate × its leakage estimate). Measured (docs/plugin.md,
   * Echo): a second pass takes every simulated room to ≥ 25 dB ERLE from 6 s (21 of 27 with one) for about
   * 0.5 dB of a player talking over the NPC, but each pass delays the signal by one frame (the preprocessor's
   * overlap-add), so a second pass adds another frameSize of latency to the uplink.
   */
  suppressPasses?: number;
}

export type SpeexWasm = WebAssembly.Module | BufferSource;

export class SpeexAec {
  private readonly ex: SpeexExports;
  private readonly echo: number;
  private readonly pre: number[] = [];
  private readonly mic: number;
  private readonly ref: number;
  private readonly out: number;
  private readonly arg: number;
  private disposed = false;

  /** Instantiates the module synchronously (worklet scopes cannot await a fetch). */
  constructor(wasm: SpeexWasm, readonly options: SpeexAecOptions) {
    const { frameSize, filterLength, sampleRate } = options;
    if (!(Number.isInteger(frameSize) && frameSize > 0 && Number.isInteger(filterLength) && filterLength >= frameSize)) {
      throw new Error(`SpeexAec: frameSize ${frameSize} and filterLength ${filterLength} must be integers, filter ≥ frame`);
    }
    const passes = options.suppressPasses ?? 1;
    if (!(Number.isInteger(passes) && passes >= 1 && passes <= 3)) throw new Error(`SpeexAec: suppressPasses ${passes} must be 1, 2 or 3`);
    const module = wasm instanceof WebAssembly.Module ? wasm : new WebAssembly.Module(wasm);
    let ex: SpeexExports | undefined;
    const instance = new WebAssembly.Instance(module, {
      env: { emscripten_notify_memory_growth: () => {} }, // views are re-read after every call that allocates
    });
    ex = instance.exports as unknown as SpeexExports;
    ex._initialize?.();
    this.ex = ex;
    this.echo = ex.speex_echo_state_init(frameSize, filterLength);
    for (let k = 0; k < passes; k++) this.pre.push(ex.speex_preprocess_state_init(frameSize, sampleRate));
    if (!this.echo || this.pre.some((p) => !p)) throw new Error('SpeexAec: speexdsp could not allocate its state');
    this.mic = ex.malloc(frameSize * 2);
    this.ref = ex.malloc(frameSize * 2);
    this.out = ex.malloc(frameSize * 2);
    this.arg = ex.malloc(4);
    this.setSpeed(options.speed ?? 1);
    for (const pre of this.pre) {
      // speex applies residual echo suppression through its denoiser's gains, so the denoiser stays on, held
      // to a token attenuation of noise.
      this.ctlPre(pre, PRE_SET_DENOISE, 1);
      this.ctlPre(pre, PRE_SET_NOISE_SUPPRESS, Math.round(options.noiseSuppressDb ?? -1));
      this.ctlPre(pre, PRE_SET_AGC, 0);
      this.ctlPre(pre, PRE_SET_VAD, 0);
      this.ctlPre(pre, PRE_SET_DEREVERB, 0);
      this.ctlPre(pre, PRE_SET_ECHO_SUPPRESS, Math.round(options.suppressDb ?? -40));
      this.ctlPre(pre, PRE_SET_ECHO_SUPPRESS_ACTIVE, Math.round(options.suppressActiveDb ?? -15));
      // The preprocessor reads the canceller's state to estimate the residual echo.
      ex.speex_preprocess_ctl(pre, PRE_SET_ECHO_STATE, this.echo);
    }
  }

  private ctlEcho(req: number, v: number): void {
    new Int32Array(this.ex.memory.buffer, this.arg, 1)[0] = v;
    this.ex.speex_echo_ctl(this.echo, req, this.arg);
  }

  private ctlPre(pre: number, req: number, v: number): void {
    new Int32Array(this.ex.memory.buffer, this.arg, 1)[0] = v;
    this.ex.speex_preprocess_ctl(pre, req, this.arg);
  }

  /**
   * speex derives the time constants of its step-size control (the leakage estimate that sets how fast the
   * filter adapts, the far-end spectrum's smoothing) from frame size ÷ sampling rate: each is about 2 s of
   * audio whatever the frame. Telling it a rate `speed` times lower makes them track `speed` times faster;
   * nothing else depends on the rate except its DC notch, which stays near 70 Hz down to 12 kHz (2×) and is
   * several hundred Hz wide below that. Measured (docs/plugin.md, Echo): faster tracking converges no sooner
   * to 25 dB on speech and takes 3–8 dB off a player talking over the NPC, so the default stays 1.
   */
  setSpeed(speed: number): void {
    if (!(speed >= 1 && speed <= 4)) throw new Error(`SpeexAec: speed ${speed} must lie in 1..4`);
    this.ctlEcho(SPEEX_ECHO_SET_SAMPLING_RATE, Math.round(this.options.sampleRate / speed));
  }

  /**
   * Cancel one frame: `mic` minus the echo of `ref` (what the speakers played, same clock), written to `out`
   * (may be `mic`). `linear` receives the adaptive filter's output before residual suppression, when given.
   */
  process(mic: Float32Array, ref: Float32Array, out: Float32Array, linear?: Float32Array): void {
    if (this.disposed) throw new Error('SpeexAec: used after dispose');
    const n = this.options.frameSize;
    if (mic.length < n || ref.length < n || out.length < n) throw new Error(`SpeexAec: frames must hold ${n} samples`);
    const mem = this.ex.memory.buffer;
    toPcm16(mic, new Int16Array(mem, this.mic, n));
    toPcm16(ref, new Int16Array(mem, this.ref, n));
    this.ex.speex_echo_cancellation(this.echo, this.mic, this.ref, this.out);
    const o = new Int16Array(this.ex.memory.buffer, this.out, n);
    if (linear) for (let i = 0; i < n; i++) linear[i] = o[i]! / 32768;
    for (const pre of this.pre) this.ex.speex_preprocess_run(pre, this.out);
    const p = new Int16Array(this.ex.memory.buffer, this.out, n);
    for (let i = 0; i < n; i++) out[i] = p[i]! / 32768;
  }

  /** Forget the echo path (it will be learnt again). */
  reset(): void {
    this.ex.speex_echo_state_reset(this.echo);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const pre of this.pre) this.ex.speex_preprocess_state_destroy(pre);
    this.ex.speex_echo_state_destroy(this.echo);
    for (const p of [this.mic, this.ref, this.out, this.arg]) this.ex.free(p);
  }
}

function toPcm16(x: Float32Array, into: Int16Array): void {
  for (let i = 0; i < into.length; i++) {
    const v = x[i]! * 32768;
    into[i] = v !== v ? 0 : v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v);
  }
}
