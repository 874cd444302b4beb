/**
 * Help texts of the `warren` CLI.
 * @module
 */

const LIMIT_FLAGS = `Limits (cgroup v2; SIZE is like 256MiB, 1GB, 64M, 50% of the host's memory, or max):
  --memory SIZE            hard memory limit (memory.max)
  --memory-high SIZE       memory throttling point (memory.high)
  --memory-swap SIZE       swap allowed on top (memory.swap.max)
  --cpus N                 CPU time as a number of CPUs, e.g. 0.5 (cpu.max)
  --cpu-weight N           relative CPU share, 1-10000, default 100 (cpu.weight)
  --cpuset-cpus LIST       CPUs it may run on, e.g. 0-1,3 (cpuset.cpus)
  --pids N                 most processes and threads (pids.max)
  --io-weight N            relative I/O share, 1-10000 (io.weight)
  --best-effort            skip limits this host's cgroup v2 cannot apply, with a warning
                           (default: fail with CgroupControllerUnavailable)
  --device RULE            allow a device, "TYPE MAJOR:MINOR ACCESS" like "c 10:200 rwm"
                           (repeatable; needs --no-userns)`;

const NIC_SPEC = `SPEC is one of:
  bridged[,name=eth0][,bridge=BR][,ipv4=ADDR][,subnet=CIDR][,subnet6=CIDR][,gateway=IP][,mac=MAC][,mtu=N]
      a veth on warren's managed bridge (addresses handed out, outbound NAT),
      or on the host's bridge BR
  macvlan,parent=IF[,name=eth0][,ipv4=CIDR][,gateway=IP][,mac=MAC][,mtu=N]
      a macvlan (bridge mode) on the host interface IF
  physical,parent=IF[,name=IF][,ipv4=CIDR][,gateway=IP][,mtu=N]
      the host interface IF itself, moved into the container while it runs
  routed,ipv4=ADDR[,ipv6=ADDR][,parent=IF][,name=eth0][,gateway=IP][,gateway6=IP][,mac=MAC][,mtu=N]
      a veth on no bridge: the host routes ADDR (/32, /128) to it, and with
      parent=IF answers ARP/NDP for it on IF`;

const NETWORK_FLAGS = `Network (default: a network of its own with only lo):
  --net bridged            one NIC eth0 on warren's managed bridge (same as --nic bridged)
  --nic SPEC               add a network interface (repeatable; see SPEC below)
  -p, --publish [HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp]
                           forward a host port to the container's first bridged NIC
                           (repeatable; without a bridged NIC, one is added: eth0, or
                           the first free ethN)
  --dns IP                 nameserver for /etc/resolv.conf (repeatable; default: the host's)

${NIC_SPEC}`;

const CONFIG_FLAGS = `Container options:
  --rootfs DIR             root filesystem directory (default: the host's /usr, read-only, with a private /etc, /var, ...)
  --image REF              root filesystem from an imported image (tag or id; see warren image);
                           the container's changes go to an overlay of its own (not with --rootfs)
  --ro                     mount --rootfs read-only
  --overlay                --rootfs read-only with a throw-away tmpfs overlay on top
                           (idmapped lower layer unless --no-userns)
  -e, --env KEY=VALUE      set an environment variable (repeatable)
  --cwd DIR                working directory (default /)
  -u, --user UID[:GID]     user of the init (default 0:0)
  --hostname NAME          hostname (default: the container's name)
  --no-userns              no user namespace (the container's root is the host's root)
  --share-net              share the host's network instead of a private one
  --proc MODE              /proc/sys: mixed (default; read-only but /proc/sys/net, the
                           container's own network), ro, or rw (needs a user namespace)
  --sys MODE               /sys: mixed (default; read-only but /sys/devices/virtual/net),
                           ro, or rw (needs a user namespace)
  --sysctl KEY=VALUE       set a sysctl of the container's own namespaces before the init
                           runs (repeatable): net.*, kernel.shm*/msg*/sem, fs.mqueue.*
  -v, --volume HOST:CONTAINER[:ro]
                           bind a host path into the container (repeatable)
  --ready SPEC             when the container is ready, for --wait ready: notify (systemd's
                           READY=1), file:PATH, tcp:PORT or exec:CMD (split on spaces)
                           (default: READY=1 for a systemd init, else as soon as it runs)
  --lxcfs auto|on|off      lxcfs's /proc/meminfo, uptime, cpuinfo… views in the container: when
                           lxcfs runs (auto, the default), required (on) or never (off)
  --restart POLICY         no (default), on-failure or always: start it again when its
                           init ends without a stop through warren (at most 10 times a minute)
  --nesting                ready to run containers itself (warren, Docker, podman): see
                           docs/nesting.md; usually with --idmap-size
  --idmap-size N           a range of N host ids (default 65536); N - 65536 are left for
                           the containers it runs, in ranges of 65536

${NETWORK_FLAGS}

${LIMIT_FLAGS}`;

