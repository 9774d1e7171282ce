// Keyset pagination shared by the stores: items ordered by (createdAt, id); the cursor
// names the last item of a page.

export function encodeCursor(createdAt: string, id: string): string {
  return `${createdAt}|${id}`;
}

export function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [createdAt, id, ...rest] = cursor.split('|');
  if (createdAt === undefined || id === undefined || rest.length > 0) return undefined;
  return { createdAt, id };
}

/** True when (createdAt, id) comes after the cursor. */
export function isAfter(item: { createdAt: string; id: string }, cursor: { createdAt: string; id: string } | undefined): boolean {
  if (cursor === undefined) return true;
  return item.createdAt > cursor.createdAt || (item.createdAt === cursor.createdAt && item.id > cursor.id);
}

/** True when (createdAt, id) comes before the cursor. */
export function isBefore(item: { createdAt: string; id: string }, cursor: { createdAt: string; id: string }): boolean {
  return item.createdAt < cursor.createdAt || (item.createdAt === cursor.createdAt && item.id < cursor.id);
}
