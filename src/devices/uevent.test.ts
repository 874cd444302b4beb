import { describe, expect, it } from "vitest";

import { parseUevent } from "./uevent.js";

const msg = (...parts: string[]) => Buffer.from(parts.join("\0") + "\0");

describe("parseUevent", () => {
  it("parses a block device's add", () => {
    const ev = parseUevent(
      msg("add@/devices/virtual/block/loop9", "ACTION=add", "DEVPATH=/devices/virtual/block/loop9", "SUBSYSTEM=block", "MAJOR=7", "MINOR=9", "DEVNAME=loop9", "DEVTYPE=disk", "DISKSEQ=31", "SEQNUM=4242"),
    );
    expect(ev).toEqual({
      action: "add",
      devpath: "/devices/virtual/block/loop9",
      subsystem: "block",
      devname: "loop9",
      devtype: "disk",
      major: 7,
      minor: 9,
      seqnum: 4242,
      env: expect.objectContaining({ DISKSEQ: "31", MAJOR: "7" }),
    });
  });

  it("keeps the USB keys (PRODUCT, BUSNUM, DEVNUM) and a nested DEVNAME", () => {
    const ev = parseUevent(
      msg("remove@/devices/pci0000:00/0000:00:04.0/usb1/1-1", "ACTION=remove", "DEVPATH=/devices/pci0000:00/0000:00:04.0/usb1/1-1", "SUBSYSTEM=usb", "DEVNAME=bus/usb/001/004", "DEVTYPE=usb_device", "PRODUCT=627/1/0", "BUSNUM=001", "DEVNUM=004", "MAJOR=189", "MINOR=3"),
    )!;
    expect(ev.action).toBe("remove");
    expect(ev.devname).toBe("bus/usb/001/004");
    expect(ev.env).toMatchObject({ PRODUCT: "627/1/0", BUSNUM: "001", DEVNUM: "004" });
    expect([ev.major, ev.minor]).toEqual([189, 3]);
  });

  it("strips a /dev/ prefix from DEVNAME", () => {
    expect(parseUevent(msg("add@/x", "ACTION=add", "DEVPATH=/x", "DEVNAME=/dev/ttyUSB0"))?.devname).toBe("ttyUSB0");
  });

  it("rejects udev's rebroadcasts and malformed messages", () => {
    expect(parseUevent(msg("libudev", "ACTION=add"))).toBeUndefined();
    expect(parseUevent(msg("add", "ACTION=add"))).toBeUndefined();
    expect(parseUevent(Buffer.alloc(0))).toBeUndefined();
    // A body that disagrees with its header.
    expect(parseUevent(msg("add@/a", "ACTION=remove", "DEVPATH=/a"))).toBeUndefined();
    expect(parseUevent(msg("add@/a", "ACTION=add", "DEVPATH=/b"))).toBeUndefined();
  });

  it("ignores non-numeric numbers and keys without a value", () => {
    const ev = parseUevent(msg("change@/a", "MAJOR=x", "MINOR=", "NOEQUALS", "=v"))!;
    expect(ev.major).toBeUndefined();
    expect(ev.minor).toBeUndefined();
    expect(ev.env).toEqual({ MAJOR: "x", MINOR: "" });
  });
});