const WAIT_FLAGS = `  --wait ready|started     ready: return once the container is ready (see --ready); a
                           container not ready in time is an error, exit 125
  --timeout MS             how long --wait ready waits (default 90000)`;

const COMMON = `Common options:
  --root DIR               state directory (default $WARREN_ROOT or /var/lib/warren)
  -h, --help               show this help`;

export const USAGE: Record<string, string> = {
  run: `Usage: warren run [OPTIONS] [--] CMD [ARGS...]

Creates a container whose init is CMD, runs it attached to this terminal and
exits with its exit status (128+N when killed by signal N). SIGINT, SIGTERM and
SIGHUP are forwarded to it; a third SIGINT kills it. A system init (systemd,
sysvinit, busybox init: e.g. --image debian/bookworm) runs on its console
instead, shown here from its start, as lxc-start -F does: keys go to the
console, <Ctrl+a q> detaches (the container keeps running; with --rm it is
stopped and removed).

Options:
  --name NAME              container name (default run-<random hex>)
  --rm                     destroy the container when it exits
${WAIT_FLAGS}
                           (the container is then killed)

${CONFIG_FLAGS}

${COMMON}`,
  create: `Usage: warren create [OPTIONS] NAME [--] [INIT...]

Creates a container without starting it. INIT defaults to /sbin/init with
--rootfs, and to an idle shell with the default root filesystem.

Options:
  --console                give the init a console (a pty kept by warren's monitor, for
                           warren console and console-log); the default when the
                           init is a system init (systemd, sysvinit, busybox init)
  --no-console             no console: the init's stdio is /dev/null

${CONFIG_FLAGS}

${COMMON}`,
  start: `Usage: warren start [OPTIONS] NAME

Starts a created or stopped container in the background and prints its name.

Options:
${WAIT_FLAGS}
                           (the container is left running)

${COMMON}`,
  stop: `Usage: warren stop [OPTIONS] NAME

Sends the halt signal, waits, then kills every process of the container.

Options:
  --timeout MS             how long to wait before killing (default: the container's stopTimeout, 10000)
  --signal SIG             halt signal (default: the container's haltSignal, SIGTERM)

${COMMON}`,
  kill: `Usage: warren kill [OPTIONS] NAME

Sends a signal to the container's init.

Options:
  -s, --signal SIG         the signal (default SIGKILL)

${COMMON}`,
  destroy: `Usage: warren destroy [OPTIONS] NAME

Removes a container's state. A running container is refused unless --force.

Options:
  -f, --force              kill it first if it is running

${COMMON}`,
  list: `Usage: warren list [OPTIONS]

Lists the containers under the state directory.

Options:
  --json                   one JSON array instead of a table

${COMMON}`,
  freeze: `Usage: warren freeze [OPTIONS] NAME

Freezes every process of a running container (cgroup.freeze).

${COMMON}`,
  unfreeze: `Usage: warren unfreeze [OPTIONS] NAME

Thaws a frozen container.

${COMMON}`,
  set: `Usage: warren set [OPTIONS] NAME LIMIT-OPTIONS...

Changes a container's limits, live when it runs, and keeps them for later
starts. Each option replaces only its own limit. --device replaces the extra
device rules of a container created with --no-userns.

${LIMIT_FLAGS}

${COMMON}`,
  stats: `Usage: warren stats [OPTIONS] NAME...

Shows the resource usage of running containers: CPU time used, memory in use
("-" without the memory controller), processes ("-" without the pids
controller) and PSI, the share of the last 10 s in which some task waited for
a CPU.

Options:
  --json                   one JSON object, name -> statistics

${COMMON}`,
  metrics: `Usage: warren metrics [OPTIONS] [NAME...]

Prints the running containers (all, or those named) in the Prometheus text
exposition format: CPU, memory, processes, disk I/O and network counters,
named as Incus names them, labelled name, project and type.

Options:
  --prefix P               metric name prefix (default warren; incus or lxd
                           gives the names of their dashboards)
  --project P              value of the project label (default "default")

${COMMON}`,
  info: `Usage: warren info [OPTIONS]

Shows what warren can use of this host's cgroups: the layout, delegation, and
for each controller it manages whether it is usable and why not.

Options:
  --json                   JSON instead of text

${COMMON}`,
  doctor: `Usage: warren doctor [OPTIONS]

Checks this host for warren: the kernel features it uses, the cgroup layout
and controllers, the sysctls and descriptor limit that N containers need
(LXD's production-setup values, scaled with N where the limit is host-wide),
and the tools some features use. Changes nothing; prints what to run for
every check that is not met. Exits 1 when a check failed.

Options:
  -n, --containers N       size the checks for N containers (default 1000)
  --json                   the report as JSON
  --sysctl-conf            print the failed sysctls as an /etc/sysctl.d file

${COMMON}`,
  exec: `Usage: warren exec [OPTIONS] NAME [--] CMD [ARGS...]

Runs CMD in a running container and exits with its exit status. This
process's stdin is passed on unless it is a terminal (then only with -t).

Options:
  -t, --tty                run CMD on a terminal (raw mode, window size followed)
  -e, --env KEY=VALUE      set an environment variable (repeatable)
  --cwd DIR                working directory (default: the container's)
  -u, --user NAME|UID[:GID]
                           user (default: the container's); a NAME is looked up in the
                           container's /etc/passwd, with its groups from /etc/group

${COMMON}`,
  console: `Usage: warren console [OPTIONS] NAME

Attaches this terminal to a running container's console (created with
--console, the default for a system init). The terminal is put in raw
mode (restored on exit) and its window size is followed. Type <Ctrl+a q> to
detach, <Ctrl+a Ctrl+a> for a Ctrl+a; the console and the container go on.
Without a terminal, stdin is passed on until its end, and the output until the
console has been quiet for a second. Exits 0 on detach and when the container
stops (saying so on stderr), 125 when it has no console.

Options:
  --replay                 first print what the console said before (its kept log)
  -e, --escape ^X          the detach prefix key (default ^a)

${COMMON}`,
  "console-log": `Usage: warren console-log [OPTIONS] NAME

Prints what a running container's console said last (the monitor keeps its
last consoleLogSize bytes, 128 KiB by default), as it was written.

${COMMON}`,
  events: `Usage: warren events [OPTIONS] NAME

Prints what happens to a running container, one line per event, until it
stops: TIME TYPE DETAILS, TYPE one of started, ready, exec, frozen, thawed,
oom, oom-kill, stopped (with code= or signal=, reason=). ready and exec are
seen only from this process's handle: those done by other warren processes
are not reported; stops, freezes, OOM kills and (with --follow) starts are.

Options:
  -f, --follow             go on across stops (until interrupted)
  --json                   one JSON object per line, with "time"

${COMMON}`,
  restart: `Usage: warren restart [OPTIONS] NAME

Stops the container (halt signal, then kill) and starts it again in the
background; prints its name.

Options:
  --stop-timeout MS        how long the stop waits before killing (default: the container's stopTimeout)
${WAIT_FLAGS}

${COMMON}`,
  file: `Usage: warren file push [OPTIONS] NAME SRC DEST
       warren file pull [OPTIONS] NAME SRC DEST
       warren file edit [OPTIONS] NAME PATH

Copies files into and out of a container, running or stopped. Container
paths are absolute and resolve inside the container's root only. Owners are
as the container sees them (0 is its root).

  push   copies the host file SRC (- for stdin) to DEST in the container; a DEST
         ending in / is a directory (the file keeps its name). An existing file
         keeps its owner and mode unless told; a new one is root's, 0644.
  pull   copies the container's SRC to the host file DEST (- for stdout; an
         existing host directory gets the file under its own name)
  edit   pulls PATH to a temporary file, runs $VISUAL, $EDITOR or vi on it,
         and pushes it back if it changed (owner and mode kept)

Options (push):
  --mode MODE              permission bits, octal (e.g. 0755)
  --uid N, --gid N         owner inside the container
  -p, --create-dirs        create missing parent directories

${COMMON}`,
  snapshot: `Usage: warren snapshot create NAME SNAPSHOT
       warren snapshot list [--json] NAME
       warren snapshot restore NAME SNAPSHOT
       warren snapshot rm NAME SNAPSHOT

Snapshots of a container made from an image: its changes (the overlay's
upper layer, or its btrfs root). create freezes a running container while
it copies; restore needs it stopped.

${COMMON}`,
  copy: `Usage: warren copy [OPTIONS] SOURCE NEW
       warren clone [OPTIONS] SOURCE NEW

Creates the container NEW on SOURCE's image with a copy of SOURCE's changes,
in an id range of its own (bridged NICs get new addresses and MACs). A running
SOURCE is frozen while it is copied. Image-based containers only.

${COMMON}`,
  rename: `Usage: warren rename [OPTIONS] NAME NEW

Renames a stopped container (its state, snapshots, id range and addresses
move with it). A hostname left to the default follows the new name.

${COMMON}`,
  export: `Usage: warren export [OPTIONS] NAME FILE

Writes the container to the tarball FILE: its config and its own files (for
an image-based container its changes only), owners as it sees them.

Options:
  --snapshots              include its snapshots
  --include-image          include its image (for a host whose store lacks it)

${COMMON}`,
  import: `Usage: warren import [OPTIONS] FILE [NAME]

Creates a container from warren export's tarball, as NAME (default: the
exported name), in an id range of its own. Its image must be in the store
unless the tarball includes it.

${COMMON}`,
  config: `Usage: warren config show [--json] [--expanded] NAME
       warren config set [--best-effort] NAME KEY=VALUE...

show prints the container's config as recorded at create (YAML; --json for
JSON); --expanded prints what a start uses: the gaps filled in from its name,
its image and the init found in its rootfs.

set changes it. Keys, live on a running container and kept for later starts:
  limits.memory.max  limits.memory.high  limits.memory.swapMax   SIZE or max
  limits.cpu.max (CPUs, e.g. 0.5)  limits.cpu.weight (1-10000)  limits.cpu.cpus (0-1,3)
  limits.pids.max  limits.io.weight
Keys of a stopped container only (an empty VALUE goes back to the default):
  hostname  domainname  cwd  user (UID[:GID])  haltSignal  stopTimeout (ms)
  onReboot (restart|stop)  restart (no|on-failure|always)
  env.NAME (one environment variable)

Options:
  --best-effort            skip limits this host's cgroup v2 cannot apply, with a warning

${COMMON}`,
  "after-exit": `Usage: warren after-exit [OPTIONS] NAME PID

Run by a container's monitor when the init PID has ended, not by people:
records how it ended (as the monitor saw it) and applies the container's
restart policy (config restart, onReboot). Prints what it did: restarted,
stopped, restart-limit or gone.

${COMMON}`,
  shell: `Usage: warren shell [OPTIONS] NAME

A login shell in the running container on a pseudo-terminal: the user's
shell from the container's /etc/passwd, run with -l in their home, with
HOME, USER, LOGNAME, SHELL and TERM set. Exits with the shell's status.

Options:
  -u, --user NAME|UID      whose shell (default root)

${COMMON}`,
};

