// Times as a person reads them on the web UI's pages.

/** An ISO 8601 time as a person reads it, in UTC: to the minute, or with `seconds`. */
export function utcTime(at: string, seconds = false): string {
  return at.replace('T', ' ').slice(0, seconds ? 19 : 16);
}

/** How long from one time to another, as a person says it: 45 s, 3 min 5 s, 2 h 4 min. */
export function durationInWords(from: string, to: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  return minutes % 60 === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
