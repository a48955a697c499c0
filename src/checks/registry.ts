// The table of checkers by negotiate service and check type.
import { createConnectChecker } from './connect';
import { dnsCheck } from './dns';
import { externalCheck } from './external';
import { createHttpChecker } from './http';
import { nntpCheck } from './nntp';
import { noneCheck } from './none';
import { pingCheck } from './ping';
import { simpletcpCheck } from './simpletcp';
import { sipCheck } from './sip';
import { ftpCheck } from './ftp';
import { imapCheck } from './imap';
import { ldapCheck } from './ldap';
import { oracleCheck } from './oracle';
import { popCheck } from './pop';
import { radiusCheck } from './radius';
import { smtpCheck } from './smtp';
import { mysqlCheck, pgsqlCheck } from './sql';
import type { TcpProber } from './tcp-prober';
import type { CheckerTable } from './types';

/** Options of {@link defaultCheckers}. */
export interface CheckersOptions {
  /** Native TCP prober (see `openTcpProber`): connect and plain http checks then run off the JS thread. */
  readonly tcpProber?: TcpProber;
}

/** A fresh table of every checker ldir has: every check type and every ldirectord negotiate service. */
export function defaultCheckers(options: CheckersOptions = {}): CheckerTable {
  const prober = options.tcpProber;
  const http = createHttpChecker(prober ? { prober } : {});
  return {
    // check types
    connect: createConnectChecker(prober),
    ping: pingCheck,
    external: externalCheck,
    // negotiate services
    http,
    https: http,
    http_proxy: http,
    simpletcp: simpletcpCheck,
    nntp: nntpCheck,
    sip: sipCheck,
    dns: dnsCheck,
    none: noneCheck,
    smtp: smtpCheck,
    submission: smtpCheck,
    pop: popCheck,
    pops: popCheck,
    imap: imapCheck,
    imaps: imapCheck,
    ftp: ftpCheck,
    ldap: ldapCheck,
    ldaps: ldapCheck,
    mysql: mysqlCheck,
    pgsql: pgsqlCheck,
    oracle: oracleCheck,
    radius: radiusCheck,
  };
}