USAGE.network = `Usage: warren network [OPTIONS] NAME

Shows a running container's network interfaces: name, MAC, MTU, state,
addresses, and bytes received and sent.

Options:
  --json                   one JSON array (the library's InterfaceInfo) instead of a table

${COMMON}`;

USAGE.nic = `Usage: warren nic add [OPTIONS] NAME SPEC
       warren nic rm [OPTIONS] NAME IFNAME

Plugs a NIC into a running container, or unplugs one by its name inside the
container (a physical NIC goes back to the host). The change is kept for
later starts. Prints the interface name.

${NIC_SPEC}

${COMMON}`;

USAGE.device = `Usage: warren device add [OPTIONS] NAME DEVNAME KEY=VALUE...
       warren device list [OPTIONS] NAME
       warren device rm [OPTIONS] NAME DEVNAME
       warren device follow [OPTIONS]

Passes a device into a container, lists its devices, or removes one. On a
running container the change is live; it is kept for later starts either
way. KEY=VALUE are the spec's fields (docs/devices.md):

  type=unix-char|unix-block  source=/dev/NODE or major=N minor=N, path=…
                             (default: source), uid=, gid=, mode=0660,
                             required=false (wait for a missing source)
  type=disk                  source=HOST-DIR|FILE|BLOCK-DEVICE path=…,
                             readonly=true, idmap=true, fstype=ext4
  type=usb                   vendorid=0627 [productid=0001 serial=… busnum=
                             devnum=] required=true, uid=, gid=, mode=;
                             follows plugs and unplugs while it runs
  type=gpu                   [vendor=nvidia|amd|intel pci=01:00.0 id=N]
                             nvidiaRuntime=true (the driver's libraries and
                             nvidia-smi, read-only), uid=, gid=, mode=
  type=nic                   nictype=bridged|macvlan|physical and the NIC's
                             keys (parent=, bridge=, ipv4=, mtu=…); the
                             interface is named DEVNAME

follow runs the root's device follower in the foreground: it applies host
plugs and unplugs to every running container's usb and required=false
devices, and exits when none is left. warren starts it on its own when
such a container starts or such a device is added; one runs per root.

Examples:
  warren device add c1 fuse type=unix-char source=/dev/fuse mode=0666
  warren device add c1 data type=disk source=/srv/data path=/data readonly=true
  warren device add c1 dongle type=usb vendorid=0627 productid=0001
  warren device add c1 gpu type=gpu vendor=nvidia nvidiaRuntime=true
  warren device rm c1 fuse

Options:
  --json                   list: one JSON array (the library's DeviceInfo)

${COMMON}`;

