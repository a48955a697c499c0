// A reload of the configuration (SIGHUP, autoreload, `ldir reload`) and its preview (`ldir reload --dry-run`): a
// configuration with errors, or one the kernel refuses, changes nothing; the old one keeps running.
import type { Clock } from '../clock';
import type { ConfigSourceFile, ConfigSources } from '../config/config-sources';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import type { ConfigLoadWorker } from '../config/load-off-thread';
import type { EnginePreview, SyncReport } from '../engine/engine-types';
import type { CommandRunner } from '../engine/fallback-command';
import { ErrorCodes, errorMessage, isLdirError, LdirError, type ErrorCode } from '../errors';
import type { Logger } from '../log';
import type { Config, DaemonState } from '../model';
import type { SecretRedactor } from '../secrets';
import type { IpvsTimeoutResult } from '../system/ipvs-timeouts';
import type { SysctlResult } from '../system/sysctl';
import { loadOrThrow } from './config-load';
import type { ReloadOutcome } from './control-server';
import type { DaemonOptions } from './daemon-options';
import { reloadRuns, type InstanceRun } from './execute-instances';
import { toWireDiagnostic, type ReloadPreviewResult } from './protocol';
import { previewSteps } from './reload-preview';

/** A refused reload logs at most this many of its errors (the control answer carries them all). */
export const LOGGED_RELOAD_ERRORS = 100;

/** The last reload's time (epoch milliseconds), outcome, and why a refused one was refused. */
export interface LastReload {
  readonly at: number;
  readonly ok: boolean;
  readonly message?: string;
}

/** What a {@link Reloader} acts on: the daemon's configuration in force and the steps of putting one in force. */
export interface ReloadHost {
  readonly options: DaemonOptions;
  readonly clock: Clock;
  readonly log: Logger;
  readonly redactor: SecretRedactor;
  readonly loader: Pick<ConfigLoadWorker, 'load'>;
  /** Why a reload cannot run now (the daemon stops, or hands over to a successor); undefined when it can. */
  refusal(): { readonly message: string; readonly code: ErrorCode } | undefined;
  current(): Config;
  /** The files a loaded (or refused) configuration was read from are watched from now on. */
  watch(sources: ConfigSources | undefined): void;
  /** Sysctls and IPVS connection timeouts of `config` (before its table). */
  applyKernelSettings(config: Config): Promise<void>;
  /** The IPVS connection timeouts of `config` alone (a roll-back). */
  applyTimeouts(config: Config): Promise<void>;
  /** Puts `config` in force: table, checks, announce; the report of its kernel pass. */
  bring(config: Config): Promise<SyncReport>;
  /** The files of the configuration now in force. */
  inForce(files: readonly ConfigSourceFile[]): void;
  runInstances(runs: readonly InstanceRun[]): Promise<void>;
  setState(state: DaemonState): void;
  /** What the sysctls, the IPVS connection timeouts and the engine would do for `config`, reading only. */
  preview(
    config: Config,
  ): Promise<{ sysctls: SysctlResult[]; ipvsTimeouts: IpvsTimeoutResult[]; engine: EnginePreview }>;
}

/** Runs reloads and previews for a daemon (one at a time: the daemon's reload queue calls {@link run}). */
export class Reloader {
  /** The last reload, for status; null before the first. */
  last: LastReload | null = null;

  constructor(private readonly host: ReloadHost) {}

  /**
   * Re-reads the configuration. A configuration with errors changes nothing (the old one keeps running) and the
   * outcome carries its diagnostics; a good one is applied as a difference (unchanged checks keep their state).
   */
  async run(): Promise<ReloadOutcome> {
    const h = this.host;
    const file = h.options.configPath;
    const refusal = h.refusal();
    if (refusal) return { applied: false, file, message: refusal.message, diagnostics: [], code: refusal.code };
    h.setState('reloading');
    let loaded;
    try {
      loaded = await loadOrThrow(file, h.options, h.redactor, h.loader);
    } catch (err) {
      return this.refused(err);
    }
    h.watch(loaded.sources);
    for (const d of loaded.diagnostics) h.log.warn(formatDiagnostic(d));
    const previous = h.current();
    await h.applyKernelSettings(loaded.config);
    const report = await h.bring(loaded.config);
    if (report.newlyRefused !== undefined) return this.rollBack(previous, report.newlyRefused, loaded.diagnostics);
    h.inForce(loaded.sources.files);
    await h.runInstances(reloadRuns(previous.globals.execute, loaded.config.globals.execute));
    this.last = { at: h.clock.now(), ok: true };
    h.options.onReload?.(true, this.last.at);
    h.log.info({ file }, 'configuration reloaded');
    h.setState('running');
    return { applied: true, file, diagnostics: loaded.diagnostics };
  }

