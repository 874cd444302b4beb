/**
 * Help texts of the `warren` CLI.
 * @module
 */

const CONFIG_FLAGS = `Container options:
  --rootfs DIR             root filesystem directory (default: the host's /usr, read-only, with a private /etc, /var, ...)
  --ro                     mount --rootfs read-only
  --overlay                --rootfs read-only with a throw-away tmpfs overlay on top
  -e, --env KEY=VALUE      set an environment variable (repeatable)
  --cwd DIR                working directory (default /)
  -u, --user UID[:GID]     user of the init (default 0:0)
  --hostname NAME          hostname (default: the container's name)
  --no-userns              no user namespace (the container's root is the host's root)
  --share-net              share the host's network instead of a private one
  -v, --volume HOST:CONTAINER[:ro]
                           bind a host path into the container (repeatable)`;

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
  info: `Usage: warren info [OPTIONS]

Shows what warren can use of this host's cgroups.

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
  list      list containers
  info      show the host's cgroup setup
  help      show help for a command

Run 'warren COMMAND --help' for a command's options. Every command takes
--root DIR (default $WARREN_ROOT or /var/lib/warren).

Exit status: the command's own for run and exec (128+N for signal N); 125 when
warren fails, 126 when the command cannot be run, 127 when it is not found.`;