USAGE.gc = `Usage: warren gc [OPTIONS]

Sweeps up after containers that ended while nobody watched: cgroups, port
forwards, physical NICs lent out, stopped --rm containers. When no container
is left under the state directory, warren's managed bridge and its nftables
table are removed too. Prints the names of the containers it cleaned.

${COMMON}`;

USAGE.image = `Usage: warren image build [OPTIONS] DISTRO/RELEASE
       warren image pull [OPTIONS] REF
       warren image import [OPTIONS] PATH
       warren image import [OPTIONS] METADATA ROOTFS
       warren image list [OPTIONS]
       warren image rm [OPTIONS] REF
       warren image prune [OPTIONS]

Manages the images under the state directory, which containers use with
--image REF (a tag or an id). build, pull and import print the image id.

build makes a Debian or Ubuntu image (debian/bookworm, ubuntu/noble) with
mmdebstrap or debootstrap, with systemd as init; the same spec again gives the
stored image back, printed with "(cached)". Tagged DISTRO/RELEASE by default.
pull downloads an image from an OCI registry (tagged as written by default).
Both show their progress on stderr: one line redrawn in place on a terminal,
a line per step otherwise; SIGINT aborts them (exit 130).

import takes an OCI image layout directory (e.g. from \`skopeo copy
docker://busybox oci:DIR\`), an image archive (an OCI layout in a tar, or a
\`docker save\` tarball, tagged with its own name unless --tag), or an
LXC/Incus image: a unified tarball (metadata.yaml + rootfs/; any file, e.g.
.tar.xz, .tar.gz, .tar.zst, .tar), or split METADATA and ROOTFS files (a
tarball or squashfs). A single tarball is told apart by its members. Importing
the same image again stores nothing new.

list shows ID (its first 12 hex digits), TAGS and IMPORTED; rm removes an
image and its tags; prune removes the images no tag names and no container
uses, and cached registry blobs no image needs, printing "image ID" and
"blob DIGEST" lines.

Options:
  --tag TAG                build, pull, import: name the image TAG (like busybox:1.36)
  --json                   list: one JSON array instead of a table

build:
  --variant V              minbase (default), buildd or default
  --init I                 systemd (default) or sysvinit (tagged DISTRO/RELEASE:sysvinit)
  --arch A                 Debian architecture (amd64, arm64; default: this machine's)
  --include PKG[,PKG...]   extra packages (repeatable)
  --mirror URL             package mirror (default: the host's apt source, else the distro's)
  --rebuild                build again even when the spec is stored (refused while a
                           container uses the image)

pull:
  --platform OS/ARCH[/VARIANT]
                           which image of a multi-platform index (default linux/this machine's)
  --plain-http             speak HTTP, not HTTPS (the default for loopback registries)
  --username U             with --password-stdin: log in as U, the password read from stdin

import:
  --lxc                    PATH is an LXC unified tarball (found by itself for a file)
  --arch A                 LXC: the OCI architecture it must be for (default: this
                           machine's; any: accept any)

${COMMON}`;

