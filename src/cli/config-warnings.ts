// What `stop`, `status` and `ping` say about the configuration file: they find the daemon by the configuration's
// name and never need the file, but a file that is missing or broken is worth a warning (the next start, reload or
// restart will refuse it).
import { formatDiagnostic } from '../config/diagnostics';
import type { LoadOptions } from '../config/load';
import type { LocatedConfig } from '../config/locate';
import type { CliIo } from './io';

/**
 * Reads the located configuration only to warn on stderr (`ldir: warning: ...`) when it is missing, unreadable or
 * has errors, one line per error as `ldir check` prints it. Names are not resolved (an offline resolver: no DNS
 * wait can delay a stop), so an unknown host name is not reported here; `ldir check` does. Never throws and never
 * changes what the caller does: the warning is all.
 */
export async function warnIfConfigBroken(
  located: LocatedConfig,
  given: string | undefined,
  io: CliIo,
  load: LoadOptions = {},
): Promise<void> {
  const warn = (text: string): void => io.stderr(`ldir: warning: ${text}\n`);
  if (located.path === undefined) {
    warn(
      `configuration file ${given ?? located.name} not found (tried ${located.tried.join(', ')}); the daemon is looked for by its name, ${located.name}`,
    );
    return;
  }
  try {
    const [{ loadConfigFile }, { offlineResolver }] = await Promise.all([
      import('../config/load'),
      import('../config/offline-resolver'),
    ]);
    const result = await loadConfigFile(located.path, { ...load, resolver: load.resolver ?? offlineResolver() });
    if (result.config) return;
    warn(
      `${located.path} has errors: a start, reload or restart would refuse it (a running daemon keeps the configuration it loaded)`,
    );
    for (const d of result.diagnostics) if (d.severity === 'error') warn(formatDiagnostic(d));
  } catch (err) {
    warn(`${located.path} cannot be read: ${(err as Error).message}`);
  }
}
