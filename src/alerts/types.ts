// Contracts of the alerter: its options and surface, mail transports, the alert command runner, and counters.
import type { HealthTransition } from '../model/health';
import type { Clock } from '../clock';
import type { EngineEvent } from '../engine/engine-types';
import type { Logger } from '../log';
import type { Config, DaemonState, SmtpAuth, SmtpTls } from '../model';
import type { SendReport } from './delivery';

/** Where mails leave: an SMTP server (ldir's `smtp`), or the local `sendmail` binary (no `smtp`, as ldirectord). */
export type MailTransportSettings =
  | {
      readonly kind: 'smtp';
      readonly host: string;
      readonly port: number;
      readonly tls: SmtpTls;
      /** Credentials; the password is a secret and never logged. */
      readonly auth?: SmtpAuth;
    }
  | { readonly kind: 'sendmail' };

/** One mail ready to go. */
export interface OutgoingMail {
  /** From header (emailalertfrom, else `user@host`); the envelope sender is its address. */
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** Plain-text body. */
  readonly text: string;
  /** Number of events it reports, for logs. */
  readonly events: number;
}

/**
 * Sends mails over one transport. `send` resolves once the server took the mail, with the recipients it refused at
 * RCPT TO if any (delivery.ts); it rejects on failure, with the SMTP reply code, when there is one, in the error's
 * `responseCode` (5xx = permanent: not retried) and, when every recipient was refused, each one's refusal in
 * `refused`. It should stop when `signal` aborts.
 */
export interface MailTransport {
  send(mail: OutgoingMail, signal: AbortSignal): Promise<SendReport | void>;
  /** Releases connections; later sends may fail. */
  close(): void;
}

/** Makes the transport for some settings; `hostname` is the name ldir greets SMTP servers with. */
export type MailTransportFactory = (settings: MailTransportSettings, hostname: string) => MailTransport;

/** How an alert command ended. */
export interface HookOutcome {
  /** Exit code; null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** True when it was killed at its timeout. */
  readonly timedOut: boolean;
  /** The start of what it wrote to stderr (for the log). */
  readonly stderr: string;
}

/** Runs a command without a shell (`argv[0]` is the program), killed after `timeoutMs`; rejects when it cannot start. */
export type HookRunner = (
  argv: readonly string[],
  options: { readonly env: Readonly<Record<string, string>>; readonly timeoutMs: number },
) => Promise<HookOutcome>;

/** Limits of mail sending. */
export interface MailLimits {
  /** Mails waiting per transport; beyond it the oldest is dropped. Default 100. */
  readonly maxQueue?: number;
  /** First retry delay after a failed send, in milliseconds; doubles per failure. Default 1 000. */
  readonly retryInitialMs?: number;
  /** Longest retry delay. Default 300 000 (5 minutes). */
  readonly retryMaxMs?: number;
  /** A mail still unsent this long after it was queued is given up (counted failed). Default 3 600 000 (1 hour). */
  readonly maxAgeMs?: number;
  /** Bound of one send attempt. Default 60 000. */
  readonly sendTimeoutMs?: number;
  /** Events listed in one digest; more are counted, not listed. Default 200. */
  readonly maxEventsPerMail?: number;
}

/** Limits of alert commands. */
export interface CommandLimits {
  /** Milliseconds after which a command is killed (its whole process group). Default 10 000. */
  readonly timeoutMs?: number;
  /** Commands running at once. Default 4. */
  readonly concurrency?: number;
  /** Commands waiting; beyond it the oldest waiting one is dropped. Default 100. */
  readonly maxQueue?: number;
}

/**
 * An alert that left, or was given up: a mail taken by the server (`ok`), refused for good, or an alert command that
 * ended (`ok` when it exited 0). For the daemon's recent events (`ldir status`, the status page).
 */
export interface AlertNote {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly channel: 'mail' | 'command';
  readonly ok: boolean;
  /** One line: the mail's subject and recipients, or the command and how it ended. */
  readonly text: string;
  /** The virtual service of an alert command. */
  readonly virtual?: string;
  /** The real server of an alert command. */
  readonly real?: string;
}

