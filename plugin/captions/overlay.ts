/**
 * A ready-made caption line: an HTML element over the game canvas, no Babylon GUI needed. One overlay shows any
 * number of NPCs' captions, one line each, newest speaker at the bottom. Style it with the `parley-captions` class
 * (the inline defaults are a readable white-on-translucent-black bar), or skip it and draw from the observables.
 */
import type { NpcCaptions } from './captions.ts';

/** The DOM members the overlay uses (a real `document`, or a stand-in in tests). */
export interface DocumentLike {
  createElement(tag: 'div'): ElementLike;
  body: ElementLike;
}
export interface ElementLike {
  className: string;
  textContent: string | null;
  style: Partial<Record<string, string>> & object;
  appendChild(child: ElementLike): unknown;
  removeChild(child: ElementLike): unknown;
  readonly childNodes?: ArrayLike<unknown>;
}

export interface CaptionOverlayOptions {
  /** element to put the overlay in (default: document.body); give it `position: relative` if it is not the body */
  parent?: ElementLike;
  document?: DocumentLike;
  /** inline styles of the container; pass {} to style it only from CSS */
  style?: Record<string, string>;
}

const CONTAINER_STYLE: Record<string, string> = {
  position: 'absolute',
  left: '50%',
  bottom: '6%',
  transform: 'translateX(-50%)',
  maxWidth: '80%',
  textAlign: 'center',
  pointerEvents: 'none',
  font: '600 20px/1.35 system-ui, sans-serif',
  color: '#fff',
  textShadow: '0 1px 3px #000',
};
const LINE_STYLE: Record<string, string> = {
  background: 'rgba(0, 0, 0, 0.55)',
  borderRadius: '6px',
  padding: '4px 12px',
  margin: '4px 0',
};

export class CaptionOverlay {
  readonly element: ElementLike;
  private readonly doc: DocumentLike;
  private readonly parent: ElementLike;
  private readonly lines = new Map<NpcCaptions, { el: ElementLike; unhook: () => void }>();

  constructor(opts: CaptionOverlayOptions = {}) {
    const doc = opts.document ?? (globalThis as unknown as { document?: DocumentLike }).document;
    if (!doc) throw new Error('CaptionOverlay needs a DOM document (pass { document } outside a browser)');
    this.doc = doc;
    this.parent = opts.parent ?? doc.body;
    this.element = doc.createElement('div');
    this.element.className = 'parley-captions';
    Object.assign(this.element.style, opts.style ?? CONTAINER_STYLE);
    this.parent.appendChild(this.element);
  }

  /** Show an NPC's captions, prefixed by the speaker's name if given. Returns a function that hides them. */
  show(captions: NpcCaptions, speaker?: string): () => void {
    this.hide(captions);
    const el = this.doc.createElement('div');
    el.className = 'parley-caption-line';
    Object.assign(el.style, LINE_STYLE, { display: 'none' });
    const observer = captions.onCaptionObservable.add(({ text }) => {
      el.textContent = text && speaker ? `${speaker}: ${text}` : text;
      el.style.display = text ? '' : 'none';
      if (text) {
        // the newest speaker goes to the bottom
        this.element.removeChild(el);
        this.element.appendChild(el);
      }
    });
    this.element.appendChild(el);
    const unhook = () => {
      captions.onCaptionObservable.remove(observer);
      this.element.removeChild(el);
    };
    this.lines.set(captions, { el, unhook });
    return () => this.hide(captions);
  }

  hide(captions: NpcCaptions): void {
    this.lines.get(captions)?.unhook();
    this.lines.delete(captions);
  }

  dispose(): void {
    for (const c of [...this.lines.keys()]) this.hide(c);
    this.parent.removeChild(this.element);
  }
}
