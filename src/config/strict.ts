// Strict validation: every option the director would drop, ignore or change, and every value the kernel refuses.
import type { FallbackServer, VirtualService } from '../model';
import type { DiagnosticSink } from './diagnostics';
import { ANNOUNCE_RULES } from './strict-announce';
import { CHECK_RULES } from './strict-checks';
import { PERSISTENCE_RULES } from './strict-persistence';
import { checkGlobalFallbacks, SERVER_RULES } from './strict-servers';
import { SCTP_RULES } from './strict-sctp';
import { SERVICE_RULES } from './strict-service';
import { TUNNEL_RULES } from './strict-tunnels';
import type { StrictRule, StrictSubject } from './strict-subject';

/**
 * Every rule, by name: the IPVS service (strict-service.ts), its persistence engine (strict-persistence.ts), its real
 * and fallback servers (strict-servers.ts), their tunnels (strict-tunnels.ts), its check (strict-checks.ts) and the
 * checks an SCTP service can run (strict-sctp.ts), and what an announced one needs behind ECMP (strict-announce.ts). Errors where the file says something the director would not do (a
 * flag, netmask or ops dropped; a weight, threshold, timeout, netmask or address the kernel refuses); warnings where
 * an option is only unused or a scheduler unknown.
 */
export const STRICT_RULES: Readonly<Record<string, StrictRule>> = {
  ...SERVICE_RULES,
  ...PERSISTENCE_RULES,
  ...SERVER_RULES,
  ...TUNNEL_RULES,
  ...CHECK_RULES,
  ...SCTP_RULES,
  ...ANNOUNCE_RULES,
};

/** Runs every strict rule on one virtual service (as written and as built), recording into `sink`. */
export function checkVirtualStrictly(subject: StrictSubject, sink: DiagnosticSink): void {
  for (const rule of Object.values(STRICT_RULES)) rule(subject, sink);
}

/** Runs the rules about the global fallbacks once, given every virtual service built. */
export function checkGlobalsStrictly(
  globalFallbacks: readonly (FallbackServer | undefined)[],
  virtuals: readonly VirtualService[],
  sink: DiagnosticSink,
): void {
  checkGlobalFallbacks(globalFallbacks, virtuals, sink);
}
