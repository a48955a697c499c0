// Which negotiate services this build cannot check, and why (asked at configuration time, never a silent pass).
import { oracleSupport } from './oracle';

/** The reason `service` cannot be checked by this build, or undefined when it can. */
export function unsupportedService(service: string): string | undefined {
  if (service !== 'oracle') return undefined;
  const s = oracleSupport();
  return s.supported ? undefined : s.reason;
}
