/**
 * Wire protocol version. Bump the major on any change an older peer would misread; the server refuses a
 * client whose major differs, naming both versions. The minor counts additions an older peer ignores safely
 * (1.1: hello's `echo`).
 */
export const PROTOCOL_VERSION = '1.1';

export function protocolMajor(version: string): number {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  return Number.isFinite(major) ? major : NaN;
}

/** null when compatible, else a message that says which versions differ. */
export function versionMismatch(client: unknown, server = PROTOCOL_VERSION): string | null {
  if (typeof client !== 'string' || client.length === 0 || client.length > 16) {
    return `protocol version missing or malformed (client sent ${JSON.stringify(client)}, server speaks ${server})`;
  }
  if (protocolMajor(client) !== protocolMajor(server)) {
    return `protocol version mismatch: client speaks ${client}, server speaks ${server}`;
  }
  return null;
}
