/** Text pieces → timed Oculus visemes for an NPC's voice stream. The room uses VisemeTimeline, one per stream. */
export { VisemeTimeline, DEFAULT_WORD_OFFSET, type VisemeTimelineOptions } from './timeline.ts';
export { WordAssembler, wordStartSample, type AssembledWord, type WordUpdate } from '../../protocol/pieces.ts';
export { pronounce, loadPronunciations, pronunciationsLoaded, type Pronunciation, type PauseHint } from './pronounce.ts';
export { letterToSound } from './letter-to-sound.ts';
export { spellNumber } from './numbers.ts';
export { phonesToSpans, parseArpabet, type Phone, type VisemeSpan } from './arpabet.ts';

export { ipaToVisemes } from './ipa.ts';