  /**
   * What {@link run} would do now, in the order it would do it, doing none of it (`ldir reload --dry-run`): the
   * file is loaded as a reload loads it; the sysctls, drains, kernel operations, fallback commands, sync daemons,
   * first checks and `execute=` runs are computed by the functions a reload uses, from the daemon's state and fresh
   * listings of the kernel. Nothing changes: no kernel or sysctl write, no configuration swap, no event or alert, no
   * command run, and the file is not marked as seen (autoreload still loads it). A configuration with errors throws
   * `LDIR_ERR_CONFIG_INVALID` with its diagnostics, as a refused reload answers.
   */
  async preview(): Promise<ReloadPreviewResult> {
    const h = this.host;
    const file = h.options.configPath;
    const current = h.current();
    let loaded;
    try {
      loaded = await loadOrThrow(file, h.options, h.redactor, h.loader);
    } catch (err) {
      const diagnostics =
        (isLdirError(err) ? (err.details['diagnostics'] as Diagnostic[] | undefined) : undefined) ?? [];
      throw new LdirError(ErrorCodes.CONFIG_INVALID, errorMessage(err), { cause: err, details: { diagnostics } });
    }
    const { config, diagnostics } = loaded;
    const steps = previewSteps({
      ...(await h.preview(config)),
      execute: reloadRuns(current.globals.execute, config.globals.execute),
    });
    h.log.info({ file, steps: steps.length }, 'reload preview: nothing was changed');
    return { file, diagnostics: diagnostics.map(toWireDiagnostic), steps };
  }

  /** A configuration that did not load: logged (its first errors), recorded, and answered with its diagnostics. */
  private refused(err: unknown): ReloadOutcome {
    const h = this.host;
    const file = h.options.configPath;
    // The files the refused configuration was read from are watched: fixing the one with the error reloads again.
    h.watch(isLdirError(err) ? (err.details['sources'] as ConfigSources | undefined) : undefined);
    const diagnostics = (isLdirError(err) ? (err.details['diagnostics'] as Diagnostic[] | undefined) : undefined) ?? [];
    const message = errorMessage(err);
    this.last = { at: h.clock.now(), ok: false, message };
    // The events name the first error (`FILE:LINE: ...`), which says more than the count in `message`.
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const why = errors[0]
      ? `${formatDiagnostic(errors[0])}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`
      : message;
    h.options.onReload?.(false, this.last.at, why);
    // The first errors only: a file of 40,000 bad lines made one log record of megabytes (`ldir check` lists all).
    const logged = errors.slice(0, LOGGED_RELOAD_ERRORS).map(formatDiagnostic);
    if (errors.length > logged.length)
      logged.push(`... and ${errors.length - logged.length} more (ldir check ${file} lists them all)`);
    h.log.error(
      { file, errors: logged },
      'reload refused: the configuration has errors; the running configuration stays in force',
    );
    h.setState('running');
    return { applied: false, file, message, diagnostics };
  }

  /**
   * Puts `previous` back after the kernel refused operations a reload brought (a value `ldir check` cannot know the
   * kernel refuses): the table, checks and timeouts of the previous configuration are in force again, and the reload
   * is answered `LDIR_ERR_RELOAD_REFUSED_BY_KERNEL` with the kernel's reasons (`ldir reload` exits 2). Operations the
   * kernel already refused before the reload (retried every pass) do not count: they would refuse every reload.
   */
  private async rollBack(
    previous: Config,
    refused: readonly string[],
    diagnostics: readonly Diagnostic[],
  ): Promise<ReloadOutcome> {
    const h = this.host;
    const file = h.options.configPath;
    const reasons = refused.join('; ');
    h.log.error({ file, refused }, `reload refused by the kernel (${reasons}): the previous configuration is put back`);
    await h.applyTimeouts(previous);
    const back = await h.bring(previous);
    if (!back.ok)
      h.log.error(
        { error: back.error, failed: back.failed },
        'the previous configuration did not go back in whole; it is retried on the next pass',
      );
    const message = `the kernel refused what the reload brought (${reasons}); the previous configuration is in force again`;
    this.last = { at: h.clock.now(), ok: false, message };
    h.options.onReload?.(false, this.last.at, message);
    h.setState('running');
    return { applied: false, file, message, diagnostics, code: ErrorCodes.RELOAD_REFUSED_BY_KERNEL };
  }
}

/**
 * A change of the configuration's files on disk: a reload with `autoreload=yes` (else logged only), and the
 * `callback=` command with the configuration file's path, whose failure is logged.
 */
export function configFileChanged(
  config: Config,
  configPath: string,
  log: Logger,
  reload: () => void,
  runCommand: CommandRunner,
): void {
  const g = config.globals;
  log.info({ file: configPath }, 'configuration file has changed on disk');
  if (g.autoreload) reload();
  else log.info('autoreload is off: the new configuration is not loaded');
  if (g.callback) {
    const argv = [...g.callback.trim().split(/\s+/), configPath];
    runCommand(argv).then(
      (r) => {
        if (r.exitCode !== 0) log.warn({ argv, exitCode: r.exitCode }, 'callback failed');
      },
      (err: unknown) => log.warn({ argv, err: String(err) }, 'callback could not run'),
    );
  }
}
