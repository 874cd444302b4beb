{
  "targets": [
    # The child after clone (native/child/): it shares Node's memory and
    # thread pointer, so it may call nothing outside its own objects. Built
    # freestanding (no libc calls invented from loops, no stack protector's
    # __stack_chk_fail) and hidden (calls between its objects never go
    # through the PLT and the dynamic linker's lazy resolver).
    {
      "target_name": "warren-child",
      "type": "static_library",
      "sources": [
        "native/child/run.c",
        "native/child/mounts.c",
        "native/child/paths.c",
        "native/child/ids.c",
        "native/child/fds.c",
        "native/child/net.c",
        "native/child/exec.c",
        "native/child/clone.c",
        "native/child/fileop.c",
        "native/child/inject.c"
      ],
      "defines": ["_GNU_SOURCE"],
      "cflags": [
        "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fPIC",
        "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns",
        "-fno-stack-protector", "-fvisibility=hidden"
      ],
      "cflags_c": ["-std=gnu11"]
    },
    # Fails the build when a child object refers to a symbol outside the
    # child or exports one (scripts/check-child-symbols.sh says which).
    {
      "target_name": "warren-child-check",
      "type": "none",
      "dependencies": ["warren-child"],
      "actions": [
        {
          "action_name": "check_child_symbols",
          "inputs": ["scripts/check-child-symbols.sh", "<(PRODUCT_DIR)/warren-child.a"],
          "outputs": ["<(INTERMEDIATE_DIR)/child-symbols.ok"],
          "action": [
            "sh", "scripts/check-child-symbols.sh",
            "<(PRODUCT_DIR)/warren-child.a", "<(INTERMEDIATE_DIR)/child-symbols.ok"
          ]
        }
      ]
    },
    {
      "target_name": "warren",
      "dependencies": ["warren-child", "warren-child-check", "warren-exec"],
      "sources": [
        "native/addon.cc",
        "native/abi.cc",
        "native/spawn.cc",
        "native/exec-helper.cc",
        "native/lock-mounts.cc",
        "native/wait.cc",
        "native/misc.cc",
        "native/read-files.cc",
        "native/bpf.cc",
        "native/netlink.cc",
        "native/files.cc",
        "native/files-as.cc",
        "native/xattr.cc",
        "native/devices/inject.cc",
        "native/devices/uevent.cc",
        "native/plan-prepare.c"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    # The static helper every container process execs through
    # (native/exec-helper/exec-helper.c): no libc, its own _start, and
    # -nostdlib, so any call outside it fails the link.
    {
      "target_name": "warren-exec",
      "type": "executable",
      "sources": ["native/exec-helper/exec-helper.c"],
      "defines": ["_GNU_SOURCE"],
      "cflags": [
        "-Wall", "-Wextra", "-Os", "-ffreestanding", "-fno-builtin", "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables", "-fno-pie", "-fvisibility=hidden"
      ],
      "cflags_c": ["-std=gnu11"],
      "ldflags": ["-nostdlib", "-static", "-no-pie", "-s", "-Wl,--build-id=none", "-Wl,-z,noexecstack"]
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
