import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Links from a card to the bot's own web routes (a meeting's calendar file, in local mode). A
 * browser opening such a link carries no Teams identity, so the link carries its permission: whom
 * it was drawn for, until when, and an HMAC over both and the meeting, keyed by a server secret.
 * The route still asks the core whether that person may read the case when the link is used.
 */

export interface MeetingLinks {
  /** Where a browser reaches the bot: `EARLYHELP_PUBLIC_URL`, or the server's own address. */
  baseUrl(): string;
  /** The key links are signed with. */
  readonly secret: Buffer;
}

/** The shortest secret accepted from the environment: 32 characters, as for any HMAC-SHA256 key. */
const MIN_SECRET_LENGTH = 32;

/**
 * The bot's links. Without `secret` (EARLYHELP_LINK_SECRET) a key is made for this process: links
 * then stop working at a restart and on other instances, which local mode can live with.
 */
export function meetingLinks(options: { baseUrl: () => string; secret?: string }): MeetingLinks {
  const given = options.secret?.trim() ?? '';
  if (given && given.length < MIN_SECRET_LENGTH) throw new Error(`EARLYHELP_LINK_SECRET: must be at least ${MIN_SECRET_LENGTH} characters`);
  return { baseUrl: () => options.baseUrl().replace(/\/+$/, ''), secret: given ? Buffer.from(given, 'utf8') : randomBytes(32) };
}

const signature = (links: MeetingLinks, meetingId: string, staffId: string, expires: number) =>
  createHmac('sha256', links.secret).update(`taf-meeting-ics\n${meetingId}\n${staffId}\n${expires}`).digest('base64url');

/** The calendar file of a meeting, for one person, good until `expiresAt`. */
export function meetingFileUrl(links: MeetingLinks, meetingId: string, staffId: string, expiresAt: Date): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const query = new URLSearchParams({ u: staffId, e: String(expires), s: signature(links, meetingId, staffId, expires) });
  return `${links.baseUrl()}/api/meetings/${encodeURIComponent(meetingId)}.ics?${query}`;
}

/** Whom a calendar-file link was drawn for, if it is one the bot signed and it has not expired; null otherwise. */
export function meetingFileHolder(links: MeetingLinks, meetingId: string, query: URLSearchParams, now: Date): string | null {
  const staffId = query.get('u') ?? '';
  const expiresText = query.get('e') ?? '';
  const given = Buffer.from(query.get('s') ?? '', 'utf8');
  if (!staffId || !/^\d{1,12}$/.test(expiresText)) return null;
  const expires = Number(expiresText);
  const expected = Buffer.from(signature(links, meetingId, staffId, expires), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return expires * 1000 > now.getTime() ? staffId : null;
}
