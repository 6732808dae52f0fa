/**
 * Loads the plugin's AudioWorklet module into a context, once per context. The bundle carries the worklet code
 * inlined (esbuild defines __PARLEY_WORKLET_SOURCE__), so a game needs no second file: it is loaded from a Blob
 * URL. A game whose Content-Security-Policy forbids blob: workers passes `workletUrl` to a hosted copy
 * (dist/plugin/parley-worklets.js) instead.
 */
declare const __PARLEY_WORKLET_SOURCE__: string | undefined;

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();
let inlineUrl: string | null = null;

/** The Blob URL of the inlined worklet code, or null when running unbundled (tests pass their own URL). */
export function inlineWorkletUrl(): string | null {
  if (inlineUrl) return inlineUrl;
  const source = typeof __PARLEY_WORKLET_SOURCE__ === 'string' ? __PARLEY_WORKLET_SOURCE__ : null;
  if (!source) return null;
  inlineUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return inlineUrl;
}

export function loadParleyWorklets(ctx: BaseAudioContext, workletUrl?: string): Promise<void> {
  let p = loaded.get(ctx);
  if (!p) {
    const url = workletUrl ?? inlineWorkletUrl();
    if (!url) {
      return Promise.reject(
        new Error('Parley: the worklet code is not bundled here; pass `workletUrl` (dist/plugin/parley-worklets.js)'),
      );
    }
    if (!ctx.audioWorklet) {
      return Promise.reject(new Error('Parley: this browser has no AudioWorklet (a secure context, https or localhost, is required)'));
    }
    p = ctx.audioWorklet.addModule(url);
    p.catch(() => loaded.delete(ctx)); // let a later call retry
    loaded.set(ctx, p);
  }
  return p;
}
