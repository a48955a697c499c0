// Pure text of alert mails: ldirectord's log lines as subjects, its body lines, and ldir's digest of several events.
import type { DaemonState, VirtualService } from '../model';

/** What an alert event reports. */
export type AlertKind =
  | 'down'
  | 'up'
  | 'reminder'
  | 'fallback-on'
  | 'fallback-off'
  | 'quorum-lost'
  | 'quorum-gained'
  | 'announced'
  | 'withdrawn'
  | 'flapping'
  | 'flap-summary'
  | 'stable';

/** One line of an alert mail: an ldirectord-style log line plus what ldir knows around it. */
export interface AlertEvent {
  readonly kind: AlertKind;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly virtualId: string;
  /** `address:port` of the real server, when the event is about one. */
  readonly real?: string;
  /** The log line, as ldirectord writes it (`Deleted real server: 10.0.0.2:80 (10.0.0.1:80)`), without a prefix. */
  readonly line: string;
  /** Reason of the check that caused it (`refused`, `timeout`, ...). */
  readonly reason?: string;
  readonly daemonState: DaemonState;
  readonly serviceName?: string;
  readonly comment?: string;
}

/** A mail's subject and body. */
export interface MailText {
  readonly subject: string;
  readonly text: string;
}

/** Context of {@link composeMail}. */
export interface ComposeContext {
  readonly hostname: string;
  /** Daemon state when the mail leaves. */
  readonly daemonState: DaemonState;
  /** Virtual services of the mail that have no real server up now, as `[servicename] VIP:PORT` texts. */
  readonly outOfService?: readonly string[];
  /** Events of the burst that are counted but not listed (the per-mail bound). */
  readonly omitted?: number;
}

/** One line of text: line breaks and other control characters become spaces (no header or body injection). */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** The virtual service as ldirectord names it in mails (`get_virtual`): `VIP:PORT` (IPv6 in brackets), or the mark. */
export function virtualText(v: VirtualService): string {
  if (v.fwmark !== undefined) return String(v.fwmark);
  const address = v.address ?? '';
  return `${address.includes(':') ? `[${address}]` : address}:${v.port}`;
}

/**
 * ldirectord's log line for a real server change (`_remove_service`/`_restore_service`): a quiescent virtual keeps
 * the entry at weight 0 and restores it; otherwise the entry is deleted and added back.
 */
export function realLine(kind: 'down' | 'up' | 'reminder', v: VirtualService, real: string, weight: number): string {
  const where = `${real} (${virtualText(v)})`;
  if (kind === 'reminder') return `Inaccessible real server: ${where}`;
  if (kind === 'down')
    return v.quiescent ? `Quiescent real server: ${where} (Weight set to 0)` : `Deleted real server: ${where}`;
  return `${v.quiescent ? 'Restored' : 'Added'} real server: ${where} (Weight set to ${weight})`;
}

/** ldirectord's log line for the fallback server going in (weight 1) or out (never quiesced). */
export function fallbackLine(active: boolean, v: VirtualService, fallback: string): string {
  const where = `${fallback} (${virtualText(v)})`;
  return active ? `Added fallback server: ${where} (Weight set to 1)` : `Deleted fallback server: ${where}`;
}

/** Line of a virtual whose address the routing daemon now announces or no longer does (route health injection). */
export function announceLine(announced: boolean, v: VirtualService, prefix: string): string {
  return announced
    ? `Announced route: ${prefix} (${virtualText(v)})`
    : `Withdrawn route: ${prefix} (${virtualText(v)})`;
}

/**
 * Line of a virtual that lost or gained its quorum (keepalived's "Lost quorum"/"Gained quorum" with ldir's counts:
 * serving real servers against the quorum and its hysteresis).
 */
export function quorumLine(
  state: 'up' | 'down',
  v: VirtualService,
  serving: number,
  quorum: number,
  hysteresis: number,
): string {
  const band =
    hysteresis > 0 ? (state === 'up' ? `${quorum}+${hysteresis}` : `${quorum}-${hysteresis}`) : String(quorum);
  return state === 'up'
    ? `Gained quorum: ${virtualText(v)} (${serving} real servers serving, quorum ${band})`
    : `Lost quorum: ${virtualText(v)} (${serving} real servers serving, quorum ${band})`;
}

