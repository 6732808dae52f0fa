/** Captions for NPC voices: words shown as they are heard, events for games that draw their own subtitles. */
export { NpcCaptions, type NpcCaptionsOptions, type CaptionWordEvent, type CaptionEvent, type CaptionClock } from './captions.ts';
export { CaptionOverlay, type CaptionOverlayOptions, type DocumentLike, type ElementLike } from './overlay.ts';
export { bindCaptions, type TextSource } from './voice-binding.ts';
