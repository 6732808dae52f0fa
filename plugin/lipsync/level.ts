/**
 * A voice level (RMS, 0..1) read from a Babylon sound's analyzer, for the amplitude-driven jaw: NpcVoice exposes
 * its Babylon sound source as `voice.sound`, whose `analyzer` sees the voice before distance attenuation.
 */

/** The analyzer members used (Babylon AbstractAudioAnalyzer). */
export interface AnalyzerLike {
  readonly isEnabled?: boolean;
  enableAsync?(): Promise<void>;
  getFloatTimeDomainData(): Float32Array;
}

/** Returns a level function; it enables the analyzer if needed and reads 0 until it is. */
export function levelFromAnalyzer(analyzer: AnalyzerLike): () => number {
  let ready = analyzer.isEnabled !== false;
  if (!ready && analyzer.enableAsync) {
    analyzer.enableAsync().then(
      () => (ready = true),
      () => undefined, // no analyzer: the jaw simply stays at rest where there are no words
    );
  }
  return () => {
    if (!ready) return 0;
    const data = analyzer.getFloatTimeDomainData();
    if (!data || data.length === 0) return 0;
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
    const rms = Math.sqrt(sum / data.length);
    return Number.isFinite(rms) ? rms : 0;
  };
}
