/**
 * The receiving end of runc's console-socket protocol, as conmon and
 * containerd's shim serve it: a unix stream socket that accepts one
 * connection, takes the pty master passed with SCM_RIGHTS, and reads the
 * terminal until the last slave is closed. Node cannot receive an fd, so a
 * small python3 process does it (python3 is in setup.sh for node-gyp).
 */
import { spawn } from "node:child_process";

export interface ConsoleReceiver {
  /** Resolves once the master's reader saw the end: the bytes sent with the fd, and everything read from the terminal. */
  done: Promise<{ name: string; output: string }>;
  /** Stops the receiver if it is still waiting. */
  close(): void;
}

const RECEIVER = `
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
out = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break  # EIO: the last slave is closed
    if not b:
        break
    out += b
print(json.dumps({"name": msg.decode(), "output": out.decode("utf8", "replace")}), flush=True)
`;

/** Listens on `path` (which must not exist); resolves once it accepts connections. */
export async function listenConsole(path: string): Promise<ConsoleReceiver> {
  const child = spawn("python3", ["-c", RECEIVER, path], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const done = new Promise<{ name: string; output: string }>((resolve, reject) => {
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line));
      else reject(new Error(`console receiver exited with ${code} before a terminal was read: ${out}`));
    });
  });
  done.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (out.includes("listening")) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
    child.on("close", () => {
      clearInterval(poll);
      reject(new Error(`console receiver did not start: ${out}`));
    });
  });
  return { done, close: () => child.kill() };
}
