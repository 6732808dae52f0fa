/**
 * The AudioWorkletGlobalScope names the processors use. TypeScript's DOM library has none of them; these
 * declarations describe what the browser (and node-web-audio-api) provide at run time.
 */
export interface WorkletProcessor {
  readonly port: MessagePort;
  process(inputs: Float32Array[][], outputs: Float32Array[][], parameters: Record<string, Float32Array>): boolean;
}

interface WorkletScope {
  sampleRate: number;
  currentTime: number;
  AudioWorkletProcessor: new (options?: unknown) => { readonly port: MessagePort };
  registerProcessor(name: string, ctor: new (options: { processorOptions?: unknown }) => WorkletProcessor): void;
}

export const scope = globalThis as unknown as WorkletScope;
