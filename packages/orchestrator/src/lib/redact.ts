/** `https://user:token@host/...` → `https://***@host/...`, wherever it appears. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}
