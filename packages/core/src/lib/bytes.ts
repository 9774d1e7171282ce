const encoder = new TextEncoder();

/** Length of `text` in UTF-8 bytes: the unit of the protocol's size limits. */
export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}
