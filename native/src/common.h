// Shared declarations of the ldir native addon: errno → JS Error conversion and the exported functions.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstring>
#include <string>

namespace ldir {

// Returns the errno name ("ENOBUFS") of a positive errno value; thread-safe (no static buffer).
inline std::string ErrnoName(int err) {
  char buf[64];
  uv_err_name_r(-err, buf, sizeof buf);
  return buf;
}

// Builds a JS Error whose `code` is the errno name and `errno` the positive number; JS thread only.
inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  std::string name = ErrnoName(err);
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + " failed: " + name + " (" + std::strerror(err) + ")");
  e.Set("code", Napi::String::New(env, name));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// Reads a finite timeout in milliseconds from a JS value, clamped to [0, 24h]; throws TypeError otherwise.
inline int TimeoutArg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "timeoutMs must be a number");
  double ms = v.As<Napi::Number>().DoubleValue();
  if (!(ms >= 0)) ms = 0;
  if (ms > 86400000.0) ms = 86400000.0;
  return static_cast<int>(ms);
}

Napi::Value NetlinkOpen(const Napi::CallbackInfo& info);
Napi::Value NetlinkTransact(const Napi::CallbackInfo& info);
Napi::Value NetlinkClose(const Napi::CallbackInfo& info);
Napi::Value IcmpOpen(const Napi::CallbackInfo& info);
Napi::Value IcmpRawTransact(const Napi::CallbackInfo& info);
Napi::Function TcpProbeEngineClass(Napi::Env env);
Napi::Value SyslogOpen(const Napi::CallbackInfo& info);
Napi::Value SyslogWrite(const Napi::CallbackInfo& info);
Napi::Value SyslogClose(const Napi::CallbackInfo& info);

}  // namespace ldir
