// Netlink, generic netlink and IPVS protocol numbers (include/uapi/linux/netlink.h, genetlink.h, ip_vs.h).

/** Netlink message types and flags (include/uapi/linux/netlink.h). */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;
/** nlmsghdr flags (include/uapi/linux/netlink.h). */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  /** In NLMSG_ERROR: the request payload was not echoed (NETLINK_CAP_ACK). */
  CAPPED: 0x100,
  /** In NLMSG_ERROR: extended-ack TLVs follow. */
  ACK_TLVS: 0x200,
} as const;
/** Extended ack attributes (include/uapi/linux/netlink.h, enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3 } as const;
/** Size of struct nlmsghdr. */
export const NLMSG_HDRLEN = 16;
/** Size of struct genlmsghdr. */
export const GENL_HDRLEN = 4;
/** Size of struct nlattr. */
export const NLA_HDRLEN = 4;
/** nlattr type flag for nested attributes. */
export const NLA_F_NESTED = 0x8000;
/** Mask of the attribute type without flags. */
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | 0x4000) & 0xffff;

/** The generic netlink controller (include/uapi/linux/genetlink.h). */
export const GENL_ID_CTRL = 16;
/** Controller commands. */
export const CTRL_CMD = { GETFAMILY: 3 } as const;
/** Controller attributes. */
export const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2 } as const;

/** IPVS generic netlink family name and version (ip_vs.h IPVS_GENL_NAME / IPVS_GENL_VERSION). */
export const IPVS_GENL_NAME = 'IPVS';
/** IPVS generic netlink version. */
export const IPVS_GENL_VERSION = 1;

/** IPVS commands (ip_vs.h enum IPVS_CMD_*). */
export const IPVS_CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

/** Top-level attributes (ip_vs.h IPVS_CMD_ATTR_*). */
export const IPVS_CMD_ATTR = {
  SERVICE: 1,
  DEST: 2,
  DAEMON: 3,
  TIMEOUT_TCP: 4,
  TIMEOUT_TCP_FIN: 5,
  TIMEOUT_UDP: 6,
} as const;

/** Service attributes (ip_vs.h IPVS_SVC_ATTR_*). */
export const IPVS_SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  FWMARK: 5,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
  STATS: 10,
  PE_NAME: 11,
  STATS64: 12,
} as const;

/** Destination attributes (ip_vs.h IPVS_DEST_ATTR_*). */
export const IPVS_DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ACTIVE_CONNS: 7,
  INACT_CONNS: 8,
  PERSIST_CONNS: 9,
  STATS: 10,
  ADDR_FAMILY: 11,
  STATS64: 12,
  TUN_TYPE: 13,
  TUN_PORT: 14,
  TUN_FLAGS: 15,
} as const;

/** Sync daemon attributes (ip_vs.h IPVS_DAEMON_ATTR_*). */
export const IPVS_DAEMON_ATTR = {
  STATE: 1,
  MCAST_IFN: 2,
  SYNC_ID: 3,
  SYNC_MAXLEN: 4,
  MCAST_GROUP: 5,
  MCAST_GROUP6: 6,
  MCAST_PORT: 7,
  MCAST_TTL: 8,
} as const;

/** Stats attributes (ip_vs.h IPVS_STATS_ATTR_*). */
export const IPVS_STATS_ATTR = {
  CONNS: 1,
  INPKTS: 2,
  OUTPKTS: 3,
  INBYTES: 4,
  OUTBYTES: 5,
  CPS: 6,
  INPPS: 7,
  OUTPPS: 8,
  INBPS: 9,
  OUTBPS: 10,
  PAD: 11,
} as const;

/** GET_INFO reply attributes (ip_vs.h IPVS_INFO_ATTR_*). */
export const IPVS_INFO_ATTR = { VERSION: 1, CONN_TAB_SIZE: 2 } as const;

/** Service flags (ip_vs.h IP_VS_SVC_F_*). HASHED is kernel-internal and masked out of the model. */
export const IP_VS_SVC_F = {
  PERSISTENT: 0x1,
  HASHED: 0x2,
  ONEPACKET: 0x4,
  SCHED1: 0x8,
  SCHED2: 0x10,
  SCHED3: 0x20,
} as const;

/** Forwarding methods (ip_vs.h IP_VS_CONN_F_MASQ...DROUTE, masked with IP_VS_CONN_F_FWD_MASK 0x7). */
export const IP_VS_CONN_F = { MASQ: 0, LOCALNODE: 1, TUNNEL: 2, DROUTE: 3, FWD_MASK: 0x7 } as const;

/** Tunnel types (ip_vs.h IP_VS_CONN_F_TUNNEL_TYPE_*). */
export const IP_VS_TUNNEL_TYPE = { IPIP: 0, GUE: 1, GRE: 2 } as const;

/** Tunnel encapsulation flags (ip_vs.h IP_VS_TUNNEL_ENCAP_FLAG_*). */
export const IP_VS_TUNNEL_ENCAP_FLAG = { NOCSUM: 0, CSUM: 1, REMCSUM: 2 } as const;

/** Sync daemon states (ip_vs.h IP_VS_STATE_*). */
export const IP_VS_STATE = { MASTER: 1, BACKUP: 2 } as const;

/** Address families (linux/socket.h). */
export const AF = { INET: 2, INET6: 10 } as const;

/** IP protocol numbers (linux/in.h). */
export const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;
