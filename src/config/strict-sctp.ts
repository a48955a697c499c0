// Rules for SCTP virtual services (`protocol=sctp`, an ldir extension): which checks can run on them.
import type { CheckType } from '../model';
import { lineOf, type StrictRule } from './strict-subject';

/** The check types an SCTP virtual service can run: every type but those that negotiate (TCP or UDP protocols). */
export const SCTP_CHECK_TYPES: readonly CheckType[] = ['connect', 'ping', 'external', 'external-perl', 'on', 'off'];

const CHOICES =
  'use checktype=connect (the default for SCTP: it opens an SCTP association), ping, external, external-perl, on or off';

/**
 * `checktype=negotiate` or `checktype=N` (connects, then a negotiate check): every negotiate service (http, smtp,
 * dns, ...) speaks over TCP or UDP, so none can check an SCTP real server. An error: the file asks for a check that
 * the real server cannot answer (every real would be down).
 */
const sctpCheckType: StrictRule = (subject, sink) => {
  const { virtual } = subject;
  if (virtual.protocol !== 'sctp' || SCTP_CHECK_TYPES.includes(virtual.check.type)) return;
  const written =
    virtual.check.type === 'combined'
      ? `checktype=${virtual.check.connectsBetweenNegotiates}`
      : `checktype=${virtual.check.type}`;
  sink.error(
    'invalid-value',
    lineOf(subject, 'checktype'),
    `${written} cannot check an SCTP virtual service (protocol=sctp): negotiate checks speak TCP or UDP protocols; ${CHOICES}`,
    'checktype',
  );
};

/** `service=` on an SCTP virtual service: it names a negotiate check, which cannot run there (see above). */
const sctpService: StrictRule = (subject, sink) => {
  const { virtual, draft } = subject;
  if (virtual.protocol !== 'sctp' || !draft.written.has('service') || !SCTP_CHECK_TYPES.includes(virtual.check.type))
    return;
  sink.error(
    'invalid-value',
    lineOf(subject, 'service'),
    `service=${virtual.check.service} names a negotiate check, which cannot run on an SCTP virtual service (protocol=sctp): ${CHOICES}`,
    'service',
  );
};

/** The rules about SCTP virtual services, by name, in the order they run. */
export const SCTP_RULES: Readonly<Record<string, StrictRule>> = {
  sctpCheckType,
  sctpService,
};
