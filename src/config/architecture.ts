import * as fs from "node:fs";
import type { Architecture } from "./schema";

/** Hetzner's CAX family is Ampere (arm64); the CX, CPX and CCX families are x86_64. */
export function architectureOfServerType(serverType: string): Architecture | undefined {
    if (/^cax[0-9]+$/.test(serverType)) return "arm64";
    if (/^(cx|cpx|ccx)[0-9]+$/.test(serverType)) return "amd64";
    return undefined;
}

const ELF_MACHINES: Record<number, Architecture> = { 0x3e: "amd64", 0xb7: "arm64" };

/** Reads e_machine from an ELF header so a binary for the wrong host is refused before it is copied. */
export function elfArchitecture(path: string): Architecture | undefined {
    const header = Buffer.alloc(20);
    const fd = fs.openSync(path, "r");
    try {
        if (fs.readSync(fd, header, 0, 20, 0) < 20) return undefined;
    } finally {
        fs.closeSync(fd);
    }
    if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const littleEndian = header[5] === 1;
    const machine = littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18);
    return ELF_MACHINES[machine];
}
