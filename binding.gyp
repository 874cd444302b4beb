{
  "targets": [
    {
      "target_name": "warren",
      "sources": [
        "native/addon.cc",
        "native/spawn.cc",
        "native/wait.cc",
        "native/misc.cc",
        "native/bpf.cc",
        "native/netlink.cc",
        "native/files.cc",
        "native/xattr.cc",
        "native/child/run.c",
        "native/child/mounts.c",
        "native/child/ids.c",
        "native/child/fds.c",
        "native/child/net.c",
        "native/child/exec.c",
        "native/child/clone.c"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "warren-monitor",
      "type": "executable",
      "sources": ["native/monitor/monitor.c"],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
