// Entry point of the ldir native addon: registers the netlink, ICMP and syslog functions and the TCP probe engine.
#include "common.h"

// Exports the eight functions and the TcpProbeEngine class of the addon on the module object.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkOpen", Napi::Function::New(env, ldir::NetlinkOpen, "netlinkOpen"));
  exports.Set("netlinkTransact", Napi::Function::New(env, ldir::NetlinkTransact, "netlinkTransact"));
  exports.Set("netlinkClose", Napi::Function::New(env, ldir::NetlinkClose, "netlinkClose"));
  exports.Set("icmpOpen", Napi::Function::New(env, ldir::IcmpOpen, "icmpOpen"));
  exports.Set("icmpRawTransact", Napi::Function::New(env, ldir::IcmpRawTransact, "icmpRawTransact"));
  exports.Set("TcpProbeEngine", ldir::TcpProbeEngineClass(env));
  exports.Set("syslogOpen", Napi::Function::New(env, ldir::SyslogOpen, "syslogOpen"));
  exports.Set("syslogWrite", Napi::Function::New(env, ldir::SyslogWrite, "syslogWrite"));
  exports.Set("syslogClose", Napi::Function::New(env, ldir::SyslogClose, "syslogClose"));
  return exports;
}

NODE_API_MODULE(ldir_native, Init)