/** Dependencies and settings of {@link createAlerter}. */
export interface AlerterOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** This director's host name: mail bodies (`ldirectord host:`), the default sender, the SMTP greeting. */
  readonly hostname: string;
  /** Makes mail transports; default nodemailer (SMTP or sendmail). */
  readonly transport?: MailTransportFactory;
  /** Runs alert commands; default a spawn without a shell, in its own process group. */
  readonly runCommand?: HookRunner;
  /** From address when `emailalertfrom` is not set; default `<login name>@<hostname>` as ldirectord. */
  readonly sender?: string;
  readonly mail?: MailLimits;
  readonly commands?: CommandLimits;
  /** Told of every mail sent or given up and every alert command ended; must not throw. */
  readonly onAlert?: (note: AlertNote) => void;
}

/** Mail counters, for metrics (all monotonic but `queued`). */
export interface MailCounters {
  /** Mails accepted by the transport. */
  readonly sent: number;
  /**
   * Mails given up: refused for good (5xx) or still unsent after `maxAgeMs`. A mail refused for good for some of its
   * recipients counts once here per refusal, and once in `sent` when others took it.
   */
  readonly failed: number;
  /** Mails waiting now (a gauge). */
  readonly queued: number;
  /** Mails dropped unsent: queue full, or still queued when the alerter closed. */
  readonly dropped: number;
  /** Send attempts that failed, for all recipients or some (4xx, no answer, a dropped connection), and will be retried. */
  readonly retries: number;
}

/** Event counters, for metrics. */
export interface EventCounters {
  /** Events put into a mail. */
  readonly mailed: number;
  /** Events not mailed because of `emailalertstatus`. */
  readonly filtered: number;
  /** Changes of a flapping real server folded into a summary. */
  readonly summarised: number;
}

/** Alert command counters, for metrics (monotonic but `running` and `queued`). */
export interface CommandCounters {
  readonly started: number;
  /** Exited non-zero, killed, or could not start. */
  readonly failed: number;
  readonly timedOut: number;
  readonly dropped: number;
  readonly running: number;
  readonly queued: number;
}

/** Everything the alerter counts. */
export interface AlertCounters {
  readonly mail: MailCounters;
  readonly events: EventCounters;
  readonly commands: CommandCounters;
}

/**
 * Turns health changes and engine events into throttled alert mails and alert commands. Every method returns at once:
 * sending and commands run in the background and never block the caller; failures are logged and counted.
 */
export interface Alerter {
  /**
   * Takes a configuration into use (start and every successful reload); reminders and flap state carry over.
   * Transitions that arrived for pairs of this configuration before it (the scheduler's sync runs first) are
   * handled now.
   */
  applyConfig(config: Config): void;
  /** The daemon's state, for `emailalertstatus` and the `Daemon-Status:` line. Initially `starting`. */
  setDaemonState(state: DaemonState): void;
  /** A health change of a (virtual, real) pair, from the check scheduler. */
  onTransition(transition: HealthTransition): void;
  /**
   * Takes over the health a previous daemon last saw (a restart): a first result equal to it is no change and raises
   * no alert; a different one is reported as a change from it. `unknown` entries are ignored.
   */
  seedHealth(
    pairs: Iterable<{
      readonly virtualId: string;
      readonly realKey: string;
      readonly health: 'up' | 'down' | 'unknown';
    }>,
  ): void;
  /** An engine event: fallback in/out becomes a mail line (when the virtual has a fallback server). */
  onEngineEvent(event: EngineEvent): void;
  /** Current counters. */
  counters(): AlertCounters;
  /**
   * Sends the pending digests now and retries waiting mails at once; resolves true when every queue is empty, false
   * when `timeoutMs` (default 10 000) passed first.
   */
  flush(timeoutMs?: number): Promise<boolean>;
  /**
   * Stops: timers cancelled, pending digests sent, then waits up to `timeoutMs` (default 10 000) for mails and
   * commands; what is still queued then is dropped (counted). Later events are ignored.
   */
  close(timeoutMs?: number): Promise<void>;
}
