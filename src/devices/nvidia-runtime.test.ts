import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { fakeHost, type FakeHost } from "./fake-host.testutil.js";
import { ldconfigDirs, NVIDIA_LIBRARIES, nvidiaRuntimeFiles } from "./nvidia-runtime.js";

let host: FakeHost;
let lib64: string, sysLib: string, bin: string;

beforeEach(() => {
  host = fakeHost();
  lib64 = `${host.root}/usr/local/nvidia/lib64`;
  sysLib = `${host.root}/usr/lib/x86_64-linux-gnu`;
  bin = `${host.root}/usr/local/nvidia/bin`;
  host.add({
    "usr/local/nvidia/lib64/libcuda.so.550.54.15": "cuda",
    "usr/local/nvidia/lib64/libcuda.so.1": { link: "libcuda.so.550.54.15" },
    "usr/local/nvidia/lib64/libcuda.so": { link: "libcuda.so.1" },
    "usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15": "nvml",
    "usr/local/nvidia/lib64/libnvidia-ml.so.1": { link: "libnvidia-ml.so.550.54.15" },
    "usr/local/nvidia/lib64/libnvidia-mlx.so.1": "not ours",
    "usr/local/nvidia/lib64/libcuda.so.550.54.15.orig": "not a library name",
    "usr/local/nvidia/lib64/libcudart.so.12": "the toolkit's, not the driver's",
    "usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.550.54.15": "cfg",
    "usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.1": { link: "libnvidia-cfg.so.550.54.15" },
    "usr/lib/x86_64-linux-gnu/libc.so.6": "glibc",
    "usr/local/nvidia/bin/nvidia-smi": "smi",
    "usr/bin/nvidia-smi": "an older copy, later in the search order",
    "usr/bin/nvidia-debugdump": "dd",
  });
});
afterEach(() => host.remove());

const ldconfig = () =>
  [
    "1234 libs found in cache `/etc/ld.so.cache'",
    `\tlibnvidia-cfg.so.1 (libc6,x86-64) => ${sysLib}/libnvidia-cfg.so.1`,
    `\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => ${sysLib}/libc.so.6`,
    `\tlibcuda.so.1 (libc6) => ${host.root}/usr/lib/i386-linux-gnu/libcuda.so.1`,
  ].join("\n");

describe("nvidia runtime files", () => {
  it("reads the 64-bit directories of the driver's libraries from ldconfig -p", () => {
    expect(ldconfigDirs(ldconfig(), NVIDIA_LIBRARIES)).toEqual([sysLib]);
  });

  it("without nvidia-container-cli: the known names in ldconfig's and the extra directories, the first copy of each tool", () => {
    const calls: string[] = [];
    const r = nvidiaRuntimeFiles({
      run: (file, args) => (calls.push(`${file} ${args.join(" ")}`), file === "ldconfig" ? ldconfig() : undefined),
      libraryDirs: [lib64],
      binaryDirs: [bin, `${host.root}/usr/bin`],
    });
    expect(calls).toEqual(["nvidia-container-cli list --binaries --libraries", "ldconfig -p"]);
    expect(r.via).toBe("search");
    expect(r.binds.map((b) => `${b.target.slice(host.root.length)} <- ${b.source.slice(host.root.length)}`)).toEqual([
      "/usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.1 <- /usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.550.54.15",
      "/usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.550.54.15 <- /usr/lib/x86_64-linux-gnu/libnvidia-cfg.so.550.54.15",
      "/usr/local/nvidia/lib64/libcuda.so <- /usr/local/nvidia/lib64/libcuda.so.550.54.15",
      "/usr/local/nvidia/lib64/libcuda.so.1 <- /usr/local/nvidia/lib64/libcuda.so.550.54.15",
      "/usr/local/nvidia/lib64/libcuda.so.550.54.15 <- /usr/local/nvidia/lib64/libcuda.so.550.54.15",
      "/usr/local/nvidia/lib64/libnvidia-ml.so.1 <- /usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15",
      "/usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15 <- /usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15",
      "/usr/local/nvidia/bin/nvidia-smi <- /usr/local/nvidia/bin/nvidia-smi",
      "/usr/bin/nvidia-debugdump <- /usr/bin/nvidia-debugdump",
    ]);
    expect(r.env).toEqual({ LD_LIBRARY_PATH: `${sysLib}:${lib64}` });
  });

  it("uses nvidia-container-cli's list when it has one, adding the soname links of the files it names", () => {
    const listed = [`${bin}/nvidia-smi`, `${lib64}/libnvidia-ml.so.550.54.15`, `${lib64}/libcuda.so.550.54.15`, ""].join("\n");
    const r = nvidiaRuntimeFiles({ run: (file) => (file === "nvidia-container-cli" ? listed : undefined) });
    expect(r.via).toBe("nvidia-container-cli");
    expect(r.binds.map((b) => b.target.slice(host.root.length))).toEqual([
      "/usr/local/nvidia/bin/nvidia-smi",
      "/usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15",
      "/usr/local/nvidia/lib64/libnvidia-ml.so.1",
      "/usr/local/nvidia/lib64/libcuda.so.550.54.15",
      "/usr/local/nvidia/lib64/libcuda.so",
      "/usr/local/nvidia/lib64/libcuda.so.1",
    ]);
    expect(r.env).toEqual({ LD_LIBRARY_PATH: lib64 });
  });

  it("finds nothing (no env) on a host without the driver", () => {
    expect(nvidiaRuntimeFiles({ run: () => undefined, libraryDirs: [`${host.root}/none`], binaryDirs: [] })).toEqual({ binds: [], env: {}, via: "search", searched: [`${host.root}/none`] });
  });
});
