// The daemon's state file of runtime weights and hand drains: restored at start, written when the settings change.
import { renameSync } from 'node:fs';
import type { Clock } from '../clock';
import { settingsKey, type OperatorSetting } from '../engine/operator-settings';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { DrainResult, WeightResult } from './protocol';
import { readStateFile, writeStateFile } from './state-file';

/** Options of {@link SettingsFile}. */
export interface SettingsFileOptions {
  /** The state file; undefined for a trial run on the memory backend without a state directory of its own. */
  readonly path: string | undefined;
  /** The configuration file, recorded in the state file. */
  readonly configFile: string;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * The state file of runtime weights and hand drains (`<configName>.state`): what it holds, and whether the last
 * write failed. A file that cannot be used at start is kept as `<file>.bad` at the first write.
 */
export class SettingsFile {
  /** {@link settingsKey} of what the state file holds; undefined when not known (it is then written at once). */
  private saved: string | undefined;
  /** Why the last write of the state file failed; undefined once it holds the settings in force. */
  private saveError: string | undefined;
  /** The state file found at start could not be used: it is kept beside the new one at the first write. */
  private unreadable = false;

  constructor(private readonly options: SettingsFileOptions) {}

  /**
   * Reads the state file and, with `apply` (a start without a hand-over), gives its runtime weights and hand drains
   * to `importSettings` (the engine, before its first pass; those of reals the configuration lacks are dropped there,
   * and the file written again). A missing file is a director with nothing set by hand; a file that cannot be used
   * is logged and otherwise ignored: the start goes on, and the file stays as it is until the next change of a
   * weight or drain, which keeps it as `<file>.bad`. Without `apply` (the predecessor handed its settings over) it
   * only notes what the file holds, so that it is written once if it differs.
   */
  restore(apply: boolean, importSettings: (settings: readonly OperatorSetting[]) => void): void {
    const path = this.options.path;
    if (path === undefined) {
      this.saved = settingsKey([]);
      return;
    }
    const read = readStateFile(path);
    switch (read.state) {
      case 'absent':
        this.saved = settingsKey([]);
        return;
      case 'unreadable':
        this.unreadable = true;
        if (!apply) return; // the settings handed over are written at once, the unusable file kept as .bad
        this.saved = settingsKey([]);
        this.options.log.error(
          { path, reason: read.reason },
          `state file ${path} cannot be used (${read.reason}): starting without runtime weights and hand drains; ` +
            'the file is left as it is until the next weight, drain or undrain (then kept as .bad)',
        );
        return;
      case 'read': {
        this.saved = settingsKey(read.settings);
        if (!apply) return;
        importSettings(read.settings);
        const weights = read.settings.filter((s) => s.weight !== undefined).length;
        const drains = read.settings.filter((s) => s.drained).length;
        if (read.settings.length > 0)
          this.options.log.info({ path, weights, drains }, `runtime weights and hand drains restored from ${path}`);
      }
    }
  }

  /**
   * Writes the state file when `settings` differ from what it holds (atomically: a crash leaves the old file or the
   * new one). A failure is logged and remembered: the settings stay in force, the answers to `weight`, `drain` and
   * `undrain` say they are not saved, and the next change tries again.
   */
  save(settings: readonly OperatorSetting[]): void {
    const path = this.options.path;
    const key = settingsKey(settings);
    if (key === this.saved || path === undefined) return;
    const log = this.options.log;
    try {
      if (this.unreadable) {
        this.unreadable = false;
        try {
          renameSync(path, `${path}.bad`);
          log.warn({ path: `${path}.bad` }, `the state file that could not be used is kept as ${path}.bad`);
        } catch {
          // gone or not renameable: nothing to keep
        }
      }
      writeStateFile(path, settings, { configFile: this.options.configFile, savedAt: this.options.clock.now() });
      this.saved = key;
      this.saveError = undefined;
      log.debug({ path, reals: settings.length }, 'state file written');
    } catch (err) {
      this.saveError = errorMessage(err);
      log.error(
        { path, err: this.saveError },
        `cannot write the state file ${path}: runtime weights and hand drains are in force but would be lost at a stop and start`,
      );
    }
  }

  /** `result`, with why the state file does not hold the settings in force when it does not. */
  withSaveState<T extends DrainResult | WeightResult>(result: T): T {
    return this.saveError === undefined
      ? result
      : { ...result, saveError: `${this.options.path ?? '-'}: ${this.saveError}` };
  }
}
