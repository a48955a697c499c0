// The table of checkers by negotiate service and check type.
import { connectCheck } from './connect';
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
import type { CheckerTable } from './types';

/** A fresh table of every checker ldir has: every check type and every ldirectord negotiate service. */
export function defaultCheckers(): CheckerTable {
  const http = createHttpChecker();
  return {
    // check types
    connect: connectCheck,
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
