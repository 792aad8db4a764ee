// Shared stdin/stdout helpers for the davinci-pa Node drivers.

import fs from "node:fs";

export function readStdin() {
  return fs.readFileSync(0, "utf8");
}

// Write one JSON line to fd 1 completely (a pipe may accept only part of a large write).
export function writeJsonLine(record) {
  const bytes = Buffer.from(JSON.stringify(record) + "\n", "utf8");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(1, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // pipe full: wait 5 ms
    }
  }
}
