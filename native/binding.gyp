# node-gyp build of the ldir native addon: AF_NETLINK transport, ICMP sockets, the TCP probe engine and syslog (see src/).
{
  "targets": [
    {
      "target_name": "ldir_native",
      "sources": ["src/addon.cc", "src/netlink.cc", "src/icmp.cc", "src/tcp_probe.cc", "src/http_answer.cc", "src/syslog.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