/** Line of a real server that starts flapping: further changes are summarised. */
export function flappingLine(v: VirtualService, real: string, changes: number, periodS: number, now: string): string {
  return `Flapping real server: ${real} (${virtualText(v)}) (${changes} changes in ${periodS} s, now ${now}; further changes summarised every ${periodS} s)`;
}

/** Periodic summary of a flapping real server. */
export function flapSummaryLine(
  v: VirtualService,
  real: string,
  changes: number,
  periodS: number,
  now: string,
): string {
  return `Flapping real server: ${real} (${virtualText(v)}) (${changes} more changes in the last ${periodS} s, now ${now})`;
}

/** Line of a flapping real server that has been stable for a whole period. */
export function stableLine(v: VirtualService, real: string, periodS: number, now: string): string {
  return `Stable real server: ${real} (${virtualText(v)}) (no change for ${periodS} s, now ${now})`;
}

/** Subject of one event: its line, prefixed `[servicename] ` when the virtual has one (as ldirectord). */
export function eventSubject(e: AlertEvent): string {
  return oneLine(e.serviceName !== undefined && e.serviceName !== '' ? `[${e.serviceName}] ${e.line}` : e.line);
}

/** ldirectord's body lines of one event (Log-Message, Daemon-Status, Service name, Comment) plus Reason and Time. */
function eventBlock(e: AlertEvent): string[] {
  const lines = [`Log-Message: ${eventSubject(e)}`, `Daemon-Status: ${e.daemonState}`];
  if (e.serviceName !== undefined && e.serviceName !== '') lines.push(`Service name: ${oneLine(e.serviceName)}`);
  if (e.comment !== undefined && e.comment !== '') lines.push(`Comment: ${oneLine(e.comment)}`);
  if (e.reason !== undefined && e.reason !== '') lines.push(`Reason: ${oneLine(e.reason)}`);
  lines.push(`Time: ${new Date(e.at).toISOString()}`);
  return lines;
}

const KIND_WORDS: ReadonlyArray<[AlertKind, string]> = [
  ['down', 'down'],
  ['up', 'up'],
  ['reminder', 'still down'],
  ['fallback-on', 'fallback in'],
  ['fallback-off', 'fallback out'],
  ['quorum-lost', 'quorum lost'],
  ['quorum-gained', 'quorum gained'],
  ['announced', 'announced'],
  ['withdrawn', 'withdrawn'],
  ['flapping', 'flapping'],
  ['flap-summary', 'flap summary'],
  ['stable', 'stable again'],
];

/** `3 down, 1 up` for the events of a digest. */
function tally(events: readonly AlertEvent[]): string {
  return KIND_WORDS.map(([kind, word]) => [events.filter((e) => e.kind === kind).length, word] as const)
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`)
    .join(', ');
}

/**
 * The mail for a burst of events. One event gives ldirectord's mail exactly (subject = the log line; body
 * `ldirectord host:`, `Log-Message:`, `Daemon-Status:`, `Service name:`, `Comment:`) plus `Reason:` and `Time:`.
 * Several give a digest: the first event's subject with `(+N more)`, a summary, then one such block per event.
 */
export function composeMail(events: readonly AlertEvent[], ctx: ComposeContext): MailText {
  const first = events[0];
  if (first === undefined) throw new RangeError('composeMail needs at least one event');
  const omitted = ctx.omitted ?? 0;
  const total = events.length + omitted;
  const host = `ldirectord host: ${oneLine(ctx.hostname)}`;
  if (total === 1) return { subject: eventSubject(first), text: `${[host, ...eventBlock(first)].join('\n')}\n` };
  const head = [
    host,
    `Daemon-Status: ${ctx.daemonState}`,
    `Events: ${total} (${tally(events)}${omitted > 0 ? `, ${omitted} not listed` : ''})`,
  ];
  for (const v of ctx.outOfService ?? []) head.push(`Out of service (no real server up): ${oneLine(v)}`);
  const blocks = events.map((e) => eventBlock(e).join('\n'));
  if (omitted > 0) blocks.push(`... ${omitted} more events not listed`);
  return {
    subject: `${eventSubject(first)} (+${total - 1} more)`,
    text: `${[head.join('\n'), ...blocks].join('\n\n')}\n`,
  };
}
