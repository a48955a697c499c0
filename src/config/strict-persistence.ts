// Strict validation of `persistenceengine`: an engine the kernel has, with persistence, on a service it can read.
import { KERNEL_PERSISTENCE_ENGINES, PERSISTENCE_ENGINES } from '../ipvs/persistence-engines';
import { lineOf, type StrictRule } from './strict-subject';

/**
 * `persistenceengine` keys the persistence templates; without `persistent` there are none (the kernel keeps the
 * engine and never uses it, and ipvsadm does not even list it).
 */
const engineNeedsPersistent: StrictRule = (subject, sink) => {
  const { draft } = subject;
  if (draft.persistenceengine === undefined || draft.persistent !== undefined) return;
  sink.error(
    'ineffective-setting',
    lineOf(subject, 'persistenceengine'),
    `persistenceengine=${draft.persistenceengine} without persistent: the engine keys the persistence templates, and without persistence there are none; add persistent=SECONDS or remove persistenceengine`,
    'persistenceengine',
  );
};

/**
 * A name mainline Linux does not have is a warning, as for schedulers: an out-of-tree module `ip_vs_pe_NAME` may
 * provide it; without it the kernel refuses the service (ENOENT).
 */
const knownEngine: StrictRule = (subject, sink) => {
  const name = subject.draft.persistenceengine;
  if (name === undefined || PERSISTENCE_ENGINES.has(name)) return;
  sink.warn(
    'unknown-persistence-engine',
    lineOf(subject, 'persistenceengine'),
    `persistence engine "${name}" is not one of Linux's (${KERNEL_PERSISTENCE_ENGINES.join(', ')}): unless a module ip_vs_pe_${name} is installed, the kernel refuses the service`,
    'persistenceengine',
  );
};

/**
 * The engine reads one protocol (sip: UDP). The kernel drops every other packet that reaches the service (the
 * engine's `fill_param` fails, `ip_vs_sched_persist` answers NF_DROP), so on a TCP service it would drop every new
 * connection: an error. A firewall mark may cover UDP and other traffic alike: a warning.
 */
const engineProtocol: StrictRule = (subject, sink) => {
  const { virtual } = subject;
  const spec = virtual.persistenceEngine === undefined ? undefined : PERSISTENCE_ENGINES.get(virtual.persistenceEngine);
  if (!spec || virtual.protocol === spec.protocol) return;
  const want = spec.protocol.toUpperCase();
  const where = lineOf(subject, 'persistenceengine');
  if (virtual.protocol === 'fwm') {
    sink.warn(
      'ineffective-setting',
      where,
      `persistenceengine=${spec.name} on firewall mark ${virtual.fwmark ?? 0}: the engine reads ${want} packets only; the kernel drops every other packet with this mark (and ${want} packets it cannot read)`,
      'persistenceengine',
    );
    return;
  }
  sink.error(
    'invalid-value',
    where,
    `persistenceengine=${spec.name} on a ${virtual.protocol.toUpperCase()} service: the engine reads ${want} packets only (${spec.summary}) and the kernel would drop every new connection to this service; use protocol=${spec.protocol}`,
    'persistenceengine',
  );
};

/** The rules about a virtual's persistence engine, by name, in the order they run. */
export const PERSISTENCE_RULES: Readonly<Record<string, StrictRule>> = {
  engineNeedsPersistent,
  knownEngine,
  engineProtocol,
};
