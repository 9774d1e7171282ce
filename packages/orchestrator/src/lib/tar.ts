/** A ustar archive holding one regular file, for writing a file into a container. */
export function singleFileTar(name: string, content: Uint8Array, owner: { uid: number; gid: number }, mtime: Date): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length > 100) throw new Error('the file name is too long for one tar entry');
  const header = new Uint8Array(512);
  const put = (offset: number, length: number, value: string) => header.set(new TextEncoder().encode(value).slice(0, length), offset);
  const octal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  header.set(nameBytes, 0);
  octal(100, 8, 0o644);
  octal(108, 8, owner.uid);
  octal(116, 8, owner.gid);
  octal(124, 12, content.byteLength);
  octal(136, 12, Math.floor(mtime.getTime() / 1000));
  put(148, 8, '        '); // checksum is computed over spaces here
  put(156, 1, '0');
  put(257, 8, 'ustar\u000000');
  let sum = 0;
  for (const byte of header) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = (512 - (content.byteLength % 512)) % 512;
  const archive = new Uint8Array(512 + content.byteLength + padding + 1024);
  archive.set(header, 0);
  archive.set(content, 512);
  return archive;
}