export const MAIN_USAGE = `Usage: warren COMMAND [OPTIONS]

Linux system containers, no daemon.

Commands:
  run       create and run a container in the foreground
  create    create a container
  start     start a container in the background
  stop      stop a container
  kill      send a signal to a container's init
  destroy   remove a container
  exec      run a command in a running container
  console   attach this terminal to a container's console
  console-log
            print what a container's console said last
  events    print what happens to a container
  freeze    freeze a container's processes
  unfreeze  thaw a frozen container
  set       change a container's limits
  stats     show containers' resource usage
  metrics   print containers' usage for Prometheus
  list      list containers
  info      show the host's cgroup setup
  doctor    check this host's kernel, cgroups and limits for N containers
  network   show a running container's network interfaces
  nic       add or remove a running container's network interface
  device    add, list or remove a container's devices
  gc        clean up after dead containers and the unused managed bridge
  image     build, pull, import, list, remove or prune images
  restart   stop and start a container
  shell     a login shell in a running container
  file      push, pull or edit a container's files
  snapshot  create, list, restore or remove a container's snapshots
  copy, clone
            a new container with a copy of another's changes
  rename    rename a stopped container
  export    write a container to a tarball
  import    create a container from an exported tarball
  config    show a container's config, or change it
  help      show help for a command

Run 'warren COMMAND --help' for a command's options. Every command takes
--root DIR (default $WARREN_ROOT or /var/lib/warren).

Exit status: the command's own for run and exec (128+N for signal N); 125 when
warren fails, 126 when the command cannot be run, 127 when it is not found.`;
