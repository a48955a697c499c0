// Strict validation of a virtual's check: directives the chosen check never reads are warnings (leftovers, harmless).
import { CHECK_SETTINGS, checkLabel, readersOf, settingsReadBy } from './check-usage';
import { lineOf, type StrictRule } from './strict-subject';

/**
 * A check directive written in the section that the chosen check does not read (`virtualhost` with a connect
 * check, `checkport` with ping, ...). A warning: the file means nothing else, and ldirectord's own sample files carry
 * such leftovers.
 */
const unusedCheckSettings: StrictRule = (subject, sink) => {
  const { draft, virtual } = subject;
  const { type, service } = virtual.check;
  const read = settingsReadBy(type, service, virtual.protocol);
  const label = checkLabel(type, service, virtual.protocol);
  for (const setting of CHECK_SETTINGS) {
    if (!draft.written.has(setting) || read.has(setting)) continue;
    sink.warn(
      'unused-setting',
      lineOf(subject, setting),
      `${setting} is not used by ${label}: only ${readersOf(setting)} read it`,
      setting,
    );
  }
};

/** A per-real `"request","receive"` pair that the chosen check does not read. */
const unusedRealRequests: StrictRule = ({ draft, virtual }, sink) => {
  const { type, service } = virtual.check;
  const read = settingsReadBy(type, service, virtual.protocol);
  if (read.has('request') || read.has('receive')) return;
  for (const { line, pos } of draft.reals) {
    if (line.request === undefined) continue;
    sink.warn(
      'unused-setting',
      pos,
      `the real server's "request","receive" pair is not used by ${checkLabel(type, service, virtual.protocol)}: only ${readersOf('request')} read it`,
      virtual.family === 'inet' ? 'real' : 'real6',
    );
  }
};

/** `load`: accepted for ldirectord, which stores it and never reads it; ldir does not read it either. */
const unusedLoad: StrictRule = (subject, sink) => {
  if (subject.draft.load === undefined) return;
  sink.warn(
    'unused-setting',
    lineOf(subject, 'load'),
    'load is accepted for compatibility and never used (ldirectord never reads it either)',
    'load',
  );
};

/** The rules about a virtual's check, by name, in the order they run. */
export const CHECK_RULES: Readonly<Record<string, StrictRule>> = {
  unusedCheckSettings,
  unusedRealRequests,
  unusedLoad,
};
