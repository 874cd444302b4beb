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
      the host interface IF itself, moved into the container while it runs`;

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
  -e, --env KEY=VALUE      set an environment variable (repeatable)
  --cwd DIR                working directory (default /)
  -u, --user UID[:GID]     user of the init (default 0:0)
  --hostname NAME          hostname (default: the container's name)
  --no-userns              no user namespace (the container's root is the host's root)
  --share-net              share the host's network instead of a private one
  -v, --volume HOST:CONTAINER[:ro]
                           bind a host path into the container (repeatable)

${NETWORK_FLAGS}

${LIMIT_FLAGS}`;

const COMMON = `Common options:
  --root DIR               state directory (default $WARREN_ROOT or /var/lib/warren)
  -h, --help               show this help`;

export const USAGE: Record<string, string> = {
  run: `Usage: warren run [OPTIONS] [--] CMD [ARGS...]

Creates a container whose init is CMD, runs it attached to this terminal and
exits with its exit status (128+N when killed by signal N). SIGINT, SIGTERM and
SIGHUP are forwarded to it; a third SIGINT kills it.

Options:
  --name NAME              container name (default run-<random hex>)
  --rm                     destroy the container when it exits

${CONFIG_FLAGS}

${COMMON}`,
  create: `Usage: warren create [OPTIONS] NAME [--] [INIT...]

Creates a container without starting it. INIT defaults to /sbin/init with
--rootfs, and to an idle shell with the default root filesystem.

${CONFIG_FLAGS}

${COMMON}`,
  start: `Usage: warren start [OPTIONS] NAME

Starts a created or stopped container in the background.

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
  info: `Usage: warren info [OPTIONS]

Shows what warren can use of this host's cgroups: the layout, delegation, and
for each controller it manages whether it is usable and why not.

Options:
  --json                   JSON instead of text

${COMMON}`,
  exec: `Usage: warren exec [OPTIONS] NAME [--] CMD [ARGS...]

Runs CMD in a running container and exits with its exit status. This
process's stdin is passed on unless it is a terminal (then only with -t).

Options:
  -t, --tty                run CMD on a terminal (raw mode, window size followed)
  -e, --env KEY=VALUE      set an environment variable (repeatable)
  --cwd DIR                working directory (default: the container's)
  -u, --user UID[:GID]     user (default: the container's)

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

USAGE.gc = `Usage: warren gc [OPTIONS]

Sweeps up after containers that ended while nobody watched: cgroups, port
forwards, physical NICs lent out, stopped --rm containers. When no container
is left under the state directory, warren's managed bridge and its nftables
table are removed too. Prints the names of the containers it cleaned.

${COMMON}`;

USAGE.image = `Usage: warren image import [OPTIONS] DIR
       warren image list [OPTIONS]
       warren image rm [OPTIONS] REF

Manages the images under the state directory, which containers use with
--image REF (a tag or an id). import unpacks an OCI image layout directory
(a single-platform image, e.g. from \`skopeo copy docker://busybox oci:DIR\`)
and prints the image id; importing the same image again stores nothing new.
list shows ID (its first 12 hex digits), TAGS and IMPORTED; rm removes an
image and its tags.

Options:
  --tag TAG                import: name the image TAG (like busybox:1.36)
  --json                   list: one JSON array instead of a table

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
  freeze    freeze a container's processes
  unfreeze  thaw a frozen container
  set       change a container's limits
  stats     show containers' resource usage
  list      list containers
  info      show the host's cgroup setup
  network   show a running container's network interfaces
  nic       add or remove a running container's network interface
  gc        clean up after dead containers and the unused managed bridge
  image     import, list or remove images
  help      show help for a command

Run 'warren COMMAND --help' for a command's options. Every command takes
--root DIR (default $WARREN_ROOT or /var/lib/warren).

Exit status: the command's own for run and exec (128+N for signal N); 125 when
warren fails, 126 when the command cannot be run, 127 when it is not found.`;
