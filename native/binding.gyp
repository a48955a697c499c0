# node-gyp build of the ldir native addon: AF_NETLINK transport, ICMP sockets and the TCP probe engine (see src/).
{
  "targets": [
    {
      "target_name": "ldir_native",
      "sources": ["src/addon.cc", "src/netlink.cc", "src/icmp.cc", "src/tcp_probe.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
