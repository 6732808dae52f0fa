export * from './frame.ts';
export * from './version.ts';
export * from './codecs.ts';
export * from './visemes.ts';
export * from './messages.ts';
export * from './envelope.ts';
export * from './pieces.ts';
export * from './room-view.ts';
